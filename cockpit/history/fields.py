"""How the History reads one field of an event it folds: a step, a time, a list. Events may come from a
file nobody here wrote, or be made in memory, so each is checked again rather than trusted."""

from __future__ import annotations

from typing import Any

from cockpit.rundir import step_ok


def event_step(x: Any) -> int | None:
    """A step as int, or None when absent or absurd (the readers skip such events; History is also fed
    events made in memory, so it checks again rather than raise OverflowError on int(2**70))."""
    return int(x) if x is not None and step_ok(x) else None


MAX_TIME = 1e11
"""Unix times from 1970 to the year 5138: a `t` outside is missing (datetime cannot show 1e15, and a
report or a clock would raise on it)."""


def event_time(x: Any) -> float | None:
    """An event's `t` as a float, or None (missing, a word, NaN, negative, past MAX_TIME)."""
    if type(x) is float or type(x) is int:
        return float(x) if 0 <= x < MAX_TIME else None  # NaN fails the comparison
    return None


def list_or_none(x: Any) -> list[Any] | None:
    return x if type(x) is list else None


def strictly_increasing_ints(steps: list[Any], after: int | None) -> bool:
    if not all(map(int.__instancecheck__, steps)) or any(map(bool.__instancecheck__, steps)):
        return False
    prev = after if after is not None else -1
    return steps[0] > prev and all(map(int.__lt__, steps, steps[1:]))
