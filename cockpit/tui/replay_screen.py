"""The replay screen: a recorded log (ours, or an HF trainer_state.json) and a cursor that plays, steps
and jumps through it. It takes no commands."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from cockpit.history import History
from cockpit.rundir import FINAL_STATES
from cockpit.tui.bindings import CONTROL, REPLAY, REPLAY_BINDINGS
from cockpit.tui.pacing import TICK
from cockpit.tui.screen import CockpitScreen
from cockpit.tui.source_protocol import Recording


class ReplayScreen(CockpitScreen):
    """Usage: `ReplayScreen(ReplaySource(history, title))`; Space plays, ←/→ step, Home/End jump."""

    BINDINGS = REPLAY_BINDINGS
    replay = True
    ADVICE_MIN_INTERVAL = 0.0  # each cursor move is a new question
    source: Recording

    def __init__(self, source: Recording, *, run_dir: Path | None = None, clock=time.time):
        # A replay's cursor moves by itself while playing: a frame at every tick.
        super().__init__(source, run_dir=run_dir, clock=clock, frame_interval=TICK)

    # ---- the recording ---------------------------------------------------------------------------

    def start_source(self) -> None:
        if self.source.loading is not None:
            # A plain daemon thread, not a Textual worker: quitting while a long log is still being read
            # must not wait for the read.
            threading.Thread(target=self._read, name="replay-read", daemon=True).start()
        else:
            self.log_history_marks(self.source.full)

    def _read(self) -> None:
        try:
            history, skipped = self.source.loading()
        except Exception as e:  # LogError, OSError: shown by the CLI once the app has closed
            self.app.call_from_thread(self._failed, e)
            return
        self.app.call_from_thread(self._loaded, history, skipped)

    def _loaded(self, history: History, skipped: int) -> None:
        self.source.loaded(history, skipped)
        self.log_history_marks(history)
        self._render_all()
        self._refresh_bindings_if_changed()

    def _failed(self, e: Exception) -> None:
        self.source.load_error = e
        self.app.exit(return_code=2)

    def advance(self, dt: float) -> bool:
        return self.source.tick(dt)

    # ---- state -----------------------------------------------------------------------------------

    @property
    def state(self) -> str:
        state = self.history.state
        src = self.source
        if src.ended_without_state and state not in FINAL_STATES and src.cursor >= len(src.full):
            return "crashed"  # the recorded run ends here, and its trainer is gone: it never said how it ended
        return state

    def state_note(self) -> str | None:
        if self.state == "crashed" and self.history.state not in FINAL_STATES:
            return "the log ends without a final state and its trainer is gone"
        full, total = self.source.full, self.source.full.total_steps
        if self.state == "unknown" and self.source.cursor >= len(full) and total and full.step < total:
            # an HF trainer_state.json says how far it got, never how it ended: a checkpoint's, or a stop
            return f"log ends at {full.step}/{total} (checkpoint?)"
        return None

    def replay_label(self, compact: bool) -> str | None:
        return self.source.label(compact=compact)

    def skipped_lines(self) -> int:
        return self.source.skipped_lines

    def bindings_state(self) -> tuple:
        return (self.source.playing,)

    def sender(self, ev: dict) -> str:
        src = ev.get("source")
        return f" (from {src})" if src else ""

    # ---- bindings --------------------------------------------------------------------------------

    def check_action(self, action: str, parameters) -> bool | None:
        if action in REPLAY:
            return True
        if action in CONTROL:
            return False  # a replay takes no commands: hide them
        return super().check_action(action, parameters)

    def why_not(self, action: str) -> str | None:
        if action in CONTROL:
            return "a replay takes no commands (attach to a live run to steer it)"
        return super().why_not(action)

    # ---- actions ---------------------------------------------------------------------------------

    def _move(self, fn, limit: str | None = None) -> None:
        src = self.source
        before = (src.cursor, src.speed, src.playing)
        fn()
        if limit and (src.cursor, src.speed, src.playing) == before:
            self.notify(limit, timeout=1.5)  # nothing moved: say so rather than nothing
        self.pacer.dirty = True
        self._render_all()

    def action_play(self) -> None:
        self._move(self.source.toggle)

    def action_step_back(self) -> None:
        self._move(lambda: self.source.move(-1), "at the start")

    def action_step_fwd(self) -> None:
        self._move(lambda: self.source.move(1), "at the end")

    def action_jump_back(self) -> None:
        self._move(lambda: self.source.jump(-0.1), "at the start")

    def action_jump_fwd(self) -> None:
        self._move(lambda: self.source.jump(0.1), "at the end")

    def action_faster(self) -> None:
        self._move(lambda: self.source.faster(True), f"{self.source.speed}x is the fastest")

    def action_slower(self) -> None:
        self._move(lambda: self.source.faster(False), f"{self.source.speed}x is the slowest")

    def action_to_start(self) -> None:
        self._move(lambda: self.source.seek(0), "at the start")

    def action_to_end(self) -> None:
        self._move(lambda: self.source.seek(len(self.source.full)), "at the end")
