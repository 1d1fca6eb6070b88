"""`cockpit [DIR]`, `cockpit browse [DIR]`: the run browser as an app of its own (enter opens a run's
cockpit over it, c the compare view of the selected runs; q there comes back)."""

from __future__ import annotations

from pathlib import Path

from cockpit.tui.browser_screen import BrowserScreen
from cockpit.tui.compare_app import CompareApp


class BrowserApp(CompareApp):
    """The compare app's themes and `detach` (q in a run's cockpit comes back here), another first screen."""

    TITLE = "lora-cockpit runs"

    def __init__(self, root: Path, theme: str | None = None):
        super().__init__(feed=None, theme=theme)  # type: ignore[arg-type]
        self.root = root

    def first_screen(self) -> BrowserScreen:
        return BrowserScreen(self.root)


def main(root: str, theme: str | None = None) -> int:
    """Exit 2 with the reason when ROOT is not a folder or there is no terminal to draw in."""
    import sys

    from cockpit.runlist import not_a_runs_folder
    from cockpit.tui.launch import _measure_the_terminal, run_app

    p = Path(root)
    if (code := not_a_runs_folder(p)) is not None:
        return code
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        print(f"error: the run browser needs a terminal; `cockpit ls {p}` prints the runs", file=sys.stderr)
        return 2
    _measure_the_terminal()
    return run_app(BrowserApp(p, theme=theme))
