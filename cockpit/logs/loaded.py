"""Open any training log as a stream of our events: `resolve(PATH)` finds the log behind a path (a run
directory, a file, a folder holding one) by asking each format in `formats.FORMATS` in turn."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cockpit.history import History
from cockpit.logs import formats
from cockpit.logs.errors import LogError
from cockpit.rundir import ReadStats, RunDir

__all__ = ["LoadedLog", "LogError", "load_history", "resolve"]


@dataclass
class LoadedLog:
    """A log resolved from a user's PATH."""

    source: Path
    kind: str  # the format's NAME: "events" (ours), "trainer_state", ...
    run_dir: RunDir | None
    stats: ReadStats = field(default_factory=ReadStats)

    def events(self) -> Iterator[dict[str, Any]]:
        yield from formats.by_name(self.kind).events(self.source, self.stats)

    def history(self) -> History:
        return History().extend(self.events())

    @property
    def ours(self) -> bool:
        """Our own events.jsonl: it may still grow, and its run directory holds a config."""
        return self.kind == "events"

    @property
    def title(self) -> str:
        if self.run_dir is not None:
            return self.run_dir.name
        if not self.ours:
            return f"{self.source.parent.name}/{self.source.name}"
        return self.source.name


def resolve(path: str | Path) -> LoadedLog:
    """Find the log behind PATH, or raise LogError saying what was found and which formats are known."""
    p = Path(path).expanduser()
    if not p.exists():
        raise LogError(f"{p}: no such file or directory")
    if p.is_dir():
        return _resolve_dir(p)
    head = _head(p)
    for fmt in formats.modules():
        if fmt.sniff(p, head):
            return _loaded(p, fmt.NAME)
    raise LogError(f"{p}: not a training log the cockpit knows (unrecognised content)")


def _resolve_dir(p: Path) -> LoadedLog:
    for fmt in formats.modules():
        find = getattr(fmt, "find", None)
        inner = find(p) if find is not None else None
        if inner is not None and fmt.sniff(inner, _head(inner)):
            return _loaded(inner, fmt.NAME)
        if inner is None and fmt.sniff(p, b""):
            return _loaded(p, fmt.NAME)
    raise LogError(f"{p}: not a run directory (no events.jsonl) and holds no trainer_state.json")


def _loaded(path: Path, kind: str) -> LoadedLog:
    run_dir = RunDir(path.parent) if kind == "events" and path.name == "events.jsonl" else None
    return LoadedLog(path, kind, run_dir)


def _head(p: Path) -> bytes:
    try:
        with open(p, "rb") as f:
            return f.read(formats.HEAD_BYTES)
    except OSError as e:
        raise LogError(f"{p}: cannot read ({e})") from None


def load_history(path: str | Path) -> tuple[History, LoadedLog]:
    log = resolve(path)
    return log.history(), log
