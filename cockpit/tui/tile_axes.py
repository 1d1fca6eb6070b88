"""A metric tile's axes, where it has the room: the y range beside the chart's top and bottom rows and the
first and last step of the shown steps under it, in the row of marks; in one line of text (the head's)
where the chart is a single row. Pure: no Textual (the tile styles the strings)."""

from __future__ import annotations

from collections.abc import Callable

MIN_PLOT = 16
"""Columns the chart keeps beside its y labels: narrower, and the tile draws no y axis."""
TICK, RULE = "┤", "│"


def y_gutter(top: str, bottom: str, rows: int, width: int) -> list[str] | None:
    """The y axis, one string per chart row (top first), all as wide: the top value beside the top row, the
    bottom value beside the bottom row; None where the tile has not the rows or the columns for it."""
    label = max(len(top), len(bottom))
    if rows < 2 or width - label - 1 < MIN_PLOT:
        return None
    mid = [" " * label + RULE] * (rows - 2)
    if top == bottom:  # a flat line: one value, said once, beside its bars
        return [" " * label + RULE, *mid, bottom.rjust(label) + TICK]
    return [top.rjust(label) + TICK, *mid, bottom.rjust(label) + TICK]


def step_label(step: int) -> str:
    return f"{step:,}"


def step_axis(cells: list[str], first: int, last: int) -> list[str]:
    """The row of marks with the first step under the chart's first column and the last one ending under
    its last column. A label never covers a mark (the newest operator action is at the right end): it
    moves inward past the marks it would cover, never past one beyond them (under another mark it would
    read as that mark's step), and is left out where it cannot fit."""
    out = list(cells)
    taken = [c != " " for c in cells]

    def place(text: str, start: int, direction: int) -> None:
        n = len(text)
        # the marks it may move past: those under it or right beside it where it belongs
        if direction < 0:  # the last label: right of every mark further left
            lo = max((i for i in range(start - 1) if taken[i]), default=-2) + 2
            starts = range(start, lo - 1, -1)
        else:  # the first label: left of every mark further right
            hi = min((i for i in range(start + n + 1, len(out)) if taken[i]), default=len(out) + 1) - 1
            starts = range(start, hi - n + 1)
        for s in starts:
            if 0 <= s and s + n <= len(out) and not any(taken[max(0, s - 1) : s + n + 1]):  # a space either side
                out[s : s + n] = text
                taken[s : s + n] = [True] * n
                return

    place(step_label(first), 0, 1)
    if last != first:
        label = step_label(last)
        place(label, len(out) - len(label), -1)
    return out


def range_note(bottom: float, top: float, first: int | None, last: int | None, fmt: Callable[[float], str]) -> str:
    """The axes as words for a chart of one row (80x24): `y 0.53–2.41  steps 17–1,200`."""
    text = f"y {fmt(bottom)}–{fmt(top)}"
    if first is not None and last is not None:
        text += f"  steps {step_label(first)}–{step_label(last)}"
    return text
