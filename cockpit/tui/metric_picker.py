"""The metric picker (`k`): every numeric series the run logs, filtered by a regex (or, when the text is
not one, a substring) on the names; the one picked takes the focused tile's place in the grid."""

from __future__ import annotations

import re

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option

from cockpit.tui.modals import MODAL_CSS

RESET = "\0reset"
"""The picker's answer for 'back to the SOP's set'."""


def name_filter(text: str):
    """A predicate on metric names: the text as a case-blind regex, or as a substring when it is no regex
    (`eval_(acc` is a user typing, not an error)."""
    try:
        rx = re.compile(text, re.IGNORECASE)
    except re.error:
        low = text.lower()
        return lambda name: low in name.lower()
    return lambda name: rx.search(name) is not None


class MetricPicker(ModalScreen[str | None]):
    """A filter input over the list of the run's metrics; enter picks the highlighted one."""

    DEFAULT_CSS = (
        "MetricPicker { align: center middle; } MetricPicker #dialog { width: 64; }"
        " MetricPicker OptionList { height: auto; max-height: 12; }"
        " MetricPicker .hint { color: $text-muted; }" + MODAL_CSS
    )
    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("down", "move(1)", show=False),
        Binding("up", "move(-1)", show=False),
    ]

    def __init__(self, names: list[str], shown: list[str], target: str):
        """`names`: every numeric series of the run; `shown`: those on the grid now; `target`: the title of
        the tile the pick replaces."""
        super().__init__()
        self.names, self.shown, self.target = names, shown, target

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(f"Chart a metric in place of {self.target}", classes="title")
            yield Input(placeholder="filter: regex or text (eval_, ^rewards/)", id="filter")
            yield OptionList(id="names")
            yield Label("enter picks · ↑↓ move · esc cancels · ● on the grid now", classes="hint")

    def on_mount(self) -> None:
        self._fill("")
        self.query_one(Input).focus()

    def _fill(self, text: str) -> None:
        keep = name_filter(text)
        options = [Option(("● " if n in self.shown else "  ") + n, id=n) for n in self.names if not text or keep(n)]
        if not text:
            options.append(Option("↺ the SOP's default set for this kind of run", id=RESET))
        ol = self.query_one(OptionList)
        ol.clear_options()
        ol.add_options(options or [Option(f"no metric matches {text!r}", disabled=True)])
        ol.highlighted = 0 if options else None

    def on_input_changed(self, event: Input.Changed) -> None:
        self._fill(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        ol = self.query_one(OptionList)
        if ol.highlighted is not None and not ol.get_option_at_index(ol.highlighted).disabled:
            self.dismiss(ol.get_option_at_index(ol.highlighted).id)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_move(self, by: int) -> None:
        ol = self.query_one(OptionList)
        if ol.option_count:
            ol.highlighted = ((ol.highlighted or 0) + by) % ol.option_count

    def action_cancel(self) -> None:
        self.dismiss(None)
