"""Where the cockpit's events come from (the protocols they satisfy: source_protocol.py):

- LiveSource tails a run's events.jsonl in a thread (the whole history at once on attach, then only
  what is new), batches what it reads, and backs off when the UI's queue is long.
- ReplaySource holds a recorded History and a cursor that plays, steps and jumps.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from cockpit.history import History
from cockpit.rundir import FINAL_STATES, RunDir, Tail, pid_alive, process_state, read_lock_pid, stall_after, tail_text
from cockpit.tui.messages import CATCH_UP, EventsArrived, HistoryRead, TrainerGone, TrainerStatus
from cockpit.tui.reap import reap
from cockpit.tui.source_protocol import EventSink

SPEEDS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)


class LiveSource:
    """A `LiveFeed` (source_protocol.py)."""

    replay: Literal[False] = False

    def __init__(self, run_dir: Path, poll: float = 0.05, preload=None):
        """`preload`: a `cockpit.logs.preload.Preload(run_dir, live=True)` started before the UI was imported;
        the reader takes the history it read and tails the file from where it stopped."""
        self.rd = RunDir(run_dir)
        self.history = History()
        self.poll = poll
        self.preload = preload
        self.tail = Tail(self.rd.events)
        self._stop = threading.Event()
        self.title = self.rd.name

    def view(self) -> History:
        return self.history

    def add(self, events) -> None:
        self.history.extend(events)

    def loaded(self, history: History) -> None:
        """The run so far, read by the attach preload: what the reader's events then extend."""
        self.history = history

    def run(self, screen: EventSink) -> None:
        """Worker body (a thread): read, post, repeat until stopped."""
        last_alive_check = 0.0
        dead_since: float | None = None
        gone_reported = False
        status: str | None = None
        pending: list[dict] = []
        if self.preload is not None:
            pre, self.preload = self.preload, None
            while not pre.wait(0.1):  # closing the cockpit must not wait for the child's read
                if self._stop.is_set():
                    pre.cancel()
                    return
            read = pre.result_live()
            if read is not None:
                history, stats, end = read
                self.tail.resume_at(end, stats.end_lineno)
                self.tail.stats.bad += stats.bad
                screen.post_message(HistoryRead(history))
        while not self._stop.is_set():
            events = self.tail.poll()
            pending += events
            now = time.monotonic()
            # Each message costs the UI thread about a millisecond, whatever it holds: while the cockpit
            # is only watched (1 frame/s), events wait here for the frame that will show them (bench/README.md:
            # "Taking in events"), except those that must be drawn at once.
            if pending and (len(pending) >= CATCH_UP or screen.wants_events_now(events, now)):
                screen.post_message(EventsArrived(pending, self.tail.stats.bad))
                pending = []
            if now - last_alive_check > 0.4:
                last_alive_check = now
                reap(self._trainer_pids())  # our own trainer, exited: not left <defunct> while we are open
                if not gone_reported:
                    if self._trainer_alive() or self.history.state in FINAL_STATES or not self._trainer_pids():
                        dead_since = None
                        msg = self._status()
                        if msg.status != status:
                            if status == "unreadable" and not msg.status:
                                msg.note = f"{self.rd.events.name} is readable again"
                            status = msg.status
                            screen.post_message(msg)
                    elif dead_since is None:
                        dead_since = now
                    elif now - dead_since > 0.8:
                        # Dead twice, 0.8 s apart (a resume's new trainer takes the lock within that), and the
                        # final state is not in flight: the run crashed.
                        late = pending + self.tail.poll()
                        pending = []
                        if late:
                            screen.post_message(EventsArrived(late, self.tail.stats.bad))
                        if not any(e.get("kind") == "state" and e.get("state") in FINAL_STATES for e in late):
                            pid = self._trainer_pids()[0]
                            screen.post_message(TrainerGone(pid, tail_text(self.rd.log, 12)))
                            gone_reported = True
            # A UI that falls behind slows the reader down instead of being flooded.
            time.sleep(self.poll * (4 if screen.message_queue_size > 20 else 1))

    def _status(self) -> TrainerStatus:
        """Alive is not the same as training: a trainer stopped by a signal, or one that has written
        nothing for longer than ten of its steps take, is said to be so; so is an events file that
        cannot be read (the tail retries it)."""
        if self.history.state in FINAL_STATES:
            return TrainerStatus()
        if self.tail.error is not None:  # the run may be going on: what it writes cannot be seen
            return TrainerStatus("unreadable", f"{self.tail.error}; retrying")
        for pid in self._trainer_pids():
            if process_state(pid) == "suspended":
                return TrainerStatus(
                    "suspended", f"trainer pid {pid} is stopped by a signal: `kill -CONT {pid}` resumes it"
                )
        if self.history.state not in ("running", "resumed"):
            return TrainerStatus()  # loading a model, or paused: silence is expected
        try:
            last = self.rd.events.stat().st_mtime
        except OSError:
            return TrainerStatus()
        step_time = self.history.last("step_time")
        if time.time() - last > stall_after(step_time):
            per = f"a step took {step_time:.2g} s; " if step_time == step_time else ""
            return TrainerStatus("stalled", f"{per}is the trainer hung? see {self.rd.log}", quiet_since=last)
        return TrainerStatus()

    def _trainer_pids(self) -> list[int]:
        rs = self.history.run_started or {}
        return [p for p in (read_lock_pid(self.rd), rs.get("pid")) if p]

    def _trainer_alive(self) -> bool:
        return any(pid_alive(p) for p in self._trainer_pids())

    def stop(self) -> None:
        self._stop.set()


