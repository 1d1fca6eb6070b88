"""Our own `events.jsonl`: a run directory's log, read as it is (the trainer wrote our events)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

NAME = "events"
TITLE = "events.jsonl (a cockpit run)"


def find(directory: Path) -> Path | None:
    p = directory / "events.jsonl"
    return p if p.exists() else None


def sniff(path: Path, head: bytes) -> bool:
    """A run's events.jsonl by name (it may be empty: the run is starting), or a file whose first line is
    one of our events (a copy under another name)."""
    if path.name == "events.jsonl":
        return True
    first = head.lstrip().split(b"\n", 1)[0]
    return first.startswith(b'{"v"') or (first.startswith(b"{") and b'"kind"' in first)


def events(path: Path, stats) -> Iterator[dict[str, Any]]:
    from cockpit.rundir import read_events  # here: `preload` sniffs with this module before it forks

    return read_events(path, stats)


def blocks(path: Path, stats, start: int = 0, end: int | None = None) -> Iterator[list[dict[str, Any]]]:
    from cockpit.rundir import read_blocks

    return read_blocks(path, stats, start, end)


def prefolded(path: Path, stats, start: int = 0, end: int | None = None) -> Iterator[Any]:
    """What `History.extend_prefolded` takes (formats.py): runs of metrics lines read straight into
    columns (events_columns), the rest as `blocks` gives it."""
    from cockpit.logs.events_columns import prefolded as in_columns

    return in_columns(path, stats, start, end)
