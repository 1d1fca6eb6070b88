"""Modal screens: confirmations, the exact-lr input, help, zoom, traceback and samples views."""

from __future__ import annotations

from functools import partial

import numpy as np
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from cockpit.logs.downsample import minmax_points
from cockpit.lr import parse_lr
from cockpit.severity import RANK
from cockpit.tui.readout import exact, nearest, next_step
from cockpit.tui.step_window import StepWindow

# Each modal names itself in its CSS: Textual scopes a class's DEFAULT_CSS to that class, so a bare
# `ModalScreen { align: ... }` there matched nothing and every dialog opened at the top-left corner.
MODAL_CSS = """
#dialog { width: auto; min-width: 40; max-width: 92%; height: auto; max-height: 90%; border: thick $accent;
          background: $surface; padding: 0 1; }
#dialog.-danger { border: thick $error; }
#dialog Label.title { text-style: bold; margin-bottom: 1; }
#dialog > Static { width: auto; max-width: 100%; }  /* the dialog is as wide as its text, up to its max-width */
#dialog .buttons { width: auto; height: auto; margin-top: 1; }
#dialog Button { margin-left: 2; }
#lr-error { color: $error; height: auto; }
"""


class ConfirmModal(ModalScreen[bool]):
    """Yes/no with the exact consequence spelled out. `y` confirms, `n`/escape cancels."""

    DEFAULT_CSS = "ConfirmModal { align: center middle; } ConfirmModal #dialog { max-width: 76; }" + MODAL_CSS
    BINDINGS = [Binding("y", "yes", "Confirm"), Binding("n,escape", "no", "Cancel")]

    def __init__(self, title: str, body: str, *, danger: bool = False, yes: str = "Confirm"):
        super().__init__()
        self.title_text, self.body, self.danger, self.yes_label = title, body, danger, yes

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="-danger" if self.danger else ""):
            yield Label(self.title_text, classes="title")
            yield Static(self.body)
            with Horizontal(classes="buttons"):
                yield Button("Cancel (n)", id="no")
                yield Button(f"{self.yes_label} (y)", id="yes", variant="error" if self.danger else "primary")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_yes(self) -> None:
        self.dismiss(True)

    def action_no(self) -> None:
        self.dismiss(False)


class LrModal(ModalScreen[str | None]):
    """An exact learning rate (`1e-4`) or a factor (`x0.5`), validated before anything is sent."""

    DEFAULT_CSS = "LrModal { align: center middle; } LrModal #dialog { width: 64; }" + MODAL_CSS
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, current: float | None):
        super().__init__()
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label("Set the learning rate", classes="title")
            cur = f"{self.current:.3e}" if self.current is not None and self.current == self.current else "?"
            yield Static(f"Current lr: {cur}.  Type a value (1e-4) or a factor (x0.5). Enter sends, Esc cancels.")
            yield Input(placeholder="1e-4 or x0.5", id="lr-input")
            yield Static("", id="lr-error")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        try:
            parse_lr(event.value)
        except ValueError as e:
            self.query_one("#lr-error", Static).update(f"✖ {e}")
            return
        self.dismiss(event.value.strip())

    def action_cancel(self) -> None:
        self.dismiss(None)


class TextModal(ModalScreen[None]):
    """Read-only text (help, a traceback, all samples): scroll, then escape or q to close."""

    DEFAULT_CSS = (
        "TextModal { align: center middle; }"
        + MODAL_CSS
        + "TextModal #dialog { width: 100; } TextModal VerticalScroll { height: auto; max-height: 100%; }"
        " #text { height: auto; width: 100%; }"  # the dialog's width: rows wrap, not cut at its right edge
    )
    BINDINGS = [Binding("escape,q,question_mark", "close", "Close")]

    def __init__(self, title: str, text):
        super().__init__()
        self.title_text, self.text = title, text

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            # markup off: the title quotes an error message, which may hold "[" like any text
            yield Label(self.title_text, classes="title", markup=False)
            with VerticalScroll():
                yield Static(self.text, id="text")

    def action_close(self) -> None:
        self.dismiss(None)


