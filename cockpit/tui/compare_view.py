"""The compare view: the runs listed with their colours, and loss, eval loss, grad_norm and entropy of
the runs switched on overlaid, one colour per run. It shows a CompareReport (cockpit.compare) and keeps
what the keys chose (runs on/off, metrics, the one shown large, the step window, smoothing); the screen
(compare_screen.py) feeds it and maps the keys."""

from __future__ import annotations

from functools import partial

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Grid, Vertical
from textual.widgets import Static

from cockpit.compare.model import METRICS, CompareReport
from cockpit.rundir import FINAL_STATES
from cockpit.tui.compare_charts import draw
from cockpit.tui.compare_readout import logged_steps, read_at, readout_text
from cockpit.tui.readout import nearest, next_step
from cockpit.tui.run_table import details, run_table
from cockpit.tui.step_window import StepWindow

MAX_LIST_ROWS = 8
"""Runs listed at once; a longer list scrolls with the cursor (a study may hold a dozen runs)."""
ZOOM_STEP = 0.5


class CompareView(Vertical):
    DEFAULT_CSS = """
    CompareView { height: 1fr; }
    CompareView #cmp-runs { height: auto; max-height: 10; padding: 0 1; }
    CompareView #cmp-detail { height: auto; max-height: 5; padding: 0 1; color: $text-muted; }
    CompareView.-compact #cmp-detail { display: none; }
    CompareView #cmp-charts { height: 1fr; grid-size: 2; grid-gutter: 0 1; padding: 0 1; }
    CompareView #cmp-charts.-one { grid-size: 1; }
    CompareView #cmp-readout { height: auto; max-height: 3; padding: 0 1; display: none; }
    CompareView #cmp-status { height: 1; padding: 0 1; background: $panel; }
    """

    def __init__(self, *, highlight: str | None = None, id: str | None = None):
        super().__init__(id=id)
        self.report: CompareReport | None = None
        self.errors: dict[str, str] = {}
        self.problem: str | None = None
        """Why the comparison cannot be read (again) now, shown in the status line."""
        self.off: set[str] = set()
        """The runs switched off, by path (a run that joins later is on; indices move when one joins)."""
        self.cursor_path: str | None = highlight
        self.metrics_on = [True] * len(METRICS)
        self.large: int | None = None
        """The metric shown alone, large (`m`), or None for all that are on."""
        self.window = StepWindow()
        self.smoothed = True
        self.readout_step: int | None = None
        """The step the readout reads (a click's, or the cursor `<` `>` move); None: no readout."""
        self.readout_metric = 0
        """The chart it reads (the one clicked; the first shown when that one is not)."""
        self.drawn: dict[str, int] = {}
        """Points drawn on each chart shown, by metric (what the keys changed, for tests and the status)."""

    def compose(self) -> ComposeResult:
        from cockpit.tui.widgets.redrawn_plot import RedrawnPlot  # plotext costs start-up time: only here

        yield Static("reading the runs…", id="cmp-runs")
        yield Static(id="cmp-detail")
        with Grid(id="cmp-charts"):
            for m in METRICS:
                yield RedrawnPlot(id=f"cmp-{m.key}")
        yield Static(id="cmp-readout")
        yield Static(id="cmp-status")

    def on_resize(self) -> None:
        # At 80x24 the charts need the rows: the highlighted run's details give way (the list stays).
        self.set_class(self.app.size.height < 30, "-compact")

    # ---- what is shown -------------------------------------------------------------------------------

    def show(self, report: CompareReport, errors: dict[str, str], problem: str | None = None) -> None:
        self.report, self.errors, self.problem = report, errors, problem
        self.redraw()

    @property
    def cursor(self) -> int:
        runs = self.report.runs if self.report else []
        for i, r in enumerate(runs):
            if r.source == self.cursor_path:
                return i
        return 0

    def highlighted(self):
        """The RunRow under the cursor, or None before the runs are read."""
        return self.report.runs[self.cursor] if self.report and self.report.runs else None

    def enabled(self) -> list[int]:
        return [i for i, r in enumerate(self.report.runs) if r.source not in self.off] if self.report else []

    def full_steps(self) -> tuple[int, int] | None:
        ranges = [c.x_range for c in self.report.charts if c.x_range] if self.report else []
        return ranges[0] if ranges else None

    def common_newest(self) -> int | None:
        """The newest step every run shown has reached: where + zooms (following). The newest step of all
        would zoom a study's 60-step trials out of the window beside its 300-step final run."""
        runs = set(self.enabled())
        last: dict[int, int] = {}
        for c in self.report.charts if self.report else []:
            for ln in c.lines:
                if ln.run in runs and ln.steps:
                    last[ln.run] = max(last.get(ln.run, ln.steps[-1]), ln.steps[-1])
        return min(last.values()) if last else None

    def shown_steps(self) -> tuple[float, float] | None:
        return self.window.view(self.full_steps(), self.common_newest())

    def logged(self) -> set[int]:
        """The metrics some run has logged (an empty chart for eval loss no run measured is left out)."""
        if self.report is None:
            return set(range(len(METRICS)))
        keys = {c.key for c in self.report.charts}
        return {i for i, m in enumerate(METRICS) if m.key in keys}

    def shown_metrics(self) -> list[int]:
        if self.large is not None:
            return [self.large]
        logged = self.logged()
        return [i for i, on in enumerate(self.metrics_on) if on and i in logged]

    # ---- what the keys do (each returns what to say when it cannot act, else None) --------------------

    def move(self, delta: int) -> str | None:
        runs = self.report.runs if self.report else []
        if not runs:
            return "no run to move to yet"
        i = max(0, min(len(runs) - 1, self.cursor + delta))
        self.cursor_path = runs[i].source
        self.redraw()
        return None

    def toggle_run(self) -> str | None:
        row = self.highlighted()
        if row is None:
            return "no run to switch yet"
        if row.source not in self.off and len(self.enabled()) == 1:
            return "the last run shown stays on"
        self.off ^= {row.source}
        self.redraw()
        return None

    def toggle_metric(self, i: int) -> str | None:
        if i not in self.logged():
            return f"no run has logged {METRICS[i].title}"
        if self.shown_metrics() == [i] and self.large is None:
            return "the last chart shown stays on"
        self.metrics_on[i] = not self.metrics_on[i]
        if self.large is not None and not self.metrics_on[self.large]:
            self.large = None
        self.redraw()
        return None

    def cycle_large(self) -> str | None:
        """All the metrics that are on, then each of them alone, in turn."""
        logged = self.logged()
        on = [i for i, flag in enumerate(self.metrics_on) if flag and i in logged]
        if not on:
            return "no run has logged a metric yet"
        if self.large is None:
            self.large = on[0]
        else:
            later = [i for i in on if i > self.large]
            self.large = later[0] if later else None
        self.redraw()
        return None

    def zoom(self, factor: float) -> str | None:
        if not self.window.zoom(factor, self.full_steps(), self.common_newest()):
            return "all the steps are shown" if factor > 1 else "zoomed in as far as it goes"
        self.redraw()
        return None

    def pan(self, direction: int) -> str | None:
        if not self.window.zoomed:
            return "all the steps are shown: + zooms in first"
        if not self.window.pan(direction, self.full_steps(), self.common_newest()):
            return "at the first step" if direction < 0 else "at the newest step"
        self.redraw()
        return None

    def chart_at(self, x: int, y: int) -> tuple[int, float] | None:
        """(metric, step) under a screen position (a mouse event's): the chart there and the step under
        the pointer; None off the charts' plot areas."""
        from cockpit.tui.widgets.redrawn_plot import RedrawnPlot

        for i in self.shown_metrics():
            plot = self.query_one(f"#cmp-{METRICS[i].key}", RedrawnPlot)
            if plot.content_region.contains(x, y):
                step = plot.step_at(x - plot.content_region.x, self.shown_steps())
                return None if step is None else (i, step)
        return None

    def _chart(self, i: int):
        key = METRICS[i].key
        return next((c for c in self.report.charts if c.key == key), None) if self.report else None

    def read_at(self, i: int, step: float) -> str | None:
        """Read chart `i` at the logged step nearest `step` (a click)."""
        chart = self._chart(i)
        steps = logged_steps(chart, self.enabled(), None) if chart else []
        at = nearest(steps, step)
        if at is None:
            return f"no run shown has logged {METRICS[i].title}"
        self.readout_metric, self.readout_step = i, steps[at]
        self.redraw()
        return None

    def move_readout(self, direction: int) -> str | None:
        """The readout one logged step earlier or later on the chart it reads (the newest shown first)."""
        shown = self.shown_metrics()
        i = self.readout_metric if self.readout_metric in shown else shown[0] if shown else None
        chart = self._chart(i) if i is not None else None
        window = self.shown_steps()
        steps = logged_steps(chart, self.enabled(), window) if chart else []
        inside = self.readout_step is not None and window is not None and window[0] <= self.readout_step <= window[1]
        step = next_step(steps, self.readout_step if inside else None, direction)
        if step is None:
            return "no step logged in the window yet"
        if step == self.readout_step:
            return "at the window's first step" if direction < 0 else "at the window's last step"
        self.readout_metric, self.readout_step = i, step
        self.redraw()
        return None

    def zoom_at(self, factor: float, step: float) -> str | None:
        """The wheel: zoom in (factor < 1) or out around the step under the pointer."""
        if not self.window.zoom_at(factor, step, self.full_steps(), self.common_newest()):
            return "all the steps are shown" if factor > 1 else "zoomed in as far as it goes"
        self.redraw()
        return None

    def reset(self) -> None:
        self.readout_step = None
        self.window.reset()
        self.off.clear()
        self.metrics_on = [True] * len(METRICS)
        self.large = None
        self.redraw()

    def toggle_smooth(self) -> None:
        self.smoothed = not self.smoothed
        self.redraw()

    # ---- drawing -------------------------------------------------------------------------------------

    def redraw(self) -> None:
        r = self.report
        if r is None:
            self.query_one("#cmp-status", Static).update(Text(self.problem or "", style="bold red"))
            return
        cursor = self.cursor
        first = max(0, min(cursor - MAX_LIST_ROWS // 2, len(r.runs) - MAX_LIST_ROWS))
        window = r.runs[first : first + MAX_LIST_ROWS]
        shown_report = CompareReport(r.title, window, [(k, v[first:]) for k, v in r.diff], [], [], [])
        enabled = {i - first for i in self.enabled()}
        self.query_one("#cmp-runs", Static).update(run_table(shown_report, enabled, cursor - first, self.errors))
        self.query_one("#cmp-detail", Static).update(details(r, cursor, self.errors))
        self._draw_charts()
        self._show_readout()
        self.query_one("#cmp-status", Static).update(self.status())

    def _show_readout(self) -> None:
        line = self.query_one("#cmp-readout", Static)
        shown = self.shown_metrics()
        line.display = self.readout_step is not None and bool(shown)
        if not line.display:
            return
        i = self.readout_metric if self.readout_metric in shown else shown[0]
        chart = self._chart(i)
        readings = read_at(chart, self.enabled(), None, self.readout_step, self.smoothed) if chart else []
        labels = [r.label for r in self.report.runs] if self.report else []
        line.update(readout_text(METRICS[i].title, self.readout_step, readings, labels))

    def _draw_charts(self) -> None:
        from cockpit.tui.widgets.redrawn_plot import RedrawnPlot

        charts = {c.key: c for c in self.report.charts} if self.report else {}
        shown = self.shown_metrics()
        steps = self.shown_steps()
        runs = self.enabled()
        self.drawn = {}
        for i, m in enumerate(METRICS):
            plot = self.query_one(f"#cmp-{m.key}", RedrawnPlot)
            plot.display = i in shown
            if i not in shown:
                continue
            title = f"{i + 1} {m.title}"
            chart = charts.get(m.key)
            if chart is None:
                plot.repaint(lambda plt, title=title: plt.title(f"{title}: no run logged it"))
            else:
                paint = partial(_paint, chart, title, runs, steps, self.smoothed, self.readout_step)
                self.drawn[m.key] = plot.repaint(paint)
            # Three charts on a grid of two columns: the last takes the whole row, not half of it.
            plot.styles.column_span = 2 if len(shown) % 2 and i == shown[-1] else 1
        self.query_one("#cmp-charts").set_class(len(shown) == 1, "-one")

    def status(self) -> Text:
        r = self.report
        t = Text()
        full = self.full_steps()
        steps = self.shown_steps()
        if steps is None:
            t.append("no steps logged yet")
        elif self.window.zoomed:
            newest = self.common_newest()
            shared = newest is not None and full is not None and newest < full[1]
            follow = "panned" if self.window.end is not None else "newest shared" if shared else "newest"
            t.append(f"steps {_steps(steps)} of {_steps(full)} ({follow})", style="bold")
        else:
            t.append(f"steps {_steps(steps)} (all)")
        t.append(f" │ EMA {'on' if self.smoothed else 'off'} │ ")
        logged = self.logged()
        for i, m in enumerate(METRICS):
            if i not in logged:
                t.append(f"{i + 1} {m.short} (not logged) ", style="dim")
                continue
            on = self.metrics_on[i]
            t.append(
                f"{i + 1} {m.short}{'✓' if on else '·'} ", style="bold" if i == self.large else "" if on else "dim"
            )
        if r is not None:
            live = sum(1 for x in r.runs if x.state not in FINAL_STATES)
            t.append(f"│ {len(self.enabled())}/{len(r.runs)} runs shown")
            if live:
                t.append(f", {live} not finished (following)")
        if self.errors:
            t.append(f" │ ✖ {len(self.errors)} run(s) unreadable: {next(iter(self.errors.values()))}", style="bold red")
        if self.problem:
            t.append(f" │ ✖ {self.problem}", style="bold red")
        return t


def _paint(chart, title: str, runs: list[int], steps, smoothed: bool, cursor: int | None, plt) -> int:
    """One compare chart on a cleared figure; the points drawn."""
    n = draw(plt, chart, title, runs, steps, smoothed, cursor)
    if not n:
        plt.title(f"{title}: nothing in steps {_steps(steps)}")
    return n


def _steps(span: tuple[float, float] | None) -> str:
    return "-" if span is None else f"{span[0]:.0f}-{span[1]:.0f}"
