"""A fixed-size panel that redraws without a layout pass: `update()` only repaints this widget.

(Textual's Static.update() re-lays out the screen, which at several updates a second costs more than
everything else the cockpit does.)"""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget


class Panel(Widget):
    def __init__(self, *, id: str | None = None):
        super().__init__(id=id)
        self._renderable = ""
        self._key: str | None = None

    def update(self, renderable, key: str | None = None) -> None:
        """Repaint with `renderable`, unless it is the same as the last one: same `key` when given, else
        equal strings or equal rich Text (text and styles). Most frames change only a few panels."""
        if key is None:
            if isinstance(renderable, str):
                key = repr(renderable)
            elif isinstance(renderable, Text):
                key = renderable.markup
        if key is not None and key == self._key:
            return
        self._key = key
        self._renderable = renderable
        self.refresh()

    def render(self):
        return self._renderable
