"""The command palette (`:` or `ctrl+p`): every cockpit command that applies now, by name.

The commands are the help's rows (help.py), so the palette, the `?` screen and the README's key table
say the same; a command the screen refuses now (no resume while running, no control in a replay) is not
offered. Textual's own theme picker and screenshot stay; its Quit and Keys do not (`q` detaches, `?`
lists the keys).
"""

from __future__ import annotations

from collections.abc import Iterable

from textual.app import SystemCommand
from textual.screen import Screen

from cockpit.tui.bindings import BINDINGS

PALETTE_KEYS = ("colon", "ctrl+p")
"""The palette's keys, unless the config's `keys:` gives one of them to a cockpit command."""
TEXTUAL_KEPT = ("Theme", "Screenshot")
NOT_COMMANDS = {"focus", "command_palette"}
"""Help rows that are not commands: Tab moves the focus; the palette is where the commands are."""


def palette_keys(keymap: dict[str, str]) -> list[str]:
    """The palette's keys less those the config remapped a command to (the config wins)."""
    taken = {k.strip() for keys in keymap.values() for k in str(keys).split(",")}
    return [k for k in PALETTE_KEYS if k not in taken]


def cockpit_commands(screen: Screen) -> Iterable[SystemCommand]:
    """A command per action the screen allows now, titled as the help describes it, with its keys."""
    from cockpit.tui.help import groups, human_key, keys_by_action

    keys = keys_by_action(screen)
    tooltips = {b.action: b.tooltip for b in BINDINGS if b.tooltip}
    for _group, items in groups(screen):
        for actions, what in items:
            for action in actions:
                method = getattr(screen, f"action_{action}", None)
                if action in NOT_COMMANDS or method is None or screen.check_action(action, ()) is not True:
                    continue
                # The tooltip names the deed ("Halve the learning rate"); the help row the rest.
                title = tooltips.get(action) or what[:1].upper() + what[1:]
                shown = " / ".join(human_key(k) for k in keys.get(action, []))
                yield SystemCommand(title, (what + "  " if action in tooltips else "") + f"key: {shown}", method)


def textual_commands(commands: Iterable[SystemCommand]) -> Iterable[SystemCommand]:
    return (c for c in commands if c.title in TEXTUAL_KEPT)
