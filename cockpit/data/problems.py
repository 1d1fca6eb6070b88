"""What is wrong with training data: one `RowProblem` per bad row, one `DataError` for the user."""

from __future__ import annotations

from dataclasses import dataclass


class DataError(Exception):
    """Data that cannot be trained on; the message names the file, the line and what is wrong."""

    def __init__(self, message: str, problems: list[RowProblem] | None = None):
        super().__init__(message)
        self.problems = problems or []


@dataclass
class RowProblem:
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"
