"""The live screen: a run being trained now, tailed by a reader thread, steered with the control keys."""

from __future__ import annotations

import math
import time
from pathlib import Path

from rich.text import Text
from textual import on, work

from cockpit.rundir import FINAL_STATES, RunDir
from cockpit.tui.bindings import CONTROL, REPLAY
from cockpit.tui.controls import ControlActions
from cockpit.tui.messages import CATCH_UP, EventsArrived, HistoryRead, TrainerGone, TrainerStatus
from cockpit.tui.screen import CockpitScreen
from cockpit.tui.source_protocol import LiveFeed
from cockpit.tui.study_step import in_study


class LiveScreen(ControlActions, CockpitScreen):
    """Usage: `LiveScreen(LiveSource(run_dir), run_dir=run_dir)`; `q` detaches, training goes on."""

    source: LiveFeed

    def __init__(self, source: LiveFeed, *, run_dir: Path | None = None, clock=time.time):
        super().__init__(source, run_dir=run_dir, clock=clock)
        self.pending: dict[str, dict] = {}
        """Commands sent from this cockpit, by id, until their ack arrives."""
        self.crashed_note: str | None = None
        self.trainer_status = TrainerStatus()  # suspended / stalled, and what to do
        self._rung: dict[str, float] = {}  # alert key -> when the bell last rang for it
        self._bad_lines = 0

    # ---- the reader ------------------------------------------------------------------------------

    def start_source(self) -> None:
        self._start_reader()

    @work(thread=True, exclusive=True, name="tail-events", group="source", exit_on_error=False)
    def _start_reader(self) -> None:
        self.source.run(self)

    def on_unmount(self) -> None:
        self.source.stop()

    @on(HistoryRead)
    def _history_read(self, msg: HistoryRead) -> None:
        # Before any EventsArrived (the reader posts this first): the run so far, read in a forked child.
        self.source.loaded(msg.history)
        self.log_history_marks(msg.history)
        self.pacer.dirty = self.pacer.urgent = True

    @on(EventsArrived)
    def _events(self, msg: EventsArrived) -> None:
        self.source.add(msg.events)
        self._bad_lines = msg.bad_lines
        for ev in msg.events:
            if ev.get("kind") != "metrics":  # metrics make no log line; attaching to a long run brings 100,000s
                self.log_event(ev)
        if len(msg.events) < CATCH_UP:  # news, not the history of an attach
            self._ring_for(msg.events)
        self.pacer.dirty = True
        # A backlog (attach, re-attach after SSH dropped) is drawn now, not a watched frame later.
        self.pacer.urgent = self.pacer.urgent or len(msg.events) >= CATCH_UP or self._alarming(msg.events)

    def wants_events_now(self, new: list[dict], now: float) -> bool:
        """Asked by the reader thread (reads only): hand events over now, or hold them for the frame that
        will draw them. Alarming events always go over at once."""
        return self.pacer.hand_over_now(now, self.source.poll) or (bool(new) and self._alarming(new))

    def _alarming(self, events: list[dict]) -> bool:
        """Whether these events must be on screen now rather than at the next watched frame: anything but
        metrics and system readings (a state change, an ack, a guard, an error, a checkpoint), or a step in
        the danger band."""
        th = self.thresholds()
        for ev in events:
            kind = ev.get("kind")
            if kind == "system":  # a reading every 15 s: the next watched frame draws it
                continue
            if kind != "metrics":
                return True
            g, loss = ev.get("grad_norm"), ev.get("loss")
            if isinstance(g, (int, float)) and not g <= th.grad_norm_danger:  # NaN compares False: alarming
                return True
            if isinstance(loss, (int, float)) and not math.isfinite(loss):
                return True
        return False

    def _ring_for(self, events: list[dict]) -> None:
        """notify.bell: the terminal bell for what would alert (a guard, the run's end, a danger crossing),
        at most once a batch and never more often than notify.min_interval for the same kind."""
        cfg = (self.history.config or {}).get("notify") or {}
        if not cfg.get("bell"):
            return
        from cockpit.alerts import alert_for

        now = time.monotonic()
        danger = self.thresholds().grad_norm_danger
        for ev in events:
            a = alert_for(ev, self.source.title, danger)
            if a is None or a.kind not in (cfg.get("on") or ()):
                continue
            if not a.final and now - self._rung.get(a.key, -1e18) < float(cfg.get("min_interval") or 0):
                continue
            self._rung[a.key] = now
            self.app.bell()
            return

    @on(TrainerGone)
    def _gone(self, msg: TrainerGone) -> None:
        self.crashed_note = f"trainer pid {msg.pid} is gone without a final state"
        log = self.event_log
        log.add_line("crash", Text(f"✖ CRASHED: {self.crashed_note}; last lines of trainer.log:", style="bold red"))
        for line in msg.log_tail:
            log.add_line("crash", Text(f"  {line}", style="dim"))
        self.pacer.dirty = True

    @on(TrainerStatus)
    def _trainer_status(self, msg: TrainerStatus) -> None:
        self.trainer_status = msg
        if msg.status:
            self.event_log.add_line("status", Text(f"⚠ {msg.status.upper()}: {self.state_note()}", style="bold yellow"))
        else:
            note = msg.note or "the trainer is writing events again"
            self.event_log.add_line("status", Text(f"✓ {note}", style="green"))
        self.pacer.dirty = self.pacer.urgent = True

    # ---- state -----------------------------------------------------------------------------------

    @property
    def state(self) -> str:
        state = self.history.state
        if self.crashed_note and state not in FINAL_STATES:
            return "crashed"
        if self.trainer_status.status and state not in FINAL_STATES:
            return self.trainer_status.status  # suspended / stalled: alive, but not training
        return state

    def state_note(self) -> str | None:
        state = self.state
        if state in ("suspended", "stalled", "unreadable"):
            ts = self.trainer_status
            if ts.quiet_since is not None:  # counted here, at each frame: the reader says it once
                return f"no events for {max(0.0, time.time() - ts.quiet_since):.0f} s: {ts.note}"
            return ts.note
        if state == "crashed" and self.history.state not in FINAL_STATES:
            return self.crashed_note
        return None

    def can_control(self) -> bool:
        return self.run_dir is not None and self.state not in FINAL_STATES and self.state != "unknown"

    def merge_source(self) -> Path | None:
        """What `m` merges once the run is over: its final adapter, else its latest checkpoint; None while
        the trainer runs (then `m` asks the trainer) or when the run left neither."""
        if self.run_dir is None or self.state not in FINAL_STATES:
            return None
        return RunDir(self.run_dir).adapter_to_merge()

    def skipped_lines(self) -> int:
        return self._bad_lines

    def can_ask_samples(self) -> bool:
        return self.state not in FINAL_STATES

    def pending_count(self) -> int:
        return len(self.pending)

    def sender(self, ev: dict) -> str:
        if self.pending.pop(ev.get("id", ""), None):
            return ""  # sent from here
        src = ev.get("source")
        return f" (from {'another cockpit' if src in (None, 'tui') else src})"

    # ---- bindings --------------------------------------------------------------------------------

    def check_action(self, action: str, parameters) -> bool | None:
        if action in REPLAY:
            return False
        if action in CONTROL:
            if action == "apply_advice" and in_study(self.run_dir):
                return True  # a study's run: `a` offers the study's next step (or says it is complete)
            if action == "merge" and self.merge_source() is not None:
                return True  # a run that is over: `m` merges what it left, in a process of its own
            if not self.can_control():
                # A run that is over takes no commands: its keys leave the footer (the help says why);
                # one not started yet shows them greyed, as they will act soon.
                return False if self.state in FINAL_STATES else None
            if action == "pause":
                return self.state != "paused"
            if action == "resume":
                return self.state == "paused"
            if action == "apply_advice":
                a = self.advice()
                return True if (a and a.next_action) else None
            return True
        return super().check_action(action, parameters)

    def why_not(self, action: str) -> str | None:
        if action in REPLAY:
            return "a replay key; this is a live run"
        if action == "apply_advice" and in_study(self.run_dir):
            return None
        if action in CONTROL:
            if self.run_dir is None:
                return "no run directory to send commands to"
            if self.state in FINAL_STATES:
                if action == "merge" and self.merge_source() is not None:
                    return None
                again = " (`cockpit resume` continues it)" if self.state in ("stopped", "crashed") else ""
                return f"the run is over ({self.state}){again}"
            if self.state == "unknown":
                return "the run has not started yet"
            if action == "pause" and self.state == "paused":
                return "already paused (p resumes)"
            if action == "resume" and self.state != "paused":
                return "not paused"
            if action == "apply_advice":
                a = self.advice()
                if a is None:
                    return "the advisor is waiting for metrics"
                from cockpit.tui.advice_text import need_hint

                return need_hint(a.stage_needs[0], self.run_dir) if a.stage_needs else "the advisor has no next action"
            return None
        return super().why_not(action)
