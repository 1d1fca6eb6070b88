"""`cockpit compare RUN... --view`: the compare view as an app of its own (enter opens a run's cockpit
over it; q there comes back)."""

from __future__ import annotations

from textual.app import App
from textual.screen import Screen

from cockpit.compare.feed import CompareFeed
from cockpit.tui.compare_screen import CompareScreen
from cockpit.tui.sigcont import guard_sigcont
from cockpit.tui.themes import load_themes

DEFAULT_THEME = "cockpit-dark"


class CompareApp(App):
    CSS_PATH = "cockpit.tcss"  # the run cockpits that enter opens are laid out by it
    TITLE = "lora-cockpit compare"
    ENABLE_COMMAND_PALETTE = False

    def __init__(self, feed: CompareFeed, theme: str | None = None):
        super().__init__()
        self.feed = feed
        self.theme_names = [t.name for t in load_themes()]
        for t in load_themes():
            self.register_theme(t)
        self.requested = theme if theme in self.theme_names else DEFAULT_THEME

    def on_mount(self) -> None:
        guard_sigcont()
        self.theme = self.requested
        self.push_screen(self.first_screen())

    def first_screen(self) -> Screen:
        return CompareScreen(self.feed, root=True)

    # What the cockpit's screens ask of their app (CockpitApp has the same two).
    def cycle_theme(self) -> None:
        names = self.theme_names
        self.theme = names[(names.index(self.theme) + 1) % len(names)] if self.theme in names else names[0]
        self.clear_notifications()
        self.notify(f"theme: {self.theme}", timeout=2)

    def detach(self) -> None:
        """`q` in a run's cockpit opened from here: back to the comparison; the run goes on."""
        if len(self.screen_stack) > 2:
            self.pop_screen()
        else:
            self.exit()


def main(paths: list[str], theme: str | None = None, min_runs: int = 2) -> int:
    """`cockpit compare ... --view`: exit 2 with the reason when there is no terminal to draw in or fewer
    than `min_runs` runs; else the app's exit code."""
    import sys

    from cockpit.compare.sources import CompareError
    from cockpit.tui.launch import _measure_the_terminal, run_app

    feed = CompareFeed(paths)
    try:
        feed.poll()
    except CompareError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if len(feed.members) < min_runs:
        have = f"{len(feed.members)} run" + ("s" if len(feed.members) != 1 else "")
        print(
            f"error: {' '.join(paths)}: {have} with a log to compare; --view needs at least {min_runs} "
            "(run directories, trainer_state.json files, or a sweep or study directory)",
            file=sys.stderr,
        )
        return 2
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        print(
            "error: --view needs a terminal (stdin and stdout are not one); "
            "without --view, cockpit compare prints the comparison",
            file=sys.stderr,
        )
        return 2
    _measure_the_terminal()
    return run_app(CompareApp(feed, theme=theme))
