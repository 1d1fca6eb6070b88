"""Fit a long series into a few dozen cells without averaging a spike away: each bucket keeps its
min and max, and the sparkline draws the extreme that matters (the max for loss/grad_norm).

Vectorised: a sparkline is redrawn every frame, and a long run has 100,000+ points per metric."""

from __future__ import annotations

import warnings
from typing import Sequence

import numpy as np


def buckets(values: Sequence[float], width: int) -> list[tuple[float, float]]:
    """(min, max) of each of `width` buckets over the finite values; NaN buckets stay (nan, nan); a
    bucket holding an inf reports max inf."""
    v = np.asarray(values, dtype=np.float64)
    n = len(v)
    if n == 0 or width <= 0:
        return []
    if n <= width:
        return [(x, x) for x in v.tolist()]
    starts = (np.arange(width, dtype=np.int64) * n) // width
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
