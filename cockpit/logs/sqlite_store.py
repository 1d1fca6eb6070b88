"""Opening a tracker's SQLite database read-only, and choosing the run to read when it holds several."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from cockpit.logs.errors import LogError

HEADER = b"SQLite format 3\x00"


def tables(path: Path, head: bytes) -> frozenset[str]:
    """The table names of the SQLite database at PATH (empty when it is none)."""
    if not head.startswith(HEADER):
        return frozenset()
    try:
        with connect(path) as db:
            return frozenset(r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'"))
    except (sqlite3.Error, LogError):
        return frozenset()


def connect(path: Path) -> sqlite3.Connection:
    """A read-only connection: a reader never creates, migrates or locks a tracker's database."""
    try:
        return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as e:
        raise LogError(f"{path}: cannot open as SQLite ({e})") from None


def chosen(path: Path, runs: list[tuple[str, str]], what: str) -> tuple[str, str | None]:
    """The run to read of RUNS (id, name; oldest first): the last one, with a note naming the others
    when there are several."""
    if not runs:
        raise LogError(f"{path}: the {what} database holds no run")
    run_id, name = runs[-1]
    if len(runs) == 1:
        return run_id, None
    others = ", ".join(n for _, n in runs[-6:-1])
    return run_id, f"{len(runs)} runs in this database; read the latest, '{name}' (others: {others})"
