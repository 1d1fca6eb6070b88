"""Modal screens: confirmations, the exact-lr input, help, zoom, traceback and samples views."""

from __future__ import annotations

from functools import partial

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from cockpit.lr import parse_lr
from cockpit.severity import RANK

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
    the operator's actions as labelled vertical lines. It follows a live run (redrawn when new steps came)."""

    DEFAULT_CSS = "ZoomModal { align: center middle; } #zoom { width: 96%; height: 90%; border: thick $accent; }"
    BINDINGS = [Binding("escape,q,z", "close", "Close"), Binding("y", "log_scale", "Log scale")]
    FOLLOW_EVERY = 1.0
    """Seconds between two looks at the run for new steps (the chart is redrawn only when there are)."""

    def __init__(self, title: str, bands: list[tuple[float, str]], data, *, scale: float = 1.0, log: bool = False):
        """`bands`: (value, severity) of each threshold line (`cockpit.tui.chart.threshold_lines`); `data()`:
        (steps, values, marks) now, marks being (step, label); `scale`: the tile's unit (100: a share in %)."""
        super().__init__()
        self.title_text, self.bands, self.data, self.scale, self.log_scale = title, bands, data, scale, log
        self._drawn_last: int | None = None

    def compose(self) -> ComposeResult:
        from cockpit.tui.widgets.redrawn_plot import RedrawnPlot  # imported here: plotext costs start-up time

        yield RedrawnPlot(id="zoom")

    def on_mount(self) -> None:
        self._draw()
        self.set_interval(self.FOLLOW_EVERY, self._draw)

    def _draw(self) -> None:
        from cockpit.tui.widgets.redrawn_plot import RedrawnPlot

        steps, values, marks = self.data()
        last = steps[-1] if len(steps) else None
        if last == self._drawn_last and self._drawn_last is not None:
            return
        self._drawn_last = last
        self.query_one(RedrawnPlot).repaint(partial(self._paint, list(steps), list(values), list(marks)))

    def _paint(self, steps, values, marks, plt) -> None:
        import math

        from cockpit.report.units import step_axis

        # A log axis holds no value at or below 0: those points are left out, as W&B's viewer does.
        pts = [(s, v * self.scale) for s, v in zip(steps, values) if math.isfinite(v) and (v > 0 or not self.log_scale)]
        plt.title(f"{self.title_text}{' (log)' if self.log_scale else ''}  (y: log scale, esc closes)")
        plt.yscale("log" if self.log_scale else "linear")
        plt.xlabel("step")
        if pts:
            xs, ys = zip(*pts)
            plt.plot(list(xs), list(ys), marker="braille")
            step_axis(plt, xs[0], xs[-1])
            top = max(ys)
            for y, severity in self.bands:
                if y * self.scale <= top * 1.5 and (y > 0 or not self.log_scale):
                    plt.hline(y * self.scale, "red" if RANK[severity] >= RANK["danger"] else "orange")
            for s, label in marks[:50]:
                plt.vline(s, "blue")
                plt.text(short_label(label), x=s, y=top, color="blue")

    def action_close(self) -> None:
        self.dismiss(None)

    def action_log_scale(self) -> None:
        self.log_scale = not self.log_scale
        self._drawn_last = None  # redraw now, new steps or not
        self._draw()
