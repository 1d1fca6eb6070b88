"""The cockpit's footer, fitted to the terminal's width.

Textual's footer lays every key out in a row and lets the screen's edge cut the rest: at 80 columns the
cockpit lost `? Help` and `q Detach`, the two keys a newcomer needs first, and cut `a Apply advice` in the
middle of a word. Here the keys that do not fit are left out whole, the least needed first (each stays
bound, and the help screen lists it), and those shown keep their usual order.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

NEEDED_FIRST = (
    "help",
    "detach",
    "back",  # the compare view's and the browser's way out
    "toggle_run",
    "open_run",
    "quit",  # the browser's
    "filter",
    "pause",
    "resume",
    "play",
    "apply_advice",
    "lr_half",
    "save",
    "stop",
    "zoom",
    "traceback",
    "merge",
    "lr_double",
    "set_lr",
    "samples",
    "compare",
    "cycle_theme",
)
"""Actions by how much a newcomer needs their key in sight; an action not listed comes last."""

GAP = 1
"""Columns between two keys (the CSS below)."""


def key_width(key_display: str, description: str) -> int:
    """Columns a FooterKey takes: ` key ` then `description ` (Textual's paddings), and the gap after it."""
    return Text(key_display).cell_len + 2 + Text(description).cell_len + 1 + GAP


def fit(entries: list[tuple[str, int]], width: int) -> set[str]:
    """The actions that fit in `width` columns, taken by NEEDED_FIRST: (action, columns) in footer order."""
    rank = {a: i for i, a in enumerate(NEEDED_FIRST)}
    kept: set[str] = set()
    used = 0
    for action, cols in sorted(entries, key=lambda e: rank.get(e[0], len(rank))):
        if used + cols <= width:
            kept.add(action)
            used += cols
    return kept


class FittedFooter(Footer):
    """A footer that shows whole keys only, the most needed ones when they do not all fit."""

    DEFAULT_CSS = """
    FittedFooter FooterKey { margin-right: 1; }
    """

    def __init__(self, **kw) -> None:
        super().__init__(show_command_palette=False, **kw)
        self._fitted_width = 0

    def compose(self) -> ComposeResult:
        if not self._bindings_ready:
            return
        one_per_action: dict[str, tuple] = {}
        for _node, binding, enabled, tooltip in self.screen.active_bindings.values():
            if binding.show:
                one_per_action.setdefault(binding.action, (binding, enabled, tooltip))
        width = self.size.width or self.app.size.width
        self._fitted_width = width
        columns = [
            (action, key_width(self.app.get_key_display(b), b.description))
            for action, (b, _e, _t) in one_per_action.items()
        ]
        kept = fit(columns, width)
        for action, (binding, enabled, tooltip) in one_per_action.items():
            if action in kept:
                yield FooterKey(
                    binding.key,
                    self.app.get_key_display(binding),
                    binding.description,
                    binding.action,
                    disabled=not enabled,
                    tooltip=tooltip,
                ).data_bind(compact=Footer.compact)

    def on_resize(self) -> None:
        if self.size.width != self._fitted_width:
            self.call_later(self.recompose)  # a coroutine: scheduled, not called bare
