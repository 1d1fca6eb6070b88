"""Durations as people read them: a clock for what is running, a span for what is done.

An unknown duration (None, NaN, infinite or negative) is shown as such, never as a number.
"""

from __future__ import annotations

import math


def _known(seconds: float | None) -> bool:
    return seconds is not None and math.isfinite(seconds) and seconds >= 0


def clock(seconds: float | None) -> str:
    """`1:02:03`, or `02:03` under an hour (elapsed time, ETA); `--:--` when unknown."""
    if not _known(seconds):
        return "--:--"
    h, rem = divmod(int(seconds), 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


def span(seconds: float | None, *, seconds_past_an_hour: bool = True) -> str:
    """`1h02m03s`, or `2m03s` under an hour; `-` when unknown. `seconds_past_an_hour=False` gives `1h02m`
    where the seconds of a long span are noise (a table of runs)."""
    if not _known(seconds):
        return "-"
    h, rem = divmod(int(seconds), 3600)
    m, s = divmod(rem, 60)
    if not h:
        return f"{m}m{s:02d}s"
    return f"{h}h{m:02d}m{s:02d}s" if seconds_past_an_hour else f"{h}h{m:02d}m"
