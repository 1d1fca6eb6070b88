"""The compare view as a screen: `cockpit compare RUN... --view`, `c` in a study's or sweep's run, `c` in
the sweep view. It follows the runs (a worker thread reads them every second) and opens a run's own
cockpit on enter; q or escape goes back."""

from __future__ import annotations

from pathlib import Path

from textual import events, on, work
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Static
from textual.worker import Worker, WorkerState

from cockpit.compare.feed import CompareFeed
from cockpit.rundir import FINAL_STATES
from cockpit.tui import compare_keys
from cockpit.tui.compare_view import CompareView
from cockpit.tui.messages import CompareUpdated
from cockpit.tui.widgets.footer import FittedFooter

POLL_S = 1.0
"""How often the runs are read again: a comparison is read by eye, not step by step."""


class CompareScreen(Screen):
    """Usage: `app.push_screen(CompareScreen(CompareFeed([sweep_dir])))`. `root`: the app's own screen
    (`q` closes the app) rather than one opened over another (`q` comes back to it)."""

    BINDINGS = compare_keys.BINDINGS
    HELP_GROUPS = compare_keys.HELP_GROUPS
    replay = False
    DEFAULT_CSS = "CompareScreen { layout: vertical; } CompareScreen #cmp-title { height: 1; background: $panel; }"

    def __init__(self, feed: CompareFeed, *, highlight: Path | None = None, root: bool = False):
        super().__init__()
        self.feed = feed
        self.highlight = str(highlight) if highlight is not None else None
        self.root = root
        self._reading = False
        self.polls = 0
        """Reads of the runs done (tests wait on it)."""

    def compose(self) -> ComposeResult:
        yield Static(id="cmp-title")
        yield CompareView(highlight=self.highlight, id="compare")
        yield FittedFooter()  # whole keys only, the way out and help always among them

    @property
    def view(self) -> CompareView:
        return self.query_one(CompareView)

    def on_mount(self) -> None:
        self._title()
        self.read_runs()
        self.set_interval(POLL_S, self.read_runs)

    # ---- reading the runs ----------------------------------------------------------------------------

    def read_runs(self) -> None:
        """Start a read unless one is under way (a slow disk must not pile reads up)."""
        if not self._reading:
            self._reading = True
            self._read()

    @work(thread=True, exit_on_error=False, group="compare-feed", name="compare-feed")
    def _read(self) -> None:
        # Only this worker touches the feed's histories, one read at a time; the screen sees reports.
        first = self.polls == 0
        if self.feed.poll() or first:
            self.post_message(CompareUpdated(self.feed.report(), dict(self.feed.errors), self.feed.expand_error))
        else:
            self.post_message(CompareUpdated(None))

    @on(CompareUpdated)
    def _updated(self, msg: CompareUpdated) -> None:
        self._reading = False
        self.polls += 1
        if msg.report is not None:
            self.view.show(msg.report, msg.errors, msg.problem)
            self._title()

    @on(Worker.StateChanged)
    def _read_failed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "compare-feed" and event.state == WorkerState.ERROR:
            self._reading = False
            self.polls += 1
            self.view.problem = f"cannot read the runs: {event.worker.error}"
            self.view.redraw()

    def _title(self) -> None:
        from rich.text import Text

        t = Text()
        t.append(" compare ", style="bold reverse")
        t.append(f"  {self.feed.title}  ")
        report = self.view.report
        if report is not None:
            t.append(f"{len(report.runs)} run{'s' if len(report.runs) != 1 else ''}", style="bold")
            if report.notes:
                t.append(f"  ({'; '.join(report.notes)})", style="dim")
        self.query_one("#cmp-title", Static).update(t)

    # ---- keys --------------------------------------------------------------------------------------

    def check_action(self, action: str, parameters) -> bool | None:
        return True

    def why_not(self, action: str) -> str | None:
        return None

    def _say(self, refusal: str | None) -> None:
        if refusal:
            self.app.clear_notifications()
            self.notify(refusal, timeout=2)

    def action_move(self, delta: int) -> None:
        self._say(self.view.move(delta))

    def action_toggle_run(self) -> None:
        self._say(self.view.toggle_run())

    def action_toggle_metric(self, i: int) -> None:
        self._say(self.view.toggle_metric(i))

    def action_cycle_large(self) -> None:
        self._say(self.view.cycle_large())

    def action_zoom(self, factor: float) -> None:
        self._say(self.view.zoom(factor))

    def action_pan(self, direction: int) -> None:
        self._say(self.view.pan(direction))

    def action_readout(self, direction: int) -> None:
        self._say(self.view.move_readout(direction))

    # ---- the mouse: a click reads the values at its step, the wheel zooms around the pointer's step ------

    def on_click(self, event: events.Click) -> None:
        hit = self.view.chart_at(event.screen_x, event.screen_y)
        if hit is not None:
            self._say(self.view.read_at(*hit))

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        self._wheel(event, 0.5)

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        self._wheel(event, 2.0)

    def _wheel(self, event: events.MouseEvent, factor: float) -> None:
        hit = self.view.chart_at(event.screen_x, event.screen_y)
        if hit is not None:
            event.stop()
            self._say(self.view.zoom_at(factor, hit[1]))

    def action_reset(self) -> None:
        self.view.reset()

    def action_smooth(self) -> None:
        self.view.toggle_smooth()

    def action_open_run(self) -> None:
        row = self.view.highlighted()
        if row is None:
            self._say("no run to open yet")
            return
        try:
            screen = run_screen(Path(row.source), row.state)
        except Exception as e:  # LogError, OSError: the run cannot be read now; say so, stay here
            self._say(f"cannot open {row.label}: {e}")
            return
        self.app.push_screen(screen)

    def action_cycle_theme(self) -> None:
        self.app.cycle_theme()

    def action_help(self) -> None:
        from cockpit.tui.help import help_text
        from cockpit.tui.modals import TextModal

        self.app.push_screen(TextModal("Compare keys", help_text(self)))

    def action_back(self) -> None:
        if self.root:
            self.app.exit()
        else:
            self.dismiss()


def run_screen(path: Path, state: str) -> Screen:
    """A run's own cockpit: live while it may still be training (it tails the log and takes commands),
    else its replay, opened at the end."""
    from cockpit.logs import resolve

    log = resolve(path)
    if log.run_dir is not None and state not in FINAL_STATES:
        from cockpit.tui.live_screen import LiveScreen
        from cockpit.tui.sources import LiveSource

        return LiveScreen(LiveSource(log.run_dir.path), run_dir=log.run_dir.path)
    from cockpit.tui.replay_screen import ReplayScreen
    from cockpit.tui.sources import ReplaySource

    run_dir = log.run_dir.path if log.run_dir is not None else None
    h = log.history()
    return ReplayScreen(ReplaySource(h, log.title, skipped_lines=log.stats.bad), run_dir=run_dir)
