"""The compare view's readout: every series a chart shows, read at one step (a click's, or the cursor's
that `<` and `>` move), each at its logged point nearest that step: runs log at steps of their own and
evaluate at others, so each value says its own step where it is not the one asked."""

from __future__ import annotations

import math

from rich.text import Text

from cockpit.report.charts import Chart, Line
from cockpit.tui.compare_charts import run_color
from cockpit.tui.readout import exact, nearest


def _points(ln: Line, shown: tuple[float, float] | None) -> list[int]:
    """Indices of the line's finite points inside the window (a gap is no reading)."""
    return [
        i
        for i, (s, v) in enumerate(zip(ln.steps, ln.values))
        if math.isfinite(v) and (shown is None or shown[0] <= s <= shown[1])
    ]


def logged_steps(chart: Chart, runs: list[int], shown: tuple[float, float] | None) -> list[int]:
    """Every step some shown series of the chart logged inside the window, ascending: where a readout
    can stand."""
    return sorted({ln.steps[i] for ln in chart.lines if ln.run in runs for i in _points(ln, shown)})


def read_at(
    chart: Chart, runs: list[int], shown: tuple[float, float] | None, step: int, smoothed: bool
) -> list[tuple[Line, int, float, float | None]]:
    """(line, its step nearest `step`, the value logged there, the EMA there when shown) per shown series."""
    out = []
    for ln in chart.lines:
        if ln.run not in runs:
            continue
        idx = _points(ln, shown)
        at = nearest([ln.steps[i] for i in idx], step)
        if at is None:
            continue
        i = idx[at]
        ema = ln.smooth[i] if smoothed and ln.smooth else None
        out.append((ln, ln.steps[i], ln.values[i], ema))
    return out


def readout_text(title: str, step: int, readings, labels: list[str]) -> Text:
    """`loss at step 120: ■ lr-5e-05 1.2345 (EMA 1.25) ■ lr-2e-4 1.301 @118`, each run in its colour."""
    t = Text()
    t.append(f"{title} at step {step}:", style="bold")
    if not readings:
        t.append(" no value logged here", style="dim")
    for ln, s, v, ema in readings:
        t.append(" ■", style=run_color(ln.run))
        label = labels[ln.run] if ln.run < len(labels) else str(ln.run)
        t.append(f" {label}{' eval' if ln.kind == 'eval' else ''} ")
        t.append(exact(v), style="bold")
        if ema is not None and math.isfinite(ema):
            t.append(f" (EMA {exact(ema)})", style="dim")
        if s != step:
            t.append(f" @{s}", style="dim")
    t.append("  (< > move, 0 clears)", style="dim")
    return t
