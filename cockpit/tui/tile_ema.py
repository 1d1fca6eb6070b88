"""The EMA a metric tile draws over its raw bars: the compare view's and the report's smoothing
(cockpit.report.charts: debiased, a twentieth of the run, none under 40 points), taken at the last point of
each column so a frame costs one pass over the values, not one per column."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from cockpit.logs.downsample import bucket_starts
from cockpit.report.charts import ema_at, smooth_span


def column_ends(n: int, width: int) -> np.ndarray:
    """Index of the last of n points in each column of a chart `width` columns wide (a column per point
    when they fit), the columns cockpit.logs.downsample.buckets makes."""
    if n <= width:
        return np.arange(n, dtype=np.int64)
    return np.append(bucket_starts(n, width)[1:], n) - 1


def tile_ema(values: Sequence[float], width: int) -> list[float] | None:
    """The EMA at the end of each column; NaN before the first finite value; None when the run is too short
    to smooth (every point is worth seeing) or there is nothing to draw."""
    v = np.asarray(values, dtype=np.float64)
    ok = np.isfinite(v)
    fin = v[ok]
    span = smooth_span(len(fin))
    if span <= 1 or width <= 0:
        return None
    ends = column_ends(len(v), width)
    last = np.cumsum(ok)[ends] - 1  # the finite value at or before each column's end
    out = np.full(len(ends), np.nan)
    have = last >= 0
    # An average lies within the values: the clip drops the debiasing's rounding (a constant lr's EMA a
    # hair above it drew the lr a level below the chart's top, a constant memory's as a full-height wall).
    out[have] = np.clip(ema_at(fin, span, last[have]), fin.min(), fin.max())
    return out.tolist()


def last_ema(values: Sequence[float]) -> float | None:
    """The EMA at the newest point (the tile's head says it beside the raw value); None as tile_ema."""
    e = tile_ema(values, 1)
    return e[0] if e and e[0] == e[0] else None
