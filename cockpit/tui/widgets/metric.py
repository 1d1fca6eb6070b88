"""One metric: title, current value, trend, min/max, band symbol, a band-coloured chart as tall as the
panel (chart.py), and a row of marks where the operator (or a guard) acted."""

from __future__ import annotations

import math
from itertools import groupby

import numpy as np
from rich.text import Text
from textual.geometry import Region
from textual.widget import Widget

from cockpit.bands import LABEL, SYMBOL, band
from cockpit.logs.downsample import bucket_of
from cockpit.system_metrics import fmt_system
from cockpit.thresholds import Thresholds
from cockpit.tui.chart import FAINT, draw_scaled
from cockpit.tui.tile_axes import range_note, step_axis, y_gutter
from cockpit.tui.tile_ema import TileEma

SHARES = ("completions/clipped_ratio", "frac_reward_zero_std", "rewards/accuracies", "accuracy")
"""Metrics that are a share of a batch: shown as a percentage."""


def fmt_value(key: str, v: float | None, total: float | None = None) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "NaN" if v is not None and key == "loss" else "-"
    if math.isinf(v):
        return "inf"
    system = fmt_system(key, v)  # a `system` event's field (CPU %, RSS, disk, GPU), picked with `k`
    if system is not None:
        return system
    if key in ("mem_used",):
        g = v / 2**30
        return f"{g:.2f}/{total / 2**30:.1f}G" if total else f"{g:.2f}G"
    if key == "learning_rate":
        return f"{v:.2e}"
    if key == "tokens_per_s":
        return f"{v:,.0f}"
    if key in SHARES:
        return f"{v:.0%}"
    if key == "update_ratio":
        pct = v * 100
        # A paused or warming-up step moves the adapter by almost nothing: "6.4e-06%" read as a glitch.
        return "<0.001%" if 0 < pct < 0.001 else f"{pct:.2g}%"
    return f"{v:.4g}"


def axis_label(key: str, v: float) -> str:
    """A value beside a tile's chart: the metric's unit as its value line says it, in 3 digits where the
    value line has 4 (`0.00418` not `0.004176`: an axis label takes columns from the chart)."""
    text = fmt_value(key, v)
    return f"{v:.3g}" if text == f"{v:.4g}" else text


