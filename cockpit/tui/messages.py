"""Messages from sources to the cockpit screen."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from textual.message import Message

CATCH_UP = 1000
"""Events in one batch from the reader: only a backlog comes this large (attaching to a long run, or
re-attaching after SSH dropped; a live run brings a few per poll). The reader hands such a batch over
at once and the screen draws it at once, rather than holding it for the next watched frame."""


@dataclass
class EventsArrived(Message):
    """New events read from a run's events.jsonl (a batch: a fast trainer never floods the UI)."""

    events: list[dict[str, Any]] = field(default_factory=list)
    bad_lines: int = 0


@dataclass
class TrainerGone(Message):
    """The trainer's process is gone and no final state was written: the run crashed."""

    pid: int = 0
    log_tail: list[str] = field(default_factory=list)


@dataclass
class TrainerStatus(Message):
    """The trainer is alive but not training: `suspended` (stopped by a signal) or `stalled` (no events for
    longer than ten steps take); or its events cannot be read: `unreadable` (an I/O error; the reader
    retries). `status` None when it is back to normal. `note` says what to do (or, back to normal, why)."""

    status: str | None = None
    note: str = ""
    quiet_since: float | None = None
    """For `stalled`: the unix time of the last event (the screen counts the silence from it)."""


@dataclass
class HistoryRead(Message):
    """A live run's history up to where the reader goes on tailing, read in a forked child (attach)."""

    history: Any = None


@dataclass
class CompareUpdated(Message):
    """The compare view's runs, read again: the comparison now, and the logs that cannot be read."""

    report: Any = None
    errors: dict[str, str] = field(default_factory=dict)
    """Run label -> why its events.jsonl cannot be read now."""
    problem: str | None = None
    """Why the sweep or study directory could not be read again (the runs already read stay)."""
