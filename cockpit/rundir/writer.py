"""EventWriter: appends events to events.jsonl and never loses one to a full disk it can outlast.

One `os.write` per line on an O_APPEND descriptor: a tailing cockpit sees each line at once, and a
concurrent reader sees nothing or a (possibly torn) line. No fsync per step (it would cost more than the
step); `sync()` at state changes.

When a write fails (disk full, quota, I/O error) training must go on, so the line is kept in a bounded
backlog, in order, and written when a later write succeeds: the log has its events late rather than
never. A line the disk took only part of is finished first, so no line is ever torn in the middle of
the file. For the end of a run on a disk that stays full, the trainer keeps a small reserve file in the
run directory: `close()` deletes it to make room for the last events (the final state above all).
"""

from __future__ import annotations

import os
import sys
import threading
from collections import deque
from pathlib import Path
from typing import Any

from cockpit.rundir.events import dumps, make_event
from cockpit.rundir.layout import open_run_file

BACKLOG_LINES = 100_000
"""Events held while the disk refuses them (~40 MB of metrics at most): past this the oldest metrics go."""

RESERVE_BYTES = 256 << 10
"""Room kept for the last events of a run on a full disk: a few hundred lines."""


class EventWriter:
    def __init__(self, path: str | os.PathLike[str], reserve: str | os.PathLike[str] | None = None):
        """`reserve`: a file to create now and delete when the final events cannot be written otherwise."""
        self.path = Path(path)
        # Never through a planted link (open_run_file); /dev/full and the like still open.
        self._fd = open_run_file(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._backlog: deque[bytes] = deque()
        self._head_done = 0  # bytes of the backlog's first line the file already holds
        self.failed = 0  # writes refused so far
        self.dropped = 0  # metrics lines given up on (backlog full, or no room at the very end)
        self._failing_since: int | None = None  # backlog length when the current failure began
        self.reserve = Path(reserve) if reserve is not None else None
        self._lock = threading.Lock()  # the notifier's thread writes too
        self._listeners: list = []
        if self.reserve is not None:
            _make_reserve(self.reserve)

    def listen(self, fn) -> None:
        """Call `fn(event)` after each event is written (or held): the notifier. It must return at once."""
        self._listeners.append(fn)

    def write(self, kind: str, **fields: Any) -> dict[str, Any]:
        ev = make_event(kind, **fields)
        line = (dumps(ev) + "\n").encode("utf-8", "surrogatepass")
        with self._lock:
            if len(self._backlog) >= BACKLOG_LINES:
                self._drop_one_metrics_line()
            self._backlog.append(line)
            self._drain()
        for fn in self._listeners:
            try:
                fn(ev)
            except Exception as e:  # noqa: BLE001 - a listener must never cost an event or a step
                _say(f"[cockpit] event listener failed: {type(e).__name__}: {e}")
        return ev

    @property
    def pending(self) -> int:
        """Events not yet in the file."""
        return len(self._backlog)

    def _drain(self) -> bool:
        backlog = self._backlog
        while backlog:
            line = backlog[0]
            try:
                n = os.write(self._fd, line[self._head_done :] if self._head_done else line)
            except OSError as e:
                self.failed += 1
                if self._failing_since is None:
                    self._failing_since = len(backlog)
                    _say(
                        f"[cockpit] cannot write {self.path}: {e.strerror or e}; events are held in memory "
                        f"and written when the disk takes them again; training continues"
                    )
                return False
            self._head_done += n
            if self._head_done >= len(line):
                backlog.popleft()
                self._head_done = 0
        if self._failing_since is not None:
            self._failing_since = None
            _say(
                f"[cockpit] {self.path} is written again; the held events are in it"
                + (f" ({self.dropped} metrics lines dropped)" if self.dropped else "")
            )
        return True

    def _drop_one_metrics_line(self) -> None:
        start = 1 if self._head_done else 0  # a line begun in the file must be finished, not dropped
        for i in range(start, len(self._backlog)):
            if b'"kind":"metrics"' in self._backlog[i][:80]:
                del self._backlog[i]
                self.dropped += 1
                return
        if len(self._backlog) > start:  # nothing but rarer events: the oldest of them goes
            del self._backlog[start]
            self.dropped += 1

    def sync(self) -> None:
        """Force to disk: at state changes, not per step."""
        with self._lock:
            self._drain()
        try:
            os.fsync(self._fd)
        except OSError:
            pass

    def close(self) -> None:
        with self._lock:
            self._close()

    def _close(self) -> None:
        if self._fd < 0:
            return
        if not self._drain() and self.reserve is not None:
            # The disk stayed full to the end: spend the reserve on the held events, the final state
            # last among them. If even that is not room enough, metrics go before anything else.
            _remove(self.reserve)
            if not self._drain():
                start = 1 if self._head_done else 0
                kept = [ln for i, ln in enumerate(self._backlog) if i < start or b'"kind":"metrics"' not in ln[:80]]
                self.dropped += len(self._backlog) - len(kept)
                self._backlog = deque(kept)
                self._drain()
        elif self.reserve is not None:
            _remove(self.reserve)
        try:
            os.close(self._fd)
        except OSError:
            pass
        self._fd = -1

    def __enter__(self) -> EventWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _make_reserve(path: Path) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0) | os.O_CLOEXEC, 0o600)
    except OSError:
        return
    try:
        os.write(fd, b"\0" * RESERVE_BYTES)  # real blocks: a sparse file would free nothing
    except OSError:
        pass  # no room even for this: the run will say so through its events
    finally:
        os.close(fd)


def _remove(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass


def _say(message: str) -> None:
    """One line on stderr (trainer.log), which may itself be on the full disk."""
    try:
        print(message, file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass
