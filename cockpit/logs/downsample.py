"""Fit a long series into a few dozen cells, or a chart's few hundred points, without averaging a spike
away: each bucket keeps its min and max.

Vectorised: a sparkline is redrawn every frame, and a long run has 100,000+ points per metric."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np

from cockpit.logs.columns import finite


def bucket_starts(n: int, width: int) -> np.ndarray:
    """Index of the first of n points in each of `width` buckets of (nearly) equal size."""
    return (np.arange(width, dtype=np.int64) * n) // width


def buckets(values: Sequence[float], width: int) -> list[tuple[float, float]]:
    """(min, max) of each of `width` buckets over the finite values; NaN buckets stay (nan, nan); a
    bucket holding an inf reports max inf. The sparkline draws the extreme that matters (the max for
    loss and grad_norm)."""
    v = np.asarray(values, dtype=np.float64)
    n = len(v)
    if n == 0 or width <= 0:
        return []
    if n <= width:
        return [(x, x) for x in v.tolist()]
    starts = bucket_starts(n, width)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        lo = np.fmin.reduceat(v, starts)  # fmin/fmax skip NaN unless the whole bucket is NaN
        hi = np.fmax.reduceat(v, starts)
    hi[np.logical_or.reduceat(np.isinf(v), starts)] = np.inf
    return list(zip(lo.tolist(), hi.tolist()))


def bucket_of(index: int, n: int, width: int) -> int:
    """Which bucket the point at `index` (of n) falls in."""
    if n <= width:
        return index
    return min(width - 1, index * width // n)


def minmax_points(steps, values, n: int) -> tuple[list[int], list[float]]:
    """At most n finite (step, value) points for a chart: the min and max of each of n/2 buckets, in step
    order, so a spike survives in a long run's chart."""
    st, v = finite(steps, values)
    if len(v) <= n:
        return st.tolist(), v.tolist()
    edges = np.append(bucket_starts(len(v), n // 2), len(v)).tolist()
    keep: list[int] = []
    for a, b in zip(edges[:-1], edges[1:]):
        if b > a:
            seg = v[a:b]
            keep.extend(sorted({a + int(seg.argmin()), a + int(seg.argmax())}))
    return st[keep].tolist(), v[keep].tolist()
