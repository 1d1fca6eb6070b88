"""The EMA a metric tile draws over its raw bars: the compare view's and the report's smoothing
(cockpit.report.charts: debiased, a twentieth of the run up to 50 points, none under 40 points).

A tile redraws every frame and a run has 100,000+ points: the EMA of every finite point is kept and only
the points logged since the last frame are added (the whole run again only when the span changes, under
1,000 points, or the values are not the ones before plus new ones: a replay's cursor moved back)."""

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


class TileEma:
    """One tile's EMA, kept from frame to frame."""

    def __init__(self) -> None:
        self.span = 0.0
        self.fin = np.empty(0)  # the finite values it was computed on
        self.ema = np.empty(0)  # the debiased EMA at each of them

    def _update(self, fin: np.ndarray) -> None:
        span, k = smooth_span(len(fin)), len(self.fin)
        grown = span == self.span and k <= len(fin) and (k == 0 or fin[k - 1] == self.fin[-1] and fin[0] == self.fin[0])
        if not grown:
            self.span, self.fin, self.ema = span, fin, ema_at(fin, span, np.arange(len(fin)))
            return
        if k == len(fin):
            return
        # The new points' EMA from a fresh start, plus the average so far decayed over them, debiased as one.
        d = 1.0 - 2.0 / (span + 1.0)
        i = np.arange(len(fin) - k)
        fresh = ema_at(fin[k:], span, i) * (1.0 - d ** (i + 1.0))
        before = self.ema[-1] * (1.0 - d**k) if k else 0.0
        new = (d ** (i + 1.0) * before + fresh) / (1.0 - d ** (k + i + 1.0))
        self.fin, self.ema = fin, np.concatenate([self.ema, new])

    def columns(self, values: Sequence[float], width: int) -> list[float] | None:
        """The EMA at the end of each column; NaN before the first finite value; None when the run is too
        short to smooth (every point is worth seeing) or there is nothing to draw."""
        v = np.asarray(values, dtype=np.float64)
        ok = np.isfinite(v)
        fin = v[ok]
        if smooth_span(len(fin)) <= 1 or width <= 0:
            return None
        self._update(fin)
        ends = column_ends(len(v), width)
        # The finite value at or before each column's end (a cumsum of `ok` cost 2 ms a frame at 100,000).
        last = np.searchsorted(np.flatnonzero(ok), ends, side="right") - 1
        out = np.full(len(ends), np.nan)
        have = last >= 0
        # An average lies within the values: the clip drops the debiasing's rounding (a constant lr's EMA a
        # hair above it drew the lr a level below the chart's top, a constant memory's as a full-height wall).
        out[have] = np.clip(self.ema[last[have]], fin.min(), fin.max())
        return out.tolist()

    def last(self, values: Sequence[float]) -> float | None:
        """The EMA at the newest point (the tile's head says it beside the raw value); None as columns."""
        e = self.columns(values, 1)
        return e[0] if e and e[0] == e[0] else None


def tile_ema(values: Sequence[float], width: int) -> list[float] | None:
    """`TileEma.columns` once, nothing kept."""
    return TileEma().columns(values, width)
