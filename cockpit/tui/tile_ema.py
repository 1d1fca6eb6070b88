"""The EMA a metric tile draws over its raw bars: the compare view's and the report's smoothing
(cockpit.report.charts: debiased, a twentieth of the run up to 50 points, none under 40 points).

A tile redraws every frame and a run has 1,000,000 points: its finite values are kept and only the points
logged since the last frame are added (the whole run again when the values are not the ones before plus
new ones: a replay's cursor moved back), and the EMA is computed at the columns drawn only, each from the
last points whose weight still counts (`TileEma._ema_at`)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from cockpit.logs.downsample import bucket_starts
from cockpit.report.charts import smooth_span

TAIL_DECADES = 24
"""How far back a point's EMA is summed: until the weights fall to 1e-24 of the newest's (for the
longest span, 50 points, the last ~1,400 values)."""


def column_ends(n: int, width: int) -> np.ndarray:
    """Index of the last of n points in each column of a chart `width` columns wide (a column per point
    when they fit), the columns cockpit.logs.downsample.buckets makes."""
    if n <= width:
        return np.arange(n, dtype=np.int64)
    return np.append(bucket_starts(n, width)[1:], n) - 1


class Growing:
    """An array that grows at its end in a buffer with room to spare: a frame's few new points do not copy
    the run (a concatenate of three 100,000-point arrays cost a millisecond a frame)."""

    def __init__(self, a: np.ndarray) -> None:
        self.buf, self.n = a, len(a)

    @property
    def view(self) -> np.ndarray:
        return self.buf[: self.n]

    def extend(self, new: np.ndarray) -> None:
        if len(self.buf) < self.n + len(new):
            buf = np.empty(max(2 * (self.n + len(new)), 64), dtype=self.buf.dtype)
            buf[: self.n] = self.view
            self.buf = buf
        self.buf[self.n : self.n + len(new)] = new
        self.n += len(new)


class TileEma:
    """One tile's EMA, kept from frame to frame: the finite values and where they are grow with the run, and
    the EMA is computed only where a frame asks for it (a column's last point)."""

    def __init__(self) -> None:
        self.n = 0  # the values seen, finite or not
        self.first = self.newest = np.nan  # the first and the newest of them: the same run, grown?
        self.span = 0.0
        self._pos = Growing(np.empty(0, dtype=np.int64))  # where the finite values are
        self._fin = Growing(np.empty(0))  # the finite values
        self.lo, self.hi = np.inf, -np.inf  # the least and the greatest of them

    def _update(self, v: np.ndarray) -> None:
        tail = v[self.n :]
        same = lambda a, b: a == b or (a != a and b != b)  # noqa: E731  (NaN is NaN here)
        grown = 0 < self.n <= len(v) and same(v[0], self.first) and same(v[self.n - 1], self.newest)
        if not grown:  # the whole run (again)
            ok = np.isfinite(v)
            fin = v[ok]
            self._pos, self._fin = Growing(np.flatnonzero(ok)), Growing(fin)
            self.lo, self.hi = (float(fin.min()), float(fin.max())) if len(fin) else (np.inf, -np.inf)
        else:
            ok = np.isfinite(tail)
            fin = tail[ok]
            if len(fin):
                self._pos.extend(self.n + np.flatnonzero(ok))
                self._fin.extend(fin)
                self.lo, self.hi = min(self.lo, float(fin.min())), max(self.hi, float(fin.max()))
        self.span = smooth_span(self._fin.n)
        self.n, self.first, self.newest = len(v), v[0] if len(v) else np.nan, v[-1] if len(v) else np.nan

    def _ema_at(self, q: np.ndarray) -> np.ndarray:
        """The debiased EMA of the finite values at their indexes q, as `cockpit.report.charts.ema_at` has
        it: alpha * sum_{j<=i} d^(i-j) x_j over the weight 1 - d^(i+1). Each from the last values before
        it whose weights reach 1e-TAIL_DECADES of the newest's, no further: what lies beyond changes no
        digit a chart or a test can tell, and a frame then costs its columns x ~1,400 points, where the
        EMA of a million-point run in full cost 77 ms a tile (12 tiles: 0.9 s of a replay's first frame)."""
        fin = self._fin.view
        d = 1.0 - 2.0 / (self.span + 1.0)
        if d <= 0.0:
            return fin[q]
        k = min(len(fin), math.ceil(TAIL_DECADES / -math.log10(d)))
        back = np.arange(k)
        idx = q[:, None] - back[None, :]
        vals = np.where(idx >= 0, fin[np.maximum(idx, 0)], 0.0)
        return (1.0 - d) * (vals @ (d**back)) / (1.0 - d ** (q + 1.0))

    def columns(self, values: Sequence[float], width: int) -> list[float] | None:
        """The EMA at the end of each column; NaN before the first finite value; None when the run is too
        short to smooth (every point is worth seeing) or there is nothing to draw."""
        v = np.asarray(values, dtype=np.float64)
        self._update(v)
        if self.span <= 1 or width <= 0:
            return None
        ends = column_ends(len(v), width)
        last = np.searchsorted(self._pos.view, ends, side="right") - 1  # the finite value at or before each end
        out = np.full(len(ends), np.nan)
        have = last >= 0
        # An average lies within the values: the clip drops the debiasing's rounding (a constant lr's EMA a
        # hair above it drew the lr a level below the chart's top, a constant memory's as a full-height wall).
        out[have] = np.clip(self._ema_at(last[have]), self.lo, self.hi)
        return out.tolist()

    def last(self, values: Sequence[float]) -> float | None:
        """The EMA at the newest point (the tile's head says it beside the raw value); None as columns."""
        e = self.columns(values, 1)
        return e[0] if e and e[0] == e[0] else None


def tile_ema(values: Sequence[float], width: int) -> list[float] | None:
    """`TileEma.columns` once, nothing kept."""
    return TileEma().columns(values, width)
