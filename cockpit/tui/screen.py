"""The cockpit screen: one screen, fed by a live or a replay source, that it cannot tell apart."""

from __future__ import annotations

import math
import threading
from collections import deque
import time
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, RichLog, Static

from cockpit.columns import minmax_points
from cockpit.history import History
from cockpit.rundir import FINAL_STATES
from cockpit.thresholds import Thresholds
from cockpit.tui.messages import CATCH_UP, EventsArrived, HistoryRead, TrainerGone, TrainerStatus
from cockpit.tui.modals import ConfirmModal, LrModal, TextModal, ZoomModal
from cockpit.tui.watchers import drop_closed_watchers
from cockpit.tui.widgets.advisor_panel import AdvisorPanel
from cockpit.tui.widgets.metric import MetricPanel
from cockpit.tui.widgets.run_panel import RunPanel
from cockpit.tui.widgets.samples_panel import SamplesPanel

METRICS = (("loss", "loss"), ("grad_norm", "grad_norm"), ("entropy", "entropy"), ("mem_used", "memory"),
           ("learning_rate", "lr"), ("tokens_per_s", "tokens/s"))
TICK = 0.05
FRAME_ACTIVE, FRAME_IDLE, ACTIVE_FOR = 0.1, 1.0, 15.0
CONTROL = {"pause", "resume", "lr_half", "lr_double", "set_lr", "save", "stop", "merge", "samples", "apply_advice"}
# The event log's filters (`f` cycles them): a name and the kinds it shows (None: all).
LOG_FILTERS = (("all", None), ("no samples", {"ack", "sent", "state", "status", "crash", "guard", "error", "checkpoint",
                                              "merge", "notify", "run_started", "advice"}),
               ("commands", {"ack", "sent", "advice"}), ("guards & errors", {"guard", "error", "crash", "status", "notify"}),
               ("checkpoints & merges", {"checkpoint", "merge"}), ("state", {"state", "status", "crash", "run_started"}),
               ("samples", {"sample"}))
REPLAY = {"play", "step_back", "step_fwd", "jump_back", "jump_fwd", "faster", "slower", "to_start", "to_end"}


