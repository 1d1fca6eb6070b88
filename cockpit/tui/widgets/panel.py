"""A fixed-size panel that redraws without a layout pass: `update()` only repaints this widget.

(Textual's Static.update() re-lays out the screen, which at several updates a second costs more than
everything else the cockpit does.)"""

from __future__ import annotations

from textual.widget import Widget


class Panel(Widget):
    def __init__(self, *, id: str | None = None):
        super().__init__(id=id)
        self._renderable = ""
        self._key: str | None = None

    def update(self, renderable) -> None:
        key = repr(renderable) if isinstance(renderable, str) else None
        if key is not None and key == self._key:
            return
        self._key = key
        self._renderable = renderable
        self.refresh()

    def render(self):
        return self._renderable
