"""The readout on the cockpit's tiles: a click on a tile (or `<` `>` on the focused one) says the exact
step and value its sparkline draws in that column, and the wheel over a tile opens its zoom zoomed in
around the step under the pointer. Mixed into the cockpit screen: the tiles (widgets/metric.py) stay
as they are, the screen reads the mouse over them."""

from __future__ import annotations

from textual import events
from textual.errors import NoWidget

from cockpit.tui.readout import exact, tile_point
from cockpit.tui.widgets.metric import MetricPanel, fmt_value


def chart_width(panel: MetricPanel) -> int:
    """The columns of the tile's chart (right of its y labels): the chart's buckets."""
    return panel.plot_columns()[1]


def column_point(panel: MetricPanel, column: int) -> tuple[int, float, int, int] | None:
    """(step, value, first step, last step of the column) of the point the tile's column draws; None
    where the tile draws nothing (right of its last point, or a metric its log never has)."""
    n = min(len(panel.values), len(panel.steps))
    if panel.absent or not n:
        return None
    width = chart_width(panel)
    i = tile_point(panel.values[:n], width, column, panel.key)
    if i is None:
        return None
    first = last = i
    if n > width:  # the column is a bucket of steps: say which
        first, last = column * n // width, min(n, (column + 1) * n // width) - 1
    return int(panel.steps[i]), float(panel.values[i]), int(panel.steps[first]), int(panel.steps[last])


def reading(panel: MetricPanel, column: int) -> str | None:
    """`step 1,234: 2.34567 (1.23 as the tile reads it), the highest of steps 1,200-1,260`."""
    point = column_point(panel, column)
    if point is None:
        return None
    step, value, first, last = point
    text = f"step {step}: {exact(value)}"
    shown = fmt_value(panel.key, value, panel.total)
    if shown != exact(value):
        text += f" ({shown})"
    if first != last:
        which = "lowest" if panel.key == "learning_rate" else "highest"
        text += f", the {which} of steps {first}-{last}"
    return text


class TileReadout:
    """Mixed into `CockpitScreen`: the mouse over the tiles, and `<` `>` on the focused one. The screen
    gives it `_readout_columns` (the column each tile's readout last read), `get_widget_at`, `focused`,
    `lead_panel()`, `notify()` and `zoom_tile()` (views.py)."""

    def _tile_at(self, event: events.MouseEvent) -> tuple[MetricPanel, int] | None:
        """The tile under the pointer and the chart column there; None off the tiles' content."""
        try:
            widget, _ = self.get_widget_at(event.screen_x, event.screen_y)
        except NoWidget:
            return None
        region = widget.content_region
        if not isinstance(widget, MetricPanel) or not region.contains(event.screen_x, event.screen_y):
            return None
        column = event.screen_x - region.x - widget.plot_columns()[0]  # the y labels' columns: none
        return (widget, column) if column >= 0 else None

    def read_tile(self, panel: MetricPanel, column: int) -> None:
        self._readout_columns[panel.key] = column
        text = reading(panel, column)
        if text is None:
            self.notify("nothing drawn there", title=panel.title, timeout=3)
        else:
            self.notify(f"{text}   (< > move)", title=panel.title, timeout=8)

    def on_click(self, event: events.Click) -> None:
        hit = self._tile_at(event)
        if hit is not None:
            self.read_tile(*hit)

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        hit = self._tile_at(event)
        point = column_point(*hit) if hit is not None else None
        if point is not None:
            event.stop()
            self.zoom_tile(hit[0], around=point[0])

    def action_readout(self, direction: int) -> None:
        panel = self.focused if isinstance(self.focused, MetricPanel) else self.lead_panel()
        drawn = min(len(panel.values), chart_width(panel))
        if not drawn:
            self.notify("nothing drawn yet", title=panel.title, timeout=3)
            return
        last = self._readout_columns.get(panel.key)
        column = drawn - 1 if last is None else max(0, min(drawn - 1, last + direction))
        self.read_tile(panel, column)
