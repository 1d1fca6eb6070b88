"""What a screen asks of the source of its events, typed: `LiveSource` and `ReplaySource` (sources.py)
satisfy these protocols, and a test or a new source (a remote run, say) can too without subclassing.

Both hand the screen a `History` through `view()`; only what differs is split: a live feed is tailed by
a reader thread that posts to an `EventSink`, a recording is moved by a cursor.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, Protocol, runtime_checkable

from cockpit.history import History


@runtime_checkable
class Source(Protocol):
    """A run's events as the screen sees them."""

    title: str
    """The run's name, shown in the title bar."""
    replay: bool
    """True for a recording: which screen shows it (`cockpit.tui.app.screen_for`)."""

    def view(self) -> History:
        """The history as of now (a recording: as of its cursor)."""
        ...


@runtime_checkable
class EventSink(Protocol):
    """What a live feed's reader thread may touch of its screen: post messages, and ask (reading only)
    whether to hand events over now. Nothing else: widgets belong to the UI thread."""

    message_queue_size: int

    def post_message(self, message: Any) -> bool: ...

    def wants_events_now(self, new: list[dict], now: float) -> bool: ...


@runtime_checkable
class LiveFeed(Source, Protocol):
    """A run being written now (`LiveSource`): a reader thread tails it and posts `EventsArrived`,
    `HistoryRead`, `TrainerGone` and `TrainerStatus` to the screen."""

    replay: Literal[False]
    poll: float
    """Seconds between the reader's polls."""

    def run(self, screen: EventSink) -> None:
        """The reader's body (a worker thread): read, post, repeat until `stop`."""
        ...

    def stop(self) -> None: ...

    def add(self, events: list[dict]) -> None:
        """Fold events the reader posted (on the UI thread)."""
        ...

    def loaded(self, history: History) -> None:
        """The run so far, read in a child at attach: the events that follow extend it."""
        ...


@runtime_checkable
class Recording(Source, Protocol):
    """A recorded log (`ReplaySource`) and a cursor that plays, steps and jumps through it."""

    replay: Literal[True]
    full: History
    """The whole recording."""
    cursor: int
    """How many logged steps are shown."""
    speed: float
    """Logged steps per second while playing."""
    playing: bool
    skipped_lines: int
    """Lines of the log that could not be read, and were skipped."""
    loading: Callable[[], tuple[History, int]] | None
    """Still being read: the screen calls this in a thread and hands the result to `loaded`."""
    load_error: Exception | None
    ended_without_state: bool
    """The log's trainer is gone without writing a final state: the recording ends in a crash."""

    def loaded(self, history: History, skipped_lines: int) -> None: ...

    def tick(self, dt: float) -> bool:
        """Advance by speed x dt while playing; True when the cursor moved."""
        ...

    def toggle(self) -> None: ...

    def move(self, delta: int) -> None: ...

    def jump(self, frac: float) -> None: ...

    def faster(self, up: bool) -> None: ...

    def seek(self, cursor: int) -> None: ...

    def label(self, compact: bool = False) -> str:
        """Play state, speed and cursor, for the run panel."""
        ...
