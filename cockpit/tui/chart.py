"""A metric's chart as rows of text: one column per bucket of steps, bars in eighths of a cell coloured by
their band, and the band thresholds drawn across the chart as dotted lines when the data come near them.
Pure: no Textual (the panel turns band names into the theme's colours).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from cockpit.bands import LINE_SEVERITY, band, worst
from cockpit.bands import lines as band_lines
from cockpit.logs.downsample import buckets
from cockpit.thresholds import Thresholds

BARS = "▁▂▃▄▅▆▇█"
LINE = "┈"
"""A threshold across the chart, in the cells above the bars."""
NAN_ALARMS = ("loss", "grad_norm")
"""Metrics whose NaN is drawn as an alarm (the trainer logs a non-finite loss or grad_norm as NaN); any
other metric's NaN is a step that did not log it."""
NEAR = 0.5
"""A threshold above the data is drawn (the chart's top raised to it) once the data reach this share of
it: a run approaching its danger band shows the band, a quiet one keeps its resolution."""

Run = tuple[str, str]
"""(band, text): consecutive cells of one band, the unit a row is styled in. A band name ending in FAINT is
drawn faint: the raw values under their EMA."""
FAINT = "~"
EMA_MARKS = "▁▁▁───▔▔"
"""The EMA's cell where it stands above the raw bar, by its height within the cell (in eighths)."""


@dataclass(frozen=True)
class Drawn:
    """A chart's rows and the values its bottom and top row stand for (the tile's y axis)."""

    rows: list[list[Run]]
    bottom: float
    top: float


def threshold_lines(key: str, th: Thresholds, total: float | None = None) -> list[tuple[float, str]]:
    """(value, band) of each threshold worth a line on this metric's charts (the panel's and the zoom's)."""
    return [(v, LINE_SEVERITY[name]) for v, name in band_lines(key, th, total)]


def log_position(v: float) -> float:
    """A value's height on a log-scale chart: its log10; NaN (a gap) for a value a log axis cannot hold."""
    return math.log10(v) if v > 0 else math.nan


def draw(*args, **kw) -> list[list[Run]] | str:
    """`draw_scaled`'s rows alone (the tests' and any caller's that needs no axis)."""
    drawn = draw_scaled(*args, **kw)
    return drawn if isinstance(drawn, str) else drawn.rows


def draw_scaled(
    values: Sequence[float],
    key: str,
    width: int,
    rows: int,
    th: Thresholds,
    total: float | None = None,
    *,
    log: bool = False,
    smooth: Sequence[float] | None = None,
) -> Drawn | str:
    """The chart's rows, top first, each a list of runs, with the values its bottom and top stand for; or a
    word when there is nothing to draw. `log`: heights on a log10 scale (bands still judged on the values
    themselves). `smooth`: an EMA per column (tile_ema.py): the raw bars then drawn faint and the EMA
    bright, one cell per column (the scale holds both)."""
    bk = buckets(values, width)
    if not bk:
        return "waiting for data…"
    # Each bucket's max (its min for the lr, which only falls): a spike must never be averaged away.
    pick = [hi if key != "learning_rate" else lo for lo, hi in bk]
    fin = [v for v in pick if math.isfinite(v)]
    if not fin and not any(math.isinf(v) for v in pick) and key not in NAN_ALARMS:
        return "not logged"  # a field this log never has (entropy in a trainer_state.json)
    if log:
        fin = [log_position(v) for v in fin if v > 0]
        if not fin:
            return "no value above 0: none on a log scale"
    ema = [(log_position(e) if log else e) if math.isfinite(e) else math.nan for e in smooth or ()]
    fin_ema = [e for e in ema if math.isfinite(e)]
    lo, hi = (min(fin + fin_ema), max(fin + fin_ema)) if fin else (0.0, 1.0)
    th_lines = threshold_lines(key, th, total)
    if log:
        th_lines = [(log_position(t), b) for t, b in th_lines if t > 0]
    lines = []
    if rows >= 2:  # one row has no room for a line: its bars' colours say the band
        top = hi  # the data's: a raised top must not bring the next threshold in with it
        for t, _band in th_lines:
            if t > top and (top >= NEAR * t if not log else top >= t + math.log10(NEAR)):
                hi = max(hi, t)
        lines = [(t, b) for t, b in th_lines if lo < t <= hi]
    span = hi - lo or 1.0
    levels = rows * len(BARS)
    cols: list[tuple[int, str]] = []  # (eighths filled, band); -1: a full alarm column, 0: a gap
    for (blo, bhi), v in zip(bk, pick):
        if math.isnan(v) and key not in NAN_ALARMS:
            cols.append((0, "none"))  # a step that did not log this field: a gap, not an alarm
        elif math.isnan(v) or math.isinf(v):
            cols.append((-1, "critical"))
        elif log and v <= 0:
            cols.append((0, "none"))  # below a log axis: a gap
        else:
            at = log_position(v) if log else v
            eighths = 1 + int((at - lo) / span * (levels - 1)) if fin else 1
            cols.append((max(1, min(eighths, levels)), worst([band(key, bhi, th, total), band(key, blo, th, total)])))
    line_at = {min(rows - 1, int((t - lo) / span * rows)): b for t, b in sorted(lines)}
    # The EMA's height in eighths per column (0: none there); faint raw bars only where an EMA is drawn.
    ema_at = [1 + int((e - lo) / span * (levels - 1)) if math.isfinite(e) else 0 for e in ema] or [0] * len(cols)
    out = []
    for r in range(rows - 1, -1, -1):  # r: the row's index from the bottom
        runs: list[Run] = []
        for (eighths, b), v, e in zip(cols, pick, ema_at):
            if eighths < 0:
                ch = "!" if key == "loss" and math.isnan(v) and r == 0 else ("█" if math.isinf(v) else " ")
            else:
                fill = min(8, max(0, eighths - 8 * r))
                ch = BARS[fill - 1] if fill else (LINE if r in line_at else " ")
                if not fill and r in line_at:
                    b = line_at[r]
                if e and (e - 1) // 8 == r:  # the EMA's cell: bright; the raw bar's char where it reaches higher
                    ch = ch if fill > (e - 1) % 8 else EMA_MARKS[(e - 1) % 8]
                elif e and b != "none":
                    b += FAINT
            if runs and runs[-1][0] == b:
                runs[-1] = (b, runs[-1][1] + ch)
            else:
                runs.append((b, ch))
        out.append(runs)
    bottom, top = (10**lo, 10**hi) if log else (lo, hi)
    return Drawn(out, bottom, top)
