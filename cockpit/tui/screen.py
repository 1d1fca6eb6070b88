"""What the live and the replay screens share: the layout, the frame loop, the rendering of a History,
the event log and the views (zoom, samples, traceback, help). `LiveScreen` (live_screen.py) adds the
reader and the commands; `ReplayScreen` (replay_screen.py) the cursor."""

from __future__ import annotations

import time
from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Grid, Horizontal, Vertical
from textual.css.scalar import Scalar
from textual.screen import Screen
from textual.widgets import Footer, Static

from cockpit.chart_choice import load_choice
from cockpit.history import History
from cockpit.logs.foreign import not_in_format
from cockpit.metrics import ALL_CHARTED, charted, panel_id
from cockpit.run_kind import RunKind
from cockpit.thresholds import Thresholds
from cockpit.tui.advice_throttle import AdviceThrottle
from cockpit.tui.bindings import BINDINGS
from cockpit.tui.chart_actions import ChartActions
from cockpit.tui.layout import chart_layout
from cockpit.tui.pacing import TICK, FramePacer
from cockpit.tui.panel_data import mark_indices, never_logged
from cockpit.tui.source_protocol import Source
from cockpit.tui.tile_readout import TileReadout
from cockpit.tui.views import ViewActions
from cockpit.tui.watchers import drop_closed_watchers
from cockpit.tui.widgets.advisor_panel import AdvisorPanel
from cockpit.tui.widgets.event_log import EventLog
from cockpit.tui.widgets.footer import FittedFooter
from cockpit.tui.widgets.metric import MetricPanel
from cockpit.tui.widgets.run_panel import RunPanel
from cockpit.tui.widgets.samples_panel import SamplesPanel