def trend(values) -> str:
    """↑ ↓ → : the median of the last tenth of the finite points against the tenth before it."""
    v = np.asarray(values, dtype=np.float64)
    fin = v[np.isfinite(v)]
    if len(fin) < 6:
        return " "
    k = max(3, len(fin) // 10)
    a, b = float(np.median(fin[-2 * k : -k])), float(np.median(fin[-k:]))
    scale = max(abs(a), abs(b), 1e-12)
    if abs(b - a) / scale < 0.02:
        return "→"
    return "↑" if b > a else "↓"


class MetricPanel(Widget, can_focus=True):
    """A danger-banded sparkline for one metric."""

    DEFAULT_CSS = """
    MetricPanel { height: 5; border: round $panel-lighten-2; padding: 0 1; text-wrap: nowrap; text-overflow: ellipsis; }
    MetricPanel:light { border: round $panel-darken-1; }  /* lighten-2 of a light panel is the background */
    MetricPanel:focus { border: double $accent; }  /* not only a colour: the focus shows in any terminal */
    MetricPanel.-band-warn { border: round $warning; }
    MetricPanel.-band-danger { border: heavy $error; }
    MetricPanel.-band-critical { border: heavy $error; background: $error 15%; }
    MetricPanel > .band--ok { color: $success; }
    MetricPanel > .band--warn { color: $warning; }
    MetricPanel > .band--danger { color: $error; text-style: bold; }
    MetricPanel > .band--critical { color: $error; text-style: bold reverse; }
    MetricPanel > .band--none { color: $foreground; }
    MetricPanel > .metric--mark { color: $accent; }
    MetricPanel > .metric--title { text-style: bold; }
    MetricPanel > .metric--dim { text-style: dim; }
    """
    COMPONENT_CLASSES = {
        "band--ok",
        "band--warn",
        "band--danger",
        "band--critical",
        "band--none",
        "metric--mark",
        "metric--title",
        "metric--dim",
    }

    def __init__(self, key: str, title: str, *, id: str | None = None):
        super().__init__(id=id)
        self.key, self.title = key, title
        self.values = np.empty(0)
        self.steps = np.empty(0, dtype=np.int64)
        self.trend = " "
        self.range: tuple[float, float] | None = None
        self.mark_idx: list[int] = []
        self.thresholds = Thresholds()
        self.total: float | None = None
        self.label_extra = ""
        self.absent: str | None = None  # why this log can hold no value here (its format never logs it)
        self.current_band = "none"
        self.log_scale = False
        """Heights on a log10 scale (`y` toggles it); the title says `log`."""
        self.smoothed = True
        """The EMA drawn bright over faint raw bars (`S` toggles it, on every tile, as `s` in the compare
        view, which starts smoothed too)."""
        self._ema = TileEma()
        self._axis: tuple[int, float, float] | None = None  # (y gutter width, bottom, top) of the chart drawn
        self._lines: list[Text] | None = None
        self._lines_for: tuple | None = None  # (width, height, theme) the lines were made for

    def update_data(
        self,
        steps,
        values,
        mark_idx: list[int],
        thresholds: Thresholds,
        total: float | None = None,
        label_extra: str = "",
    ) -> None:
        # Copies (one memcpy each): the history's arrays keep growing while this frame is drawn.
        self.steps, self.values = np.array(steps, dtype=np.int64), np.array(values, dtype=np.float64)
        self.mark_idx = mark_idx
        self.thresholds, self.total, self.label_extra = thresholds, total, label_extra
        n = len(self.values)
        last = float(self.values[-1]) if n else math.nan
        cur = band(self.key, last, thresholds, total) if n else "none"
        self.current_band = cur if last == last or self.key == "loss" else "none"
        fin = self.values[np.isfinite(self.values)]
        self.range = (float(fin.min()), float(fin.max())) if len(fin) else None
        self.trend = trend(fin)
        for b in ("warn", "danger", "critical"):
            want = self.current_band == b
            if self.has_class(f"-band-{b}") != want:  # a class change restyles; skip it when nothing changed
                self.set_class(want, f"-band-{b}")
        self._repaint_changed_lines()

    def _repaint_changed_lines(self) -> None:
        """Repaint only the lines that differ from what is on screen. Each repainted line costs Textual's
        compositor about a millisecond here, and a frame usually changes the value line and, now and
        then, the sparkline: not the borders or the marks (measured: bench/README.md)."""
        w, h = self.content_size
        old = self._lines if self._lines_for == self._size_key() else None
        if not self.is_mounted or w <= 0 or old is None:
            self._lines = None
            self.refresh()
            return
        new = self._content()
        if len(new) != len(old):
            self.refresh()
            return
        changed = [
            Region(0, y, w, 1) for y, (a, b) in enumerate(zip(old, new)) if a.plain != b.plain or a.spans != b.spans
        ]
        if changed:
            self.refresh(*changed)

    def _size_key(self) -> tuple:
        return (*self.content_size, self.app.theme if self.is_mounted else None, self.log_scale, self.smoothed)

    def toggle_log_scale(self) -> None:
        self.log_scale = not self.log_scale
        self._lines = None
        self.refresh()

    def _style(self, name: str):
        return self.get_component_rich_style(name, partial=True)

    def render(self) -> Text:
        lines = self._lines if self._lines_for == self._size_key() else self._content()
        out = Text("\n").join(lines)
        out.no_wrap = True
        out.overflow = "ellipsis"
        return out

    def _content(self) -> list[Text]:
        """The content lines (value line, chart with its axes where they fit, marks, as many as fit), kept
        for the next diff."""
        width = max(10, self.content_size.width)
        height = self.content_size.height
        marks = height >= 3
        chart = self._chart(width, height - 1 - marks) if height >= 2 else []
        vals = self.values
        cur = float(vals[-1]) if len(vals) else None
        b = self.current_band
        head = self._head(cur, b, width, extra=True, label=True)
        if len(head) > width:  # the value line is one line: what does not fit is dropped, never wrapped
            head = self._head(cur, b, width, extra=False, label=True)
        if len(head) > width:
            head = self._head(cur, b, width, extra=False, label=False)
        head.truncate(width, overflow="ellipsis")
        for note in self._notes(height):  # each only where it fits, in this order
            if len(head) + len(note) <= width:
                head.append(note, self._style("metric--dim"))
        lines = [head, *chart]
        if marks:
            lines.append(self._marks(width))
        self._lines, self._lines_for = lines, self._size_key()
        return lines

    def _head(self, cur, b: str, width: int, *, extra: bool, label: bool) -> Text:
        """Title, value, trend and band: the chart row below must never get a wrapped half of it (at
        120x40 'memory RAM (process) ... ✓ ok' did, and pushed the sparkline out of the panel)."""
        head = Text()
        head.append(self.title, self._style("metric--title"))
        if self.log_scale:
            head.append(" log", self._style("metric--dim"))
        if self.label_extra and extra:
            head.append(f" {self.label_extra}", self._style("metric--dim"))
        head.append("  ")
        head.append(fmt_value(self.key, cur, self.total), self._style(f"band--{b}") if b != "none" else "")
        head.append(f" {self.trend}")
        if b != "none":
            head.append(f"  {SYMBOL[b]} {LABEL[b]}" if label else f" {SYMBOL[b]}", self._style(f"band--{b}"))
        return head

    def _notes(self, height: int) -> list[str]:
        """What the head adds where it has the room: the EMA's value, the axes of a one-row chart (it has
        no room beside or under it), the min and max."""
        notes = []
        ema = self._ema.last(self.values) if self.smoothed and not self.absent else None
        if ema is not None:
            notes.append(f"  ema {fmt_value(self.key, ema, self.total)}")
        if height == 2 and self._axis and len(self.steps):
            _, bottom, top = self._axis
            first, last = int(self.steps[0]), int(self.steps[-1])
            notes.append("  " + range_note(bottom, top, first, last, lambda v: axis_label(self.key, v)))
        if self.range and height >= 3:
            lo, hi = self.range
            notes.append(f"  min {fmt_value(self.key, lo, self.total)}  max {fmt_value(self.key, hi, self.total)}")
        return notes

    def plot_columns(self) -> tuple[int, int]:
        """(first column, width) of the chart in the content: right of its y labels where it has them."""
        width = max(10, self.content_size.width)
        gutter = self._axis[0] if self._axis else 0
        return gutter, width - gutter

    def _draw(self, width: int, rows: int):
        # An EMA needs a second row: in one, its cell and the raw bar's are the same.
        smooth = self._ema.columns(self.values, width) if self.smoothed and rows >= 2 else None
        return draw_scaled(
            self.values, self.key, width, rows, self.thresholds, self.total, log=self.log_scale, smooth=smooth
        )

    def _chart(self, width: int, rows: int) -> list[Text]:
        """The chart's rows, with the y range beside them where the tile has the room (tile_axes.py)."""
        self._axis = None
        drawn = self.absent or self._draw(width, rows)
        gutter = None
        if not isinstance(drawn, str):
            label = lambda v: axis_label(self.key, v)  # noqa: E731
            gutter = y_gutter(label(drawn.top), label(drawn.bottom), rows, width)
            if gutter:  # the chart narrowed to leave the labels their columns (its scale can move: again)
                drawn = self._draw(width - len(gutter[0]), rows)
                gutter = y_gutter(label(drawn.top), label(drawn.bottom), rows, width)
            self._axis = (len(gutter[0]) if gutter else 0, drawn.bottom, drawn.top)
        if isinstance(drawn, str):
            return [Text(drawn, self._style("metric--dim"))] + [Text("")] * (rows - 1)
        # One segment per run of equal band: a row is mostly one band, and every segment costs the
        # compositor a style lookup per frame.
        faint = self._style("metric--dim")
        out = []
        for i, runs in enumerate(drawn.rows):
            t = Text()
            if gutter:
                t.append(gutter[i], faint)  # a span: Text(..., style) would dim the whole row
            for b, chars in runs:
                style = self._style(f"band--{b.removesuffix(FAINT)}")
                t.append(chars, style + faint if b.endswith(FAINT) else style)
            out.append(t)
        return out

    def _marks(self, width: int) -> Text:
        """The row of marks (▲ where the operator or a guard acted), with the first and last step shown
        under the chart where the tile has its axes."""
        n = len(self.values)
        gutter = self._axis[0] if self._axis else 0
        plot = width - gutter
        cells = [" "] * min(plot, max(n, 1))
        for i in self.mark_idx:
            if 0 <= i < n:
                cells[bucket_of(i, n, plot)] = "▲"
        text = Text(" " * gutter)
        if self._axis and len(self.steps):
            axis = step_axis(cells, int(self.steps[0]), int(self.steps[-1]))
            for is_mark, run in groupby(zip(axis, cells), key=lambda cell: cell[1] != " "):  # a span per run
                text.append("".join(ch for ch, _ in run), self._style("metric--mark" if is_mark else "metric--dim"))
            return text
        text.append("".join(cells), self._style("metric--mark"))
        return text