def short_label(label: str, width: int = 14) -> str:
    """An action's label as it fits beside its line on the zoom (the event log has the whole text)."""
    return label if len(label) <= width else label[: width - 1] + "…"


class ZoomModal(ModalScreen[None]):
    """The focused metric as a full plotext chart: round whole steps on the x axis, its danger bands as lines,
    the operator's actions as labelled vertical lines. It follows a live run (redrawn when new steps came).
    The wheel (or + and -) zooms the step range around the pointer, ← → pan it; a click (or < and >)
    reads the exact logged value at a step, on the line under the chart."""

    DEFAULT_CSS = (
        "ZoomModal { align: center middle; } #zoom-box { width: 96%; height: 90%; border: thick $accent; }"
        " #zoom { height: 1fr; } #zoom-readout { height: 1; padding: 0 1; }"
    )
    BINDINGS = [
        Binding("escape,q,z", "close", "Close"),
        Binding("y", "log_scale", "Log scale"),
        Binding("plus,equals_sign", "zoom(0.5)", "Zoom +"),
        Binding("minus", "zoom(2.0)", "Zoom -"),
        Binding("left", "pan(-1)", "◀ pan"),
        Binding("right", "pan(1)", "pan ▶"),
        Binding("less_than_sign", "readout(-1)", "◀ read"),
        Binding("greater_than_sign", "readout(1)", "read ▶"),
        Binding("0", "reset", "All steps"),
    ]
    FOLLOW_EVERY = 1.0
    """Seconds between two looks at the run for new steps (the chart is redrawn only when there are)."""
    MAX_POINTS = 2000
    """Points plotext draws at once (min and max per bucket of the window: a spike survives)."""
    HINT = "wheel or + - zoom · ← → pan · click or < > reads a value · 0 all steps · y log · esc closes"

    def __init__(
        self,
        title: str,
        bands: list[tuple[float, str]],
        data,
        *,
        scale: float = 1.0,
        log: bool = False,
        around: int | None = None,
    ):
        """`bands`: (value, severity) of each threshold line (`cockpit.tui.chart.threshold_lines`); `data()`:
        (steps, values, marks) now, every logged point, marks being (step, label); `scale`: the tile's unit
        (100: a share in %); `around`: open zoomed in around this step (the wheel on a tile)."""
        super().__init__()
        self.title_text, self.bands, self.data, self.scale, self.log_scale = title, bands, data, scale, log
        self.window = StepWindow()
        self.around = around
        self.readout_step: int | None = None
        self.shown: tuple[float, float] | None = None
        self._drawn_last: int | None = None
        self._steps = np.empty(0, dtype=np.int64)
        self._values = np.empty(0)

    def compose(self) -> ComposeResult:
        from cockpit.tui.widgets.redrawn_plot import RedrawnPlot  # imported here: plotext costs start-up time

        with Vertical(id="zoom-box"):
            yield RedrawnPlot(id="zoom")
            yield Static(self.HINT, id="zoom-readout", markup=False)

    def on_mount(self) -> None:
        self._draw()
        self.set_interval(self.FOLLOW_EVERY, self._draw)

    def _draw(self, again: bool = False) -> None:
        """Redraw when new steps came (`again`: now, a key changed the view)."""
        from cockpit.logs.columns import finite
        from cockpit.tui.widgets.redrawn_plot import RedrawnPlot

        steps, values, marks = self.data()
        last = steps[-1] if len(steps) else None
        if last == self._drawn_last and self._drawn_last is not None and not again:
            return
        self._drawn_last = last
        st, v = finite(steps, values)
        if self.log_scale:  # a log axis holds no value at or below 0: those points are left out, as W&B's viewer does
            st, v = st[v > 0], v[v > 0]
        self._steps, self._values = st, v
        full = self.full_steps()
        if self.around is not None:
            self.window.zoom_at(0.5, self.around, full)
            self.around = None
        self.shown = self.window.view(full)
        if self.shown is not None:
            inside = (st >= self.shown[0]) & (st <= self.shown[1])
            st, v = st[inside], v[inside]
        xs, ys = minmax_points(st, v, self.MAX_POINTS)
        paint = partial(self._paint, xs, ys, list(marks), self.shown, self.readout_step)
        self.query_one(RedrawnPlot).repaint(paint)
        self._show_readout()

    def full_steps(self) -> tuple[int, int] | None:
        st = self._steps
        return (int(st[0]), int(st[-1])) if len(st) else None

    def _paint(self, xs, ys, marks, shown, cursor, plt) -> None:
        from cockpit.report.units import step_axis

        ys = [y * self.scale for y in ys]
        plt.title(f"{self.title_text}{' (log)' if self.log_scale else ''}  (y: log scale, esc closes)")
        plt.yscale("log" if self.log_scale else "linear")
        plt.xlabel("step")
        if xs:
            plt.plot(xs, ys, marker="braille")
            lo, hi = shown if shown is not None and shown[1] > shown[0] else (xs[0], xs[-1])
            if hi > lo:
                plt.xlim(lo, hi)  # the window's edges, not its first and last points: a click maps by them
            step_axis(plt, lo, hi)
            top = max(ys)
            for y, severity in self.bands:
                if y * self.scale <= top * 1.5 and (y > 0 or not self.log_scale):
                    plt.hline(y * self.scale, "red" if RANK[severity] >= RANK["danger"] else "orange")
            for s, label in [m for m in marks if lo <= m[0] <= hi][:50]:
                plt.vline(s, "blue")
                plt.text(short_label(label), x=s, y=top, color="blue")
            if cursor is not None and lo <= cursor <= hi:
                plt.vline(cursor, "gray")

    def _show_readout(self) -> None:
        line = self.query_one("#zoom-readout", Static)
        st, v = self._steps, self._values
        if self.readout_step is None or not len(st):
            line.update(self.HINT)
            return
        i = nearest(st, self.readout_step)
        line.update(f"step {int(st[i])}: {self.title_text} {exact(float(v[i]) * self.scale)}   (< > move, 0 clears)")

    # ---- the mouse ------------------------------------------------------------------------------------

    def _step_under(self, event) -> float | None:
        from cockpit.tui.widgets.redrawn_plot import RedrawnPlot

        plot = self.query_one(RedrawnPlot)
        if not plot.content_region.contains(event.screen_x, event.screen_y):
            return None
        return plot.step_at(event.screen_x - plot.content_region.x, self.shown)

    def on_click(self, event: events.Click) -> None:
        step = self._step_under(event)
        i = nearest(self._steps, step) if step is not None else None
        if i is not None:
            self.readout_step = int(self._steps[i])
            self._draw(again=True)

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        self._wheel(event, 0.5)

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        self._wheel(event, 2.0)

    def _wheel(self, event, factor: float) -> None:
        step = self._step_under(event)
        if step is not None and self.window.zoom_at(factor, step, self.full_steps()):
            self._draw(again=True)

    # ---- the keys -------------------------------------------------------------------------------------

    def action_close(self) -> None:
        self.dismiss(None)

    def action_log_scale(self) -> None:
        self.log_scale = not self.log_scale
        self._draw(again=True)

    def action_zoom(self, factor: float) -> None:
        if self.window.zoom(factor, self.full_steps()):
            self._draw(again=True)

    def action_pan(self, direction: int) -> None:
        if self.window.pan(direction, self.full_steps()):
            self._draw(again=True)

    def action_readout(self, direction: int) -> None:
        shown = self.shown
        st = self._steps
        inside = st if shown is None else st[(st >= shown[0]) & (st <= shown[1])]
        cur = self.readout_step
        if cur is not None and shown is not None and not shown[0] <= cur <= shown[1]:
            cur = None
        step = next_step(inside.tolist(), cur, direction)
        if step is not None and step != self.readout_step:
            self.readout_step = step
            self._draw(again=True)

    def action_reset(self) -> None:
        self.window.reset()
        self.readout_step = None
        self._draw(again=True)
