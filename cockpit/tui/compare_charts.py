"""One overlaid chart of the compare view, drawn with plotext: a colour per run (the run list's), only
the runs switched on, only the steps the window shows, the y axis fitted to them.

The lines come from cockpit.compare's charts (the report's overlay, the same data); this only draws."""

from __future__ import annotations

import math

from cockpit.report.charts import Chart
from cockpit.report.units import round_y_axis, step_axis

RUN_COLORS = ("#4e9df5", "#f0564a", "#3fbf5f", "#c08cf0", "#f5a623", "#2ec4c4", "#e377c2", "#b8a04a")
"""A run's colour in the list and on every chart; light enough for a dark terminal, dark enough for a
light one."""
BAND_COLORS = {"danger": (245, 140, 40), "critical": (230, 50, 50)}
"""grad_norm's explosion-precursor and explosion bounds, drawn as lines where the data come near them."""


def run_color(i: int) -> str:
    return RUN_COLORS[i % len(RUN_COLORS)]


def rgb(hex_color: str) -> tuple[int, int, int]:
    h = hex_color.lstrip("#")
    return (int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16))


def visible_points(
    chart: Chart, run: int, shown: tuple[float, float] | None, smoothed: bool
) -> list[tuple[list[int], list[float], str]]:
    """(steps, values, kind) of each of the run's lines in the window: the EMA when asked and computed,
    finite values only, positive ones on a log axis."""
    out = []
    for ln in chart.lines:
        if ln.run != run:
            continue
        ys = ln.smooth if smoothed and ln.smooth else ln.values
        pts = [
            (s, y)
            for s, y in zip(ln.steps, ys)
            if math.isfinite(y) and (y > 0 or not chart.log_y) and (shown is None or shown[0] <= s <= shown[1])
        ]
        if pts:
            out.append(([p[0] for p in pts], [p[1] for p in pts], ln.kind))
    return out


CURSOR_COLOR = (150, 150, 150)
"""The readout cursor's line: grey, a colour no run has."""


def draw(
    plt,
    chart: Chart,
    title: str,
    runs: list[int],
    shown: tuple[float, float] | None,
    smoothed: bool,
    cursor: int | None = None,
) -> int:
    """Draw `chart` on a plotext figure for the runs in `runs`, a vertical line at the readout's step
    `cursor`; the number of points drawn."""
    plt.clear_figure()
    plt.title(title)
    n, bottom, top, first, last = 0, math.inf, -math.inf, math.inf, -math.inf
    for run in runs:
        color = rgb(run_color(run))
        for xs, ys, kind in visible_points(chart, run, shown, smoothed):
            if kind == "eval" or len(xs) == 1:
                plt.plot(xs, ys, marker="dot", color=color)  # sparse: each evaluation a dot
            else:
                plt.plot(xs, ys, marker="braille", color=color)
            n += len(xs)
            bottom, top, first, last = min(bottom, *ys), max(top, *ys), min(first, xs[0]), max(last, xs[-1])
    if n:
        lines = [b for b in chart.bands if b.severity in BAND_COLORS and b.lo <= top * 1.5]
        for band in lines:
            plt.hline(band.lo, BAND_COLORS[band.severity])
        edges = [b.lo for b in lines]
        round_y_axis(plt, min([bottom, *edges]), max([top, *edges]), chart.log_y, chart.unit)
    if shown is not None and shown[1] > shown[0]:
        plt.xlim(shown[0], shown[1])
        first, last = shown
    if n and last > first:
        step_axis(plt, first, last)
    if n and cursor is not None and first <= cursor <= last:
        plt.vline(cursor, CURSOR_COLOR)
    return n
