"""Messages from sources to the cockpit screen."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from textual.message import Message


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
