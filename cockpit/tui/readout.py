"""Where a mouse click lands on a chart, in steps, and which logged point it reads: the plotext charts'
(the zoom's, the compare view's) and the tiles' sparklines. Pure: no Textual.

A plotext chart's plot area lies between the corners of its frame (the y tick labels take the columns
to the left); plotext puts a step x at column `floor(0.5 + (cells - 1) * (x - lo) / (hi - lo))` of the
area, so a column maps back to a step within half a cell. The readout is exact all the same: it snaps to
the nearest logged step and prints that step's value.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_left
from collections.abc import Sequence

import numpy as np

from cockpit.logs.downsample import bucket_starts

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def plot_frame(built: str) -> tuple[int, int] | None:
    """(left, right): the columns of a built plotext figure's frame corners (`└`, `┘`); None without one
    (a chart with nothing drawn)."""
    for line in ANSI.sub("", built).splitlines():
        if "└" in line and "┘" in line:
            return line.index("└"), line.rindex("┘")
    return None


def step_at_column(column: int, frame: tuple[int, int] | None, x_range: tuple[float, float] | None) -> float | None:
    """The step under a column of the figure; None off the plot area (on the y labels, say)."""
    if frame is None or x_range is None:
        return None
    left, right = frame
    cells = right - left - 1
    if not left < column < right or cells < 2:
        return None
    lo, hi = x_range
    return lo + (column - left - 1) * (hi - lo) / (cells - 1)


def nearest(steps: Sequence[int], step: float) -> int | None:
    """Index of the logged step nearest `step` (ascending steps); None when there are none."""
    if not len(steps):
        return None
    i = bisect_left(steps, step)
    if i == 0:
        return 0
    if i == len(steps):
        return len(steps) - 1
    return i if steps[i] - step < step - steps[i - 1] else i - 1


def next_step(steps: Sequence[int], current: int | None, direction: int) -> int | None:
    """The logged step after (direction 1) or before (-1) `current`; the newest when there is none yet;
    `current` itself at either end."""
    if not len(steps):
        return None
    if current is None:
        return int(steps[-1])
    i = bisect_left(steps, current)
    if direction > 0:
        i = i + 1 if i < len(steps) and steps[i] == current else i
        return int(steps[min(i, len(steps) - 1)])
    return int(steps[max(i - 1, 0)])


def tile_point(values: Sequence[float], width: int, column: int, key: str) -> int | None:
    """Index of the point a sparkline's column draws (cockpit.tui.chart draws a bucket's max, the lr's
    min: the spike the eye goes to); None right of the last column or where nothing was logged."""
    v = np.asarray(values, dtype=np.float64)
    n = len(v)
    if n == 0 or column < 0 or column >= min(n, width):
        return None
    if n <= width:
        return column
    starts = bucket_starts(n, width)
    a = int(starts[column])
    b = int(starts[column + 1]) if column + 1 < width else n
    seg = v[a:b]
    if np.isnan(seg).all():
        return a
    lr = key == "learning_rate"
    pick = np.where(np.isnan(seg), np.inf if lr else -np.inf, seg)  # a NaN is a gap, never the pick
    return a + int(np.argmin(pick) if lr else np.argmax(pick))


def exact(v: float) -> str:
    """A value as logged, to six significant digits (the readout is for reading numbers off)."""
    return f"{v:.6g}" if math.isfinite(v) else str(v)
