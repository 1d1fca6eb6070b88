"""A fixed-size panel that redraws without a layout pass: `update()` only repaints this widget.

(Textual's Static.update() re-lays out the screen, which at several updates a second costs more than
everything else the cockpit does.)"""

from __future__ import annotations

from rich.text import Text
from textual.geometry import Region
from textual.widget import Widget


class Panel(Widget):
    def __init__(self, *, id: str | None = None):
        super().__init__(id=id)
        self._renderable = ""
        self._key: str | None = None
        self._line_keys: list | None = None

    def update(self, renderable, key: str | None = None, line_keys: list | None = None) -> None:
        """Repaint with `renderable`, unless it is the same as the last one: same `key` when given, else
        equal strings or equal rich Text (text and styles). Most frames change only a few panels.
        `line_keys`: one key per line, for a renderable whose every line is one line on screen (no
        wrapping): then only the lines whose key changed are repainted (the compositor's cost is per line)."""
        if key is None:
            if isinstance(renderable, str):
                key = repr(renderable)
            elif isinstance(renderable, Text):
                key = renderable.markup
        if key is not None and key == self._key:
            return
        old = self._line_keys
        self._key, self._renderable, self._line_keys = key, renderable, line_keys
        width = self.content_size.width
        if line_keys is None or old is None or len(old) != len(line_keys) or not self.is_mounted or width <= 0:
            self.refresh()
            return
        changed = [Region(0, y, width, 1) for y, (a, b) in enumerate(zip(old, line_keys)) if a != b]
        if changed:
            self.refresh(*changed)

    def render(self):
        return self._renderable