class ReplaySource:
    """A `Recording` (source_protocol.py)."""

    replay: Literal[True] = True

    def __init__(
        self,
        history: History,
        title: str,
        speed: float = 10.0,
        skipped_lines: int = 0,
        loading: Callable[[], tuple[History, int]] | None = None,
    ):
        """`loading`: the history is still being read; the screen calls it (in a thread; it returns the
        history and its skipped-line count) and hands the result to `loaded`. Meanwhile it shows an
        empty run, so a long log's cockpit is on screen while it is read."""
        self.full = history
        self.title = title
        self.cursor = len(history)  # open at the end: the whole run, then rewind
        self.playing = False
        self.speed = min(SPEEDS, key=lambda s: abs(s - speed))
        self.skipped_lines = skipped_lines
        self.loading = loading
        self.load_error: Exception | None = None
        self.ended_without_state = False
        """The log is a run directory's whose trainer is gone without writing a final state (launch sets it)."""
        self._acc = 0.0
        self._cache: tuple[int, History] | None = None

    def loaded(self, history: History, skipped_lines: int) -> None:
        self.full, self.skipped_lines, self.loading = history, skipped_lines, None
        self.cursor, self._cache, self.playing = len(history), None, False

    def view(self) -> History:
        if self.cursor >= len(self.full):
            return self.full
        if self._cache is None or self._cache[0] != self.cursor:
            self._cache = (self.cursor, self.full.upto(self.cursor))
        return self._cache[1]

    @property
    def step(self) -> int:
        return self.full.steps[self.cursor - 1] if self.cursor > 0 else 0

    def seek(self, cursor: int) -> None:
        self.cursor = max(0, min(len(self.full), cursor))

    def move(self, delta: int) -> None:
        self.seek(self.cursor + delta)

    def jump(self, frac: float) -> None:
        self.move(int(round(len(self.full) * frac)) or (1 if frac > 0 else -1))

    def faster(self, up: bool) -> None:
        i = SPEEDS.index(self.speed)
        self.speed = SPEEDS[min(len(SPEEDS) - 1, i + 1)] if up else SPEEDS[max(0, i - 1)]

    def toggle(self) -> None:
        if not self.playing and self.cursor >= len(self.full):
            self.cursor = 0  # play from the start when at the end
        self.playing = not self.playing

    def tick(self, dt: float) -> bool:
        """Advance by speed x dt logged steps; True when the cursor moved."""
        if not self.playing:
            return False
        self._acc += self.speed * dt
        n = int(self._acc)
        if n <= 0:
            return False
        self._acc -= n
        self.move(n)
        if self.cursor >= len(self.full):
            self.playing = False
        return True

    def label(self, compact: bool = False) -> str:
        """Play state, speed and the cursor among the logged steps (the step row shows the step itself)."""
        if self.loading is not None:
            return "reading…" if compact else "reading the log…"
        icon = "▶" if self.playing else "⏸"
        if compact:
            return f"{icon}{self.speed}x {self.cursor}/{len(self.full)}"
        return f"{icon} {self.speed}x  cursor {self.cursor}/{len(self.full)}"
