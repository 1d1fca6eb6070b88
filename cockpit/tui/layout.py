"""How tall the charts are for a terminal's size. Pure: the screen applies it on every resize.

The charts take what the panels below them can spare: at 80x24 one row each (every metric keeps its
chart), 3 rows at 120x40, 4 at 160x48, 6 at 200x60, and on upwards.
"""

from __future__ import annotations

from dataclasses import dataclass

COMPACT_BELOW = (120, 34)
"""Narrower or shorter than this: the compact layout (loss across the width, then two rows of three)."""


@dataclass(frozen=True)
class ChartLayout:
    compact: bool
    chart_rows: int
    """Rows of each metric's chart."""
    panel_height: int
    """A metric panel: border, value line, chart, and the row of marks unless there is no room."""
    grid_rows: int

    @property
    def metrics_height(self) -> int:
        return self.panel_height * self.grid_rows


def chart_layout(width: int, height: int) -> ChartLayout:
    compact = width < COMPACT_BELOW[0] or height < COMPACT_BELOW[1]
    if compact:
        rows = max(1, (height - 24) // 5 + 1)
        marks = rows > 1  # at 80x24 the row of marks gives way to the log
        return ChartLayout(True, rows, 2 + 1 + rows + marks, 3)
    rows = max(2, (height - 18) // 7)
    return ChartLayout(False, rows, 2 + 1 + rows + 1, 2)
