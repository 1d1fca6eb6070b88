"""Fit a long series into a few dozen cells without averaging a spike away: each bucket keeps its
min and max, and the sparkline draws the extreme that matters (the max for loss/grad_norm)."""

from __future__ import annotations

import math
from typing import Sequence


def buckets(values: Sequence[float], width: int) -> list[tuple[float, float]]:
    """(min, max) of each of `width` buckets over the finite values; NaN buckets stay (nan, nan)."""
    n = len(values)
    if n == 0 or width <= 0:
        return []
    if n <= width:
        return [(v, v) for v in values]
    out = []
    for b in range(width):
        lo, hi = b * n // width, (b + 1) * n // width
        seg = [v for v in values[lo:hi] if not math.isnan(v)]
        if any(math.isinf(v) for v in seg):
            out.append((min(seg), math.inf))
        elif seg:
            out.append((min(seg), max(seg)))
        else:
            out.append((math.nan, math.nan))
    return out


def bucket_of(index: int, n: int, width: int) -> int:
    """Which bucket the point at `index` (of n) falls in."""
    if n <= width:
        return index
    return min(width - 1, index * width // n)
