"""A plotext chart drawn afresh from its data at every render.

plotext turns a log axis' values into their log10 in place when it builds a figure, so building the same
figure twice (textual renders again on a resize, a theme change, a screen coming back) takes the log of a
log and raises `math domain error` on any value under 1. Painting the figure from the data before each
build keeps every render right. Imported only where a chart opens: plotext costs start-up time.
"""

from __future__ import annotations

from collections.abc import Callable

from textual.app import RenderResult
from textual_plotext import PlotextPlot


class RedrawnPlot(PlotextPlot):
    """`paint(plt)` draws the whole figure; it runs on a cleared figure before each build."""

    def __init__(self, *, id: str | None = None):
        super().__init__(id=id)
        self.paint: Callable[[object], object] | None = None

    def repaint(self, paint: Callable[[object], object]) -> object:
        """Draw with `paint` now (what it returns, e.g. the points drawn, is returned) and at every render."""
        self.paint = paint
        result = self._paint()
        self.refresh()
        return result

    def _paint(self) -> object:
        self.plt.clear_data()
        self.plt.clear_figure()
        return self.paint(self.plt) if self.paint is not None else None

    def built(self) -> str:
        """The figure as plotext builds it (ANSI text), painted afresh: what the screen shows, for tests."""
        self._paint()  # a cleared figure forgets its size: give it the widget's, as PlotextPlot.render does
        self.plt.plotsize(self.size.width, self.size.height)
        self.plt._set_size(self.size.width, self.size.height)
        return self.plt.build()

    def step_at(self, column: int, x_range: tuple[float, float] | None) -> float | None:
        """The step under a column of the widget (a mouse event's x), the figure's x axis spanning
        `x_range`; None off the plot area."""
        from cockpit.tui.readout import plot_frame, step_at_column

        return step_at_column(column, plot_frame(self.built()), x_range)

    def render(self) -> RenderResult:
        self._paint()
        return super().render()