class CockpitScreen(ViewActions, ChartActions, TileReadout, Screen):
    """A run's cockpit, fed by a source; the subclasses say what differs between live and replay."""

    BINDINGS = BINDINGS
    replay = False
    """Which of the two screens this is (the help lists its keys by it)."""
    ADVICE_MIN_INTERVAL = 0.5

    def __init__(
        self, source: Source, *, run_dir: Path | None = None, clock=time.time, frame_interval: float | None = None
    ):
        super().__init__()
        self.source = source
        self.run_dir = run_dir
        self.clock = clock
        self.pacer = FramePacer(now=time.monotonic(), fixed=frame_interval)
        self.adviser = AdviceThrottle(self.ADVICE_MIN_INTERVAL)
        self._pruned_at = 0.0
        self._bindings_key = None
        self._thresholds: tuple[object, Thresholds] | None = None
        self._title_text: str | None = None
        self._kind: tuple[int, int, RunKind] | None = None
        self._shown_method: str | None = None
        self._shown_keys: tuple[str, ...] | None = None
        self._chosen: dict[str, list[str]] = {}
        """Per kind of run, the keys its grid charts (the SOP's set unless the operator picked others)."""
        self._panels: dict[str, MetricPanel] = {}
        self.smoothed = True
        """Every chart's EMA on (`S`): as the compare view starts, and as a W&B chart does."""
        self._readout_columns: dict[str, int] = {}
        """The sparkline column each tile's readout last read (tile_readout.py; `<` `>` move it)."""

    # ---- layout ----------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static(id="title-bar")
        with Grid(id="metrics"):
            # A panel for every metric any kind of run charts; the run's kind shows its own (show_kind).
            for m in ALL_CHARTED:
                self._panels[m.key] = MetricPanel(m.key, m.short, id=panel_id(m.key))
                yield self._panels[m.key]
        with Horizontal(id="bottom"):
            with Vertical(id="left-col"):
                yield RunPanel(id="run")
                yield SamplesPanel(id="samples")
            with Vertical(id="right-col"):
                yield AdvisorPanel(id="advisor")
                yield EventLog(id="log", run_dir=self.run_dir)
        yield FittedFooter()  # every key is in the help and the README; the footer shows those that fit

    def on_mount(self) -> None:
        self.show_kind(self.run_kind().method)
        self.lead_panel().focus()
        self.set_interval(TICK, self._tick)
        self._reflow()
        self.start_source()
        self._render_all()

    def start_source(self) -> None:
        """Start reading the source (the subclass knows how)."""

    def on_resize(self) -> None:
        self._reflow()

    def _reflow(self) -> None:
        lay = chart_layout(self.size.width, self.size.height)
        self.set_class(lay.compact, "-compact")
        if self.query_one("#metrics").styles.height != Scalar.from_number(lay.metrics_height):
            self.query_one("#metrics").styles.height = lay.metrics_height
            for panel in self.query(MetricPanel):
                panel.styles.height = lay.panel_height

    # ---- the frame loop --------------------------------------------------------------------------

    def frame_interval(self, now: float) -> float:
        return self.pacer.interval(now)

    def advance(self, dt: float) -> bool:
        """Move the source by itself (a playing replay); True when the view changed."""
        return False

    def on_key(self, event) -> None:
        self.pacer.key_pressed(time.monotonic())  # not handled here: the key goes on to its binding
        # A key whose every binding is refused now does nothing by itself: say why, within the frame.
        from cockpit.tui.help import bound as bound_keys

        bound = bound_keys(self).get(event.key, [])
        if bound and not any(self.check_action(b.action, ()) for b in bound):
            self.notify(
                self.why_not(bound[0].action) or "not now", title=f"{event.key}: not now", severity="warning", timeout=4
            )

    def _tick(self) -> None:
        if self.advance(TICK):
            self.pacer.dirty = True
        now = time.monotonic()
        if now - self._pruned_at > 5:
            self._pruned_at = now
            for footer in self.query(Footer):
                drop_closed_watchers(footer)
        # (The live cockpit also runs at a lower CPU priority than the trainer: launch._yield_to_training.)
        if self.pacer.frame_due(now, has_data=len(self.history) > 0):
            self._render_all()
            self._refresh_bindings_if_changed()

    def bindings_state(self) -> tuple:
        """What the footer's keys depend on beyond the run's state (the subclass adds its own)."""
        return ()

    def _refresh_bindings_if_changed(self) -> None:
        a = self.adviser.last
        key = (
            self.state,
            self.can_control(),
            bool(a and a.next_action),
            bool(self.history.errors),
            *self.bindings_state(),
        )
        if key != self._bindings_key:  # the footer is rebuilt on refresh_bindings: only when it changes
            self._bindings_key = key
            self.refresh_bindings()

    # ---- state -----------------------------------------------------------------------------------

    @property
    def history(self) -> History:
        return self.source.view()

    @property
    def state(self) -> str:
        return self.history.state

    def state_note(self) -> str | None:
        """A word on the state when it is not what the log says (suspended, stalled, crashed)."""
        return None

    def can_control(self) -> bool:
        """Whether commands can be sent to the run now."""
        return False

    def thresholds(self) -> Thresholds:
        """The run's danger bands, built once per run_started event (where the config is; a replay that
        finishes loading brings a new one). The reader thread asks too, at every poll that brings events."""
        started = self.history.run_started  # the config lives in it: same object, same thresholds
        cached = self._thresholds
        if cached is None or cached[0] is not started:
            cached = self._thresholds = (started, Thresholds.from_config(self.history.config))
        return cached[1]

    def advice(self):
        a = self.adviser.advice(self.history)
        if self.adviser.deferred:
            self.pacer.dirty = True  # throttled: come back on a later tick
        return a

    # ---- rendering -------------------------------------------------------------------------------

    def replay_label(self, compact: bool) -> str | None:
        return None

    def skipped_lines(self) -> int:
        return 0

    def can_ask_samples(self) -> bool:
        return False

    def pending_count(self) -> int:
        """Commands sent from here and not acked yet."""
        return 0

    # ---- the run's kind: which metrics it charts -----------------------------------------------------

    def run_kind(self) -> RunKind:
        """The kind of the whole run (a replay's, not its cursor's), read again as the log doubles: the keys
        that tell it come with the first metrics event, and a scan of 100,000 rows costs a few ms."""
        full = getattr(self.source, "full", None) or self.history
        cached = self._kind
        if cached is None or cached[0] != id(full) or len(full) >= max(2 * cached[1], cached[1] + 1) > 0:
            cached = self._kind = (id(full), len(full), RunKind.of(full))
        return cached[2]

    def shown_keys(self, method: str) -> list[str]:
        """The keys this kind of run's grid charts: the SOP's (cockpit.metrics.charted), or the operator's
        pick kept from an earlier session (cockpit.chart_choice)."""
        if method not in self._chosen:
            self._chosen[method], problem = load_choice(method, [m.key for m in charted(method)])
            if problem:
                self.notify(f"{problem}; the SOP's charts shown", title="chart choice", severity="warning")
        return self._chosen[method]

    def show_kind(self, method: str) -> None:
        """Show the panels of this kind of run (a DPO run's rewards and margins, a GRPO run's reward, KL
        and completions) and hide the rest: no blank tiles for metrics the run does not log."""
        shown = self.shown_keys(method)
        if method == self._shown_method and tuple(shown) == self._shown_keys:
            return
        self._shown_method, self._shown_keys = method, tuple(shown)
        grid = self.query_one("#metrics", Grid)
        for key in shown:
            if key not in self._panels:  # a metric outside the SOP's sets, picked with `k`
                self._panels[key] = MetricPanel(key, key)
                self._panels[key].smoothed = self.smoothed
                self._panels[key].styles.height = chart_layout(self.size.width, self.size.height).panel_height
                grid.mount(self._panels[key])
        for panel in self._panels.values():
            panel.display = panel.key in shown
            panel.set_class(panel.key == shown[0], "-lead")
        for key in shown:  # the grid fills in the kind's order: its headline metric first
            panel = self._panels[key]
            if panel is not grid.children[-1]:
                grid.move_child(panel, after=grid.children[-1])
        if isinstance(self.focused, MetricPanel) and not self.focused.display:
            self.lead_panel().focus()

    def lead_panel(self) -> MetricPanel:
        """The headline metric's panel of this kind of run (loss for SFT, reward for RL, ...)."""
        return self._panels[self.shown_keys(self._shown_method or "sft")[0]]

    def _render_all(self) -> None:
        h = self.history
        th = self.thresholds()
        compact = self.has_class("-compact")
        mark_steps = [m.step for m in h.marks if m.kind in ("ack", "guard", "checkpoint", "merge")]
        idx = mark_indices(h.steps, mark_steps)
        method = self.run_kind().method
        self.show_kind(method)
        for key in self.shown_keys(method):
            panel = self._panels[key]
            total = h.last("mem_total") if key == "mem_used" else None
            extra = ""
            if key == "mem_used":
                extra = "VRAM" if h.mem_kind == "vram" else "RAM (process)"
            side = h.side_series(key)
            if side is not None:  # an eval or system metric: its own steps, no marks
                panel.absent = None
                panel.update_data(*side, [], th)
                continue
            panel.absent = not_in_format(h, key) or never_logged(h, key) if key in h.series else "not logged yet"
            panel.update_data(h.steps, h.series.get(key, ()), idx, th, total if total == total else None, extra)
        self.query_one(RunPanel).show(
            h,
            state=self.state,
            replay=self.replay_label(compact),
            now=self.clock(),
            pending=self.pending_count(),
            note=self.state_note(),
        )
        self.query_one(AdvisorPanel).show(
            self.advice(),
            can_apply=self.can_control(),
            compact=compact,
            run_dir=self.run_dir,
            script=self.history.script,
        )
        self.query_one(SamplesPanel).show(h.samples, can_ask=self.can_ask_samples())
        title = Text()
        title.append(" lora-cockpit ", style="bold reverse")
        title.append(f"  {self.source.title}  ")
        if method != "sft":  # SFT is the cockpit's own kind; any other is said, its charts are its own
            title.append(f" {self.run_kind().label} ", style="bold")
        if self.replay:
            title.append(" REPLAY ", style="bold reverse")
        if self.skipped_lines():
            title.append(f"  {self.skipped_lines()} unreadable line(s) skipped", style="dim")
        if str(title) != self._title_text:
            self._title_text = str(title)
            self.query_one("#title-bar", Static).update(title)

    # ---- the event log ---------------------------------------------------------------------------

    @property
    def event_log(self) -> EventLog:
        return self.query_one("#log", EventLog)

    def sender(self, ev: dict) -> str:
        """Who sent the command an ack answers, as this screen knows it."""
        return ""

    def log_event(self, ev: dict) -> None:
        self.event_log.add_event(ev, self.sender(ev) if ev.get("kind") == "ack" else "")

    def log_history_marks(self, h: History) -> None:
        if h.run_started:
            self.log_event(h.run_started)
        for m in h.marks:
            self.log_event(m.event)

    # ---- bindings --------------------------------------------------------------------------------

    def check_action(self, action: str, parameters) -> bool | None:
        if action == "traceback":
            return bool(self.history.errors)
        if action == "compare":  # hidden from the footer where it cannot act; the help and a toast say why
            from cockpit.compare.feed import group_of

            return group_of(self.run_dir) is not None
        return True

    def why_not(self, action: str) -> str | None:
        """Why a key does nothing now, in words (the toast for a refused key, the help's note)."""
        if action == "traceback":
            return "no error in this run"
        if action == "compare":
            if self.run_dir is None:
                return "a log file, not a run directory: cockpit compare LOG LOG --view compares logs"
            return "this run belongs to no study or sweep: cockpit compare RUN RUN --view compares any runs"
        return None

    # ---- feedback --------------------------------------------------------------------------------

    def notify(self, message: str, **kw) -> None:
        """One toast at a time, the latest: at 80x24 a stack of them covered the charts and the dialogs."""
        self.app.clear_notifications()
        super().notify(message, **kw)

    def _open(self, modal, callback=None) -> None:
        self.app.clear_notifications()  # a dialog opens in the clear
        self.app.push_screen(modal, callback)

    # ---- actions (the views: views.py) ---------------------------------------------------------

    def action_log_filter(self) -> None:
        name, shown = self.event_log.cycle_filter()
        self.notify(f"event log: {name} ({shown} lines)", timeout=2)

    def action_cycle_theme(self) -> None:
        self.app.cycle_theme()

    def action_detach(self) -> None:
        self.app.detach()
