"""What the cockpit's metric panels are given beyond their series: where the marks fall, and whether a
field was never logged. Pure: no Textual."""

from __future__ import annotations

import bisect

from cockpit.history import History


def mark_indices(steps, mark_steps: list[int]) -> list[int]:
    """Positions in `steps` of each mark's step (the nearest logged step at or after it)."""
    out = []
    n = len(steps)
    for s in mark_steps:
        i = bisect.bisect_left(steps, s)
        if i < n:
            out.append(i)
        elif n:
            out.append(n - 1)
    return out


def never_logged(h: History, key: str) -> str | None:
    """'not logged' for a loss or grad_norm this log has no value of (an older Trainer's console logs no
    grad_norm): their NaN is otherwise drawn as an alarm, here a blank chart. The column is looked at
    only when its last value is missing."""
    col = h.series.get(key)
    if not col or col[-1] == col[-1] or h.nonfinite.get(key):
        return None
    import numpy as np

    return None if np.isfinite(np.frombuffer(col, dtype=np.float64)).any() else "not logged"
