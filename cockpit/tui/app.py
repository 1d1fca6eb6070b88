"""The cockpit App: themes, key remapping, one screen (live or replay). Kept small: everything else has its
own module."""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from cockpit.tui.live_screen import LiveScreen
from cockpit.tui.palette import cockpit_commands, palette_keys, textual_commands
from cockpit.tui.replay_screen import ReplayScreen
from cockpit.tui.screen import CockpitScreen
from cockpit.tui.sigcont import guard_sigcont
from cockpit.tui.source_protocol import Source
from cockpit.tui.themes import load_themes_checked

DEFAULT_THEME = "cockpit-dark"


class CockpitApp(App):
    CSS_PATH = "cockpit.tcss"
    TITLE = "lora-cockpit"
    ENABLE_COMMAND_PALETTE = True

    def __init__(
        self,
        source: Source,
        *,
        run_dir: Path | None = None,
        theme: str | None = None,
        keymap: dict[str, str] | None = None,
        clock=time.time,
    ):
        # The config's remapped keys win over the palette's. App.__init__ binds COMMAND_PALETTE_BINDING.
        self.palette_keys = palette_keys(keymap or {})
        self.COMMAND_PALETTE_BINDING = self.palette_keys[0] if self.palette_keys else "ctrl+backslash"
        super().__init__()
        for key in self.palette_keys[1:]:
            self._bindings._add_binding(Binding(key, "command_palette", "palette", show=False, priority=True))
        self.source, self.run_dir, self.clock = source, run_dir, clock
        self.themes, self.refused_themes = load_themes_checked()
        for t in self.themes:
            self.register_theme(t)
        names = [t.name for t in self.themes]
        self.theme_names = names
        self.requested_theme = theme if theme in names else DEFAULT_THEME
        self.bad_theme = theme if theme and theme not in names else None
        self.keymap = keymap or {}
        self.detached = False

    def on_mount(self) -> None:
        guard_sigcont()
        self.theme = self.requested_theme
        if self.keymap:
            self.set_keymap(self.keymap)
        self.push_screen(screen_for(self.source, run_dir=self.run_dir, clock=self.clock))
        if self.refused_themes:  # one toast for all: the user sees each file and what is wrong in it
            self.notify(
                "\n".join(str(e) for e in self.refused_themes), title="theme file refused", severity="error", timeout=20
            )
        elif self.bad_theme:
            self.notify(f"unknown theme '{self.bad_theme}'; themes: {', '.join(self.theme_names)}", severity="warning")

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        if isinstance(screen, CockpitScreen):
            yield from cockpit_commands(screen)
        yield from textual_commands(super().get_system_commands(screen))

    def cycle_theme(self) -> None:
        names = self.theme_names
        self.theme = names[(names.index(self.theme) + 1) % len(names)] if self.theme in names else names[0]
        self.clear_notifications()  # one toast at a time (CockpitScreen.notify)
        self.notify(f"theme: {self.theme}", timeout=2)

    def detach(self) -> None:
        if len(self.screen_stack) > 2:  # a run's cockpit opened from the compare view: back to the view
            self.pop_screen()
            return
        self.detached = True
        self.exit()


def screen_for(source: Source, *, run_dir: Path | None = None, clock=time.time) -> CockpitScreen:
    """The screen that shows this source: a recording's, or a live run's."""
    if source.replay:
        return ReplayScreen(source, run_dir=run_dir, clock=clock)  # type: ignore[arg-type]
    return LiveScreen(source, run_dir=run_dir, clock=clock)  # type: ignore[arg-type]