class CockpitScreen(Screen):
    BINDINGS = [
        Binding("p", "pause", "Pause", id="pause", tooltip="Pause at the next step boundary"),
        Binding("p", "resume", "Resume", id="resume", tooltip="Resume training"),
        Binding("left_square_bracket", "lr_half", "lr×½", id="lr_half", tooltip="Halve the learning rate"),
        Binding("right_square_bracket", "lr_double", "lr×2", id="lr_double", tooltip="Double the learning rate"),
        Binding("l", "set_lr", "Set lr", id="set_lr", tooltip="Set an exact learning rate"),
        Binding("s", "save", "Save", id="save", tooltip="Write a checkpoint now"),
        Binding("x", "stop", "Stop", id="stop", tooltip="Stop the run (asks first)"),
        Binding("m", "merge", "Merge", id="merge", tooltip="Merge the adapter into the base (asks first)"),
        Binding("g", "samples", "Sample", id="samples", tooltip="Generate samples now"),
        Binding("a", "apply_advice", "Apply advice", id="apply_advice", tooltip="Apply the advisor's next action"),
        Binding("space", "play", "Play/Pause", id="play"),
        Binding("left", "step_back", "◀ step", id="step_back", show=False),
        Binding("right", "step_fwd", "step ▶", id="step_fwd", show=False),
        Binding("shift+left", "jump_back", "◀◀ 10%", id="jump_back", show=False),
        Binding("shift+right", "jump_fwd", "10% ▶▶", id="jump_fwd", show=False),
        Binding("plus,equals_sign", "faster", "Faster", id="faster", show=False),
        Binding("minus", "slower", "Slower", id="slower", show=False),
        Binding("home", "to_start", "Start", id="to_start", show=False),
        Binding("end", "to_end", "End", id="to_end", show=False),
        Binding("z", "zoom", "Zoom", id="zoom", tooltip="Full chart of the focused metric"),
        Binding("f", "log_filter", "Log filter", id="log_filter", show=False),
        Binding("v", "all_samples", "Samples", id="all_samples", show=False),
        Binding("e", "traceback", "Error", id="traceback", show=False),
        Binding("t", "cycle_theme", "Theme", id="theme"),
        Binding("question_mark", "help", "Help", id="help"),
        Binding("q", "detach", "Detach", id="detach", tooltip="Close the cockpit; training goes on"),
    ]

    def __init__(self, source, *, run_dir: Path | None = None, clock=time.time):
        super().__init__()
        self.source = source
        self.run_dir = run_dir
        self.clock = clock
        self.pending: dict[str, dict] = {}
        self.crashed_note: str | None = None
        self.trainer_status = TrainerStatus()  # suspended / stalled, and what to do
        self._rung: dict[str, float] = {}  # alert key -> when the bell last rang for it
        self._advice = None
        self._advice_at = 0.0
        self._advice_cost = 0.0
        self._advice_len: tuple[int, str] = (-1, "")
        self._dirty = True
        self._bad_lines = 0
        self._last_render = 0.0
        # Opened, the cockpit is watched: it draws at the fast rate only once a key is pressed (measured:
        # on 2 cores, 10 frames/s slowed a CPU training step by a quarter, 1 frame/s by 2%).
        self._last_key = time.monotonic() - ACTIVE_FOR
        self._drew_data = False
        self._urgent = False
        self._pruned_at = 0.0
        self._bindings_key = None
        self._thresholds: tuple[object, Thresholds] | None = None
        self._log_entries: deque[tuple[str, Text]] = deque(maxlen=2000)
        self._log_filter = 0
        self._sample_steps: set = set()  # sampling steps already in the log: one line each

    # ---- layout ----------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static(id="title-bar")
        with Grid(id="metrics"):
            for key, title in METRICS:
                yield MetricPanel(key, title, id=f"m-{key}")
        with Horizontal(id="bottom"):
            with Vertical(id="left-col"):
                yield RunPanel(id="run")
                yield SamplesPanel(id="samples")
            with Vertical(id="right-col"):
                yield AdvisorPanel(id="advisor")
                yield RichLog(id="log", markup=False, wrap=False, max_lines=2000)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#m-loss", MetricPanel).focus()
        self._title_log()
        self.set_interval(TICK, self._tick)
        self._reflow()
        if not self.source.replay:
            self._start_reader()
        elif self.source.loading is not None:
            # A plain daemon thread, not a Textual worker: quitting while a long log is still being read
            # must not wait for the read.
            threading.Thread(target=self._read_replay, name="replay-read", daemon=True).start()
        else:
            self._log_history_marks(self.source.full)
        self._render_all()

    def _read_replay(self) -> None:
        try:
            history, skipped = self.source.loading()
        except Exception as e:  # LogError, OSError: shown by the CLI once the app has closed
            self.app.call_from_thread(self._replay_failed, e)
            return
        self.app.call_from_thread(self._replay_read, history, skipped)

    def _replay_read(self, history: History, skipped: int) -> None:
        self.source.loaded(history, skipped)
        self._log_history_marks(history)
        self._render_all()
        self._refresh_bindings_if_changed()

    def _replay_failed(self, e: Exception) -> None:
        self.source.load_error = e
        self.app.exit(return_code=2)

    def on_resize(self) -> None:
        self._reflow()

    def _reflow(self) -> None:
        w, h = self.size.width, self.size.height
        self.set_class(w < 120 or h < 34, "-compact")
        self.set_class(w >= 200 and h >= 50, "-large")

    # ---- the source ------------------------------------------------------------------------------

    @work(thread=True, exclusive=True, name="tail-events", group="source", exit_on_error=False)
    def _start_reader(self) -> None:
        self.source.run(self)

    def on_unmount(self) -> None:
        if not self.source.replay:
            self.source.stop()

    @on(HistoryRead)
    def _history_read(self, msg: HistoryRead) -> None:
        # Before any EventsArrived (the reader posts this first): the run so far, read in a forked child.
        self.source.loaded(msg.history)
        self._log_history_marks(msg.history)
        self._dirty = self._urgent = True

    @on(EventsArrived)
    def _events(self, msg: EventsArrived) -> None:
        self.source.add(msg.events)
        self._bad_lines = msg.bad_lines
        for ev in msg.events:
            if ev.get("kind") != "metrics":  # metrics make no log line; attaching to a long run brings 100,000s
                self._log_event(ev)
        if len(msg.events) < CATCH_UP:  # news, not the history of an attach
            self._ring_for(msg.events)
        self._dirty = True
        # A backlog (attach, re-attach after SSH dropped) is drawn now, not a watched frame later.
        self._urgent = self._urgent or len(msg.events) >= CATCH_UP or self._alarming(msg.events)

    def _ring_for(self, events: list[dict]) -> None:
        """notify.bell: the terminal bell for what would alert (a guard, the run's end, a danger crossing),
        at most once a batch and never more often than notify.min_interval for the same kind."""
        cfg = (self.history.config or {}).get("notify") or {}
        if self.source.replay or not cfg.get("bell"):
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

    def wants_events_now(self, new: list[dict], now: float) -> bool:
        """Asked by the reader thread (reads only): hand events over now, or hold them for the frame that
        will draw them. Now: before the first frame with data, when a frame is due within the reader's
        next two polls (every poll while the operator is at the keys), and for alarming events."""
        if not self._drew_data:
            return True
        if now - self._last_render >= self.frame_interval(now) - 2 * self.source.poll:
            return True
        return bool(new) and self._alarming(new)

    def _alarming(self, events: list[dict]) -> bool:
        """Whether these events must be on screen now rather than at the next watched frame: anything but
        metrics (a state change, an ack, a guard, an error, a checkpoint), or a step in the danger band."""
        th = self.thresholds()
        for ev in events:
            if ev.get("kind") != "metrics":
                return True
            g, loss = ev.get("grad_norm"), ev.get("loss")
            if isinstance(g, (int, float)) and not g <= th.grad_norm_danger:  # NaN compares False: alarming
                return True
            if isinstance(loss, (int, float)) and not math.isfinite(loss):
                return True
        return False

    @on(TrainerGone)
    def _gone(self, msg: TrainerGone) -> None:
        self.crashed_note = f"trainer pid {msg.pid} is gone without a final state"
        self._write_log("crash", Text(f"✖ CRASHED: {self.crashed_note}; last lines of trainer.log:", style="bold red"))
        for line in msg.log_tail:
            self._write_log("crash", Text(f"  {line}", style="dim"))
        self._dirty = True

    @on(TrainerStatus)
    def _trainer_status(self, msg: TrainerStatus) -> None:
        self.trainer_status = msg
        if msg.status:
            self._write_log("status", Text(f"⚠ {msg.status.upper()}: {self._state_note()}", style="bold yellow"))
        else:
            self._write_log("status", Text("✓ the trainer is writing events again", style="green"))
        self._dirty = self._urgent = True

    def on_key(self, event) -> None:
        self._last_key = time.monotonic()  # not handled here: the key goes on to its binding
        # A key whose every binding is refused now does nothing by itself: say why, within the frame.
        from cockpit.tui.help import bound as bound_keys

        bound = bound_keys(self).get(event.key, [])
        if bound and not any(self.check_action(b.action, ()) for b in bound):
            self.notify(self.why_not(bound[0].action) or "not now", title=f"{event.key}: not now",
                        severity="warning", timeout=4)

    def frame_interval(self, now: float) -> float:
        """Seconds between frames. A frame costs Textual's compositor tens of ms, so the live cockpit
        draws 10 frames a second while the operator is at the keys and 1 when it is only being watched
        (nvitop and htop refresh every 1.5-2 s): bursts of events are always coalesced into one frame.
        Watching at 10 events/s: 2 frames/s cost 5.6-6.3% of a core, 1 frame/s 2.9-4.0% (bench/README.md)."""
        if self.source.replay:
            return TICK
        return FRAME_ACTIVE if now - self._last_key < ACTIVE_FOR else FRAME_IDLE

    def _tick(self) -> None:
        if self.source.replay and self.source.tick(TICK):
            self._dirty = True
        now = time.monotonic()
        if now - self._pruned_at > 5:
            self._pruned_at = now
            for footer in self.query(Footer):
                drop_closed_watchers(footer)
        # (The live cockpit also runs at a lower CPU priority than the trainer: launch._yield_to_training.)
        # The run's history when it first arrives (attach), and alarming events, are drawn at once.
        first_data = not self._drew_data and len(self.history) > 0
        due = now - self._last_render >= self.frame_interval(now)
        if self._dirty and (first_data or self._urgent or due):
            self._drew_data = self._drew_data or first_data
            self._urgent = False
            self._dirty = False
            self._last_render = now
            self._render_all()
            self._refresh_bindings_if_changed()

    def _refresh_bindings_if_changed(self) -> None:
        a = self._advice
        key = (self.state, self._can_control(), bool(a and a.next_action), bool(self.history.errors),
               self.source.replay and self.source.playing)
        if key != self._bindings_key:  # the footer is rebuilt on refresh_bindings: only when it changes
            self._bindings_key = key
            self.refresh_bindings()

    # ---- state -----------------------------------------------------------------------------------

    @property
    def history(self) -> History:
        return self.source.view()

    @property
    def state(self) -> str:
        state = self.history.state
        if self.crashed_note and state not in FINAL_STATES:
            return "crashed"
        if self.trainer_status.status and state not in FINAL_STATES:
            return self.trainer_status.status  # suspended / stalled: alive, but not training
        if self.source.replay and getattr(self.source, "ended_without_state", False) and state not in FINAL_STATES \
                and self.source.cursor >= len(self.source.full):
            return "crashed"  # the recorded run ends here, and its trainer is gone: it never said how it ended
        return state

    def _state_note(self) -> str | None:
        state = self.state
        if state in ("suspended", "stalled"):
            ts = self.trainer_status
            if ts.quiet_since is not None:  # counted here, at each frame: the reader says it once
                return f"no events for {max(0.0, time.time() - ts.quiet_since):.0f} s: {ts.note}"
            return ts.note
        if state == "crashed" and self.history.state not in FINAL_STATES:
            return self.crashed_note or "the log ends without a final state and its trainer is gone"
        return None

    def thresholds(self) -> Thresholds:
        """The run's danger bands, built once per run_started event (where the config is; a replay that
        finishes loading brings a new one). The reader thread asks too, at every poll that brings events."""
        started = self.history.run_started  # the config lives in it: same object, same thresholds
        cached = self._thresholds
        if cached is None or cached[0] is not started:
            cached = self._thresholds = (started, Thresholds.from_config(self.history.config))
        return cached[1]

    def advice(self):
        h = self.history
        now = time.monotonic()
        # Re-advise at most twice a second live, at every cursor move in a replay, and never more than
        # a tenth of the time: on a million-step run one pass of the whole-run rules takes long enough
        # to be felt, and the keys must stay responsive.
        # The state too: a run's final state adds no metrics row, and the advice of a finished run is
        # another (a live "lr x2 now" becomes "next run: lr x2"; a final run is earned only at the end).
        seen = (len(h), h.state)
        stale = seen != self._advice_len
        wait = max(0.0 if self.source.replay else 0.5, 10 * self._advice_cost)
        if stale and self._advice_len[0] > 0 and now - self._advice_at < wait:
            self._dirty = True  # throttled: come back on a later tick so a quiet run still gets advice
        elif stale:
            try:
                from cockpit.advisor import advise

                self._advice = advise(h) if len(h) else None
            except Exception as e:  # the advisor must never take the cockpit down
                self.log.error(f"advisor failed: {e}")
                self._advice = None
            self._advice_cost = time.monotonic() - now
            self._advice_at, self._advice_len = now, seen
        return self._advice

    # ---- rendering -------------------------------------------------------------------------------

    def _render_all(self) -> None:
        h = self.history
        th = self.thresholds()
        mark_steps = [m.step for m in h.marks if m.kind in ("ack", "guard", "checkpoint", "merge")]
        idx = _indices(h.steps, mark_steps)
        for key, _ in METRICS:
            panel = self.query_one(f"#m-{key}", MetricPanel)
            total = h.last("mem_total") if key == "mem_used" else None
            extra = ""
            if key == "mem_used":
                extra = "VRAM" if h.mem_kind == "vram" else "RAM (process)"
            vals = h.series[key]
            panel.update_data(h.steps, vals, idx, th, total if total == total else None, extra)
        replay = self.source.label(compact=self.has_class("-compact")) if self.source.replay else None
        self.query_one(RunPanel).show(h, state=self.state, replay=replay, pending=len(self.pending),
                                      now=self.clock(), note=self._state_note())
        self.query_one(AdvisorPanel).show(self.advice(), can_apply=self._can_control(),
                                          compact=self.has_class("-compact"), run_dir=self.run_dir)
        self.query_one(SamplesPanel).show(h.samples, can_ask=not self.source.replay and self.state not in FINAL_STATES)
        title = Text()
        title.append(" lora-cockpit ", style="bold reverse")
        title.append(f"  {self.source.title}  ")
        if self.source.replay:
            title.append(" REPLAY ", style="bold reverse")
        if self._bad_lines or getattr(self.source, "skipped_lines", 0):
            n = self._bad_lines or self.source.skipped_lines
            title.append(f"  {n} unreadable line(s) skipped", style="dim")
        bar = self.query_one("#title-bar", Static)
        if str(title) != getattr(self, "_title_text", None):
            self._title_text = str(title)
            bar.update(title)

    def _log_event(self, ev: dict) -> None:
        k = ev.get("kind")
        step = ev.get("step")
        at = f"[{step:>6}] " if isinstance(step, int) else " " * 9
        line = None
        if k == "ack":
            cid = ev.get("id", "")
            mine = self.pending.pop(cid, None)
            src = ev.get("source")
            if mine:
                who = ""
            elif self.source.replay:
                who = f" (from {src})" if src else ""
            else:  # live, and not sent from here
                who = f" (from {'another cockpit' if src in (None, 'tui') else src})"
            if ev.get("ok"):
                line = Text(f"{at}✓ {ev.get('cmd')} acked{who}: {ev.get('change') or 'ok'}", style="green")
            else:
                line = Text(f"{at}✖ {ev.get('cmd')} refused{who}: {ev.get('reason')}", style="bold red")
        elif k == "state":
            st = ev.get("state")
            style = "bold red" if st == "crashed" else "bold"
            line = Text(f"{at}● state {st}" + (f" ({ev['reason']})" if ev.get("reason") else ""), style=style)
        elif k == "checkpoint":
            line = Text(f"{at}⬇ checkpoint {Path(str(ev.get('path', ''))).name}"
                        + (f"  ({ev['note']})" if ev.get("note") else ""), style="cyan")
        elif k == "guard":
            line = Text(f"{at}☠ guard {ev.get('rule')}: {ev.get('message')} → {ev.get('action')}", style="bold red")
        elif k == "error":
            line = Text(f"{at}✖ error: {ev.get('message')}" + ("  (e: traceback)" if ev.get("traceback") else ""),
                        style="bold red")
        elif k == "merge":
            out = f" → {ev['out']}" if ev.get("out") else ""
            line = Text(f"{at}⛙ merge {ev.get('status')}: {ev.get('message', '')}{out}",
                        style="bold red" if ev.get("status") == "failed" else "magenta")
        elif k == "notify" and not ev.get("ok", True):
            line = Text(f"{at}✖ alert via {ev.get('channel')} failed: {ev.get('reason')}", style="yellow")
        elif k == "sample":
            # One line per sampling step (the samples panel and `v` show every prompt): a step's three
            # samples used to be three lines each time, and pushed the acks and guards out of sight.
            if step in self._sample_steps:
                return
            self._sample_steps.add(step)
            prompt = str(ev.get("prompt", "")).replace("\n", " ⏎ ")[:24]
            line = Text(f"{at}✎ samples: {prompt} → {str(ev.get('completion', '')).strip()[:24]!r}… (v: all)",
                        style="dim")
        elif k == "run_started":
            # A Hugging Face trainer_state.json says neither device nor parameters: say only what is known.
            where = f" on {ev['device']}" if ev.get("device") else ""
            tp, total = ev.get("trainable_params"), ev.get("total_steps")
            facts = [f"{tp:,} trainable params"] if isinstance(tp, int) and tp else []
            facts += [f"{total:,} steps"] if isinstance(total, int) and total else []
            line = Text(f"{at}▶ started{where}" + (f" ({', '.join(facts)})" if facts else ""), style="bold")
        if line is not None:
            self._write_log(k, line)

    def _log_history_marks(self, h: History) -> None:
        if h.run_started:
            self._log_event(h.run_started)
        for m in h.marks:
            self._log_event(m.event)

    # ---- bindings --------------------------------------------------------------------------------

    def _can_control(self) -> bool:
        return (not self.source.replay and self.run_dir is not None and self.state not in FINAL_STATES
                and self.state != "unknown")

    def check_action(self, action: str, parameters) -> bool | None:
        if action in REPLAY:
            return self.source.replay
        if action in CONTROL:
            if self.source.replay:
                return False  # a replay takes no commands: hide them
            if not self._can_control():
                return None  # greyed: the run is over (or not started)
            if action == "pause":
                return self.state != "paused"
            if action == "resume":
                return self.state == "paused"
            if action == "apply_advice":
                a = self.advice()
                return True if (a and a.next_action) else None
        if action == "traceback":
            return bool(self.history.errors)
        return True

    # ---- feedback ------------------------------------------------------------------------------------

    def notify(self, message: str, **kw) -> None:
        """One toast at a time, the latest: at 80x24 a stack of them covered the charts and the dialogs."""
        self.app.clear_notifications()
        super().notify(message, **kw)

    def _open(self, modal, callback=None) -> None:
        self.app.clear_notifications()  # a dialog opens in the clear
        self.app.push_screen(modal, callback)

    # ---- actions: control ------------------------------------------------------------------------

    def _send(self, action: str, value: str | None = None) -> None:
        from cockpit.control import CommandError, send

        try:
            cmd = send(self.run_dir, action, value, source="tui")
        except CommandError as e:
            self.notify(str(e), severity="error", title="not sent")
            return
        self.pending[cmd["id"]] = cmd
        val = f" {cmd['value']:g}" if isinstance(cmd.get("value"), float) else ""
        self._write_log("sent", Text(f"{' ' * 9}⧗ {cmd['cmd']}{val} sent, waiting for the trainer…", style="yellow"))
        self._dirty = True

    def action_pause(self) -> None:
        self._send("pause")

    def action_resume(self) -> None:
        self._send("resume")

    def action_lr_half(self) -> None:
        self._send("lr", "x0.5")

    def action_lr_double(self) -> None:
        self._send("lr", "x2")

    def action_set_lr(self) -> None:
        lr = self.history.last("learning_rate")

        def done(value: str | None) -> None:
            if value:
                self._send("lr", value)

        self._open(LrModal(lr if lr == lr else None), done)

    def action_save(self) -> None:
        self._send("save")

    def action_samples(self) -> None:
        self._send("sample")

    def action_stop(self) -> None:
        def done(ok: bool | None) -> None:
            if ok:
                self._send("stop")

        self._open(ConfirmModal(
            "Stop the run?", f"The trainer saves a checkpoint and the adapter ({self.run_dir}/adapter), "
            "then ends with state 'stopped'. `cockpit resume` can continue it later.", danger=True,
            yes="Stop"), done)

    def action_merge(self) -> None:
        cfg = self.history.config
        q = (cfg.get("model") or {}).get("quantization", "none")
        note = "\nThe base was trained 4-bit: it is reloaded unquantized for the merge." if q in ("4bit", "8bit") else ""

        def done(ok: bool | None) -> None:
            if ok:
                self._send("merge")

        self._open(ConfirmModal(
            "Merge the adapter?",
            f"source: a checkpoint saved now (step {self.history.step}), in {self.run_dir}/checkpoints\n"
            f"output: {self.run_dir}/merged\ndtype:  fp32 (cockpit merge --dtype bf16 for another)\n"
            f"The merge runs in its own process and is verified; training continues.{note}", yes="Merge"), done)

    def action_apply_advice(self) -> None:
        a = self.advice()
        if not a or not a.next_action:
            self.notify(self.why_not("apply_advice") or "no advice", title="a: not now", severity="warning")
            return
        act = a.next_action
        live = act.command is not None and self._can_control()
        if not live and not act.config_patch:  # a new run this cockpit cannot write: say how to start it
            from cockpit.tui.advice_text import new_run

            self.notify(f"{act.label}: {new_run(act, self.run_dir)}", title="a: nothing to send", timeout=8)
            return
        if live:
            what = f"send `{act.command['cmd']}" + (f" {act.command['value']}" if "value" in act.command else "") + "`"
        else:
            from cockpit.advisor import patch_to_set_args

            what = f"write {self.run_dir}/next-config.yaml with {patch_to_set_args(act.config_patch or {})}"

        def done(ok: bool | None) -> None:
            if not ok:
                return
            if live:
                cmd = act.command
                if cmd["cmd"] == "scale_lr":
                    self._send("lr", f"x{cmd['value']}")
                elif cmd["cmd"] == "set_lr":
                    self._send("lr", str(cmd["value"]))
                else:
                    self._send(cmd["cmd"])
            elif act.config_patch and self.run_dir is not None:
                from cockpit.advisor import write_next_config

                try:
                    path = write_next_config(self.run_dir, act.config_patch)
                    self.notify(f"wrote {path}", title="next config")
                    self._write_log("advice", Text(f"{' ' * 9}✎ next config: {path}", style="cyan"))
                except Exception as e:
                    self.notify(str(e), severity="error")

        self._open(ConfirmModal(f"Apply: {act.label}?", f"{act.description}\n\nThis will {what}"
                                          + ("" if live else ", for a new run") + ".",
                                          yes="Apply"), done)

    # ---- actions: replay -------------------------------------------------------------------------

    def _replay(self, fn, limit: str | None = None) -> None:
        before = (self.source.cursor, self.source.speed, self.source.playing)
        fn()
        if limit and (self.source.cursor, self.source.speed, self.source.playing) == before:
            self.notify(limit, timeout=1.5)  # nothing moved: say so rather than nothing
        self._dirty = True
        self._render_all()

    def action_play(self) -> None:
        self._replay(self.source.toggle)

    def action_step_back(self) -> None:
        self._replay(lambda: self.source.move(-1), "at the start")

    def action_step_fwd(self) -> None:
        self._replay(lambda: self.source.move(1), "at the end")

    def action_jump_back(self) -> None:
        self._replay(lambda: self.source.jump(-0.1), "at the start")

    def action_jump_fwd(self) -> None:
        self._replay(lambda: self.source.jump(0.1), "at the end")

    def action_faster(self) -> None:
        self._replay(lambda: self.source.faster(True), f"{self.source.speed}x is the fastest")

    def action_slower(self) -> None:
        self._replay(lambda: self.source.faster(False), f"{self.source.speed}x is the slowest")

    def action_to_start(self) -> None:
        self._replay(lambda: self.source.seek(0), "at the start")

    def action_to_end(self) -> None:
        self._replay(lambda: self.source.seek(len(self.source.full)), "at the end")

    # ---- actions: views --------------------------------------------------------------------------

    def action_zoom(self) -> None:
        focused = self.focused if isinstance(self.focused, MetricPanel) else self.query_one("#m-loss", MetricPanel)
        th = self.thresholds()
        bands = []
        if focused.key == "grad_norm":
            bands = [(th.grad_norm_high, "high"), (th.grad_norm_danger, "danger"), (th.grad_norm_explosion, "explosion")]
        elif focused.key == "mem_used" and focused.total:
            bands = [(focused.total * th.memory_warn, "warn"), (focused.total * th.memory_danger, "danger")]
        marks = [(m.step, m.label) for m in self.history.marks if m.kind in ("ack", "guard")]
        # Min/max per bucket: plotext draws 2,000 points at once, not a long run's 100,000, and keeps the spikes.
        steps, values = minmax_points(self.history.steps, self.history.series[focused.key], 2000)
        self._open(ZoomModal(focused.title, steps, values, bands, marks))

    def action_all_samples(self) -> None:
        t = Text()
        for s in self.history.samples:
            t.append(f"step {s.get('step')}  ", style="bold")
            t.append(str(s.get("prompt", "")).replace("\n", " ⏎ "), style="dim")
            t.append(f"\n    → {str(s.get('completion', '')).strip()!r}\n")
        self._open(TextModal("All samples", t if self.history.samples else "no samples yet"))

    def action_traceback(self) -> None:
        errs = self.history.errors
        if errs:
            e = errs[-1]
            self._open(TextModal(f"Error at step {e.get('step')}: {e.get('message')}",
                                           Text(traceback_text(e.get("traceback")))))

    def action_help(self) -> None:
        from cockpit.tui.help import help_text

        self._open(TextModal("Keys", help_text(self)))

    def action_log_filter(self) -> None:
        self._log_filter = (self._log_filter + 1) % len(LOG_FILTERS)
        log = self.query_one("#log", RichLog)
        log.clear()
        shown = 0
        for kind, line in self._log_entries:
            if self._log_shows(kind):
                log.write(line)
                shown += 1
        self._title_log()
        self.notify(f"event log: {LOG_FILTERS[self._log_filter][0]} ({shown} lines)", timeout=2)

    def _log_shows(self, kind: str) -> bool:
        kinds = LOG_FILTERS[self._log_filter][1]
        return kinds is None or kind in kinds

    def _write_log(self, kind: str, line: Text) -> None:
        self._log_entries.append((kind, line))
        if self._log_shows(kind):
            self.query_one("#log", RichLog).write(line)

    def _title_log(self) -> None:
        self.query_one("#log", RichLog).border_title = f"events: {LOG_FILTERS[self._log_filter][0]} (f filters)"

    def why_not(self, action: str) -> str | None:
        """Why a key does nothing now, in words (the toast for a refused key, the help's note)."""
        if action in REPLAY and not self.source.replay:
            return "a replay key; this is a live run"
        if action in CONTROL:
            if self.source.replay:
                return "a replay takes no commands (attach to a live run to steer it)"
            if self.run_dir is None:
                return "no run directory to send commands to"
            if self.state in FINAL_STATES:
                return f"the run is over ({self.state})"
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
        if action == "traceback":
            return "no error in this run"
        return None

    def action_cycle_theme(self) -> None:
        self.app.cycle_theme()

    def action_detach(self) -> None:
        self.app.detach()


def _indices(steps, mark_steps: list[int]) -> list[int]:
    """Positions in `steps` of each mark's step (the nearest logged step at or after it)."""
    import bisect

    out = []
    n = len(steps)
    for s in mark_steps:
        i = bisect.bisect_left(steps, s)
        if i < n:
            out.append(i)
        elif n:
            out.append(n - 1)
    return out


def traceback_text(tb) -> str:
    """An error event's traceback as text: a hand-written or foreign log may hold any JSON there."""
    if not tb:
        return "(no traceback recorded)"
    if isinstance(tb, str):
        return tb
    import json

    return json.dumps(tb, indent=1, default=str)
