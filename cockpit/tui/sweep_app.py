"""The sweep view: the trials of an lr sweep side by side (loss, grad_norm, entropy) with their verdicts,
live while they run; enter opens one trial's full cockpit."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Vertical
from textual.widgets import Footer, Static

from cockpit.history import History
from cockpit.run_groups import read_sweep_summary
from cockpit.rundir import Tail
from cockpit.thresholds import Thresholds
from cockpit.tui.sigcont import guard_sigcont
from cockpit.tui.themes import load_themes
from cockpit.tui.widgets.metric import MetricPanel

VERDICT_STYLE = {
    "good": "bold green",
    "too_high": "bold red",
    "rising": "bold red",
    "too_low": "bold yellow",
    "too_short": "bold",
    "failed": "bold red",
}


class TrialColumn(Vertical, can_focus=True):
    DEFAULT_CSS = """
    TrialColumn { border: round $panel-lighten-2; height: 100%; }
    TrialColumn:light { border: round $panel-darken-1; }
    TrialColumn:focus-within, TrialColumn:focus { border: double $accent; }
    TrialColumn MetricPanel { height: 4; }
    TrialColumn .verdict { height: 3; padding: 0 1; }
    """

    def __init__(self, trial: dict):
        super().__init__()
        self.trial = trial
        self.history = History()
        self.tail = Tail(Path(trial["run_dir"]) / "events.jsonl")

    def compose(self) -> ComposeResult:
        yield Static(classes="verdict")
        for key in ("loss", "grad_norm", "entropy"):
            yield MetricPanel(key, key)

    def refresh_trial(self, trial: dict) -> None:
        self.trial = trial
        self.history.extend(self.tail.poll())
        h = self.history
        th = Thresholds()
        for panel in self.query(MetricPanel):
            panel.update_data(h.steps, h.series[panel.key], [], th)
        t = Text()
        t.append(f"lr {trial['lr']:g}", style="bold")
        t.append(f"  {trial.get('state', 'pending')}  step {h.step}\n")
        v = trial.get("verdict")
        if self.tail.error is not None:  # the curves stop here: say so instead of showing a quiet trial
            t.append(f"⚠ UNREADABLE  {self.tail.error}", style="bold yellow")
        elif v:
            t.append(v.replace("_", " ").upper(), style=VERDICT_STYLE.get(v, "bold"))
            t.append(f"  {trial.get('reason', '')}")
        self.query_one(".verdict", Static).update(t)


class SweepApp(App):
    ENABLE_COMMAND_PALETTE = False
    CSS_PATH = "cockpit.tcss"  # the trial cockpit's layout (`enter` opens one as a screen here)
    CSS = """
    #head { height: 2; padding: 0 1; }
    #trials { grid-gutter: 0 1; height: 1fr; }
    """
    BINDINGS = [
        Binding("enter", "open", "Open trial"),
        Binding("c", "compare", "Overlay trials"),
        Binding("t", "theme", "Theme"),
        Binding("question_mark", "help", "Help"),
        Binding("q", "quit", "Detach"),
    ]
    HELP = (
        ("Tab / Shift+Tab", "move between trials"),
        ("Enter", "open the focused trial's cockpit (q comes back)"),
        ("c", "the trials overlaid on one axis: the compare view (c comes back)"),
        ("t", "cycle themes"),
        ("?", "this help"),
        ("q", "close the sweep view; the trials go on"),
    )

    def __init__(self, sweep_dir: Path, theme: str | None = None):
        super().__init__()
        self.sweep_dir = sweep_dir
        for t in load_themes():
            self.register_theme(t)
        self.requested = theme or "cockpit-dark"

    def summary(self) -> dict:
        return read_sweep_summary(self.sweep_dir) or {"trials": []}

    def compose(self) -> ComposeResult:
        s = self.summary()
        yield Static(id="head")
        with Grid(id="trials"):
            for t in s.get("trials", []):
                yield TrialColumn(t)
        yield Footer()

    def on_mount(self) -> None:
        guard_sigcont()
        self.theme = self.requested if self.requested in [t.name for t in load_themes()] else "cockpit-dark"
        n = max(1, len(self.summary().get("trials", [])))
        self.query_one("#trials").styles.grid_size_columns = n
        self.set_interval(0.5, self.refresh_all)
        self.refresh_all()
        cols = list(self.query(TrialColumn))
        if cols:
            cols[0].focus()

    def refresh_all(self) -> None:
        s = self.summary()
        trials = s.get("trials", [])
        for col, t in zip(self.query(TrialColumn), trials):
            col.refresh_trial(t)
        head = Text()
        head.append(f" lr sweep  {self.sweep_dir.name}  ", style="bold reverse")
        head.append(f"  {s.get('steps', '?')} steps per trial  ")
        if s.get("done"):
            rec = s.get("recommended_lr")
            head.append(f"recommended lr: {rec:g}" if rec else "no trial declined smoothly", style="bold")
            if s.get("next_config"):
                head.append(f"\n next config: {s['next_config']}")
        else:
            head.append("running…")
        self.query_one("#head", Static).update(head)

    def focused_trial(self) -> TrialColumn | None:
        # The focus may be on one of the trial's charts: the trial is the column around it.
        return next(
            (
                w
                for w in (self.focused, *(self.focused.ancestors if self.focused else ()))
                if isinstance(w, TrialColumn)
            ),
            None,
        )

    def action_compare(self) -> None:
        """The trials overlaid (loss, eval loss, grad_norm, entropy on one step axis each), the focused
        trial highlighted: the columns give each trial's state and verdict at a glance, the overlay is
        where they are compared."""
        from cockpit.compare.feed import CompareFeed
        from cockpit.tui.compare_screen import CompareScreen

        col = self.focused_trial()
        here = Path(col.trial["run_dir"]) if col is not None else None
        highlight = self.sweep_dir / here.name if here is not None else None
        self.push_screen(CompareScreen(CompareFeed([self.sweep_dir]), highlight=highlight))

    def action_open(self) -> None:
        col = self.focused_trial()
        if col is None:
            self.notify("no trial is focused: Tab moves between trials", severity="warning")
            return
        from cockpit.tui.live_screen import LiveScreen
        from cockpit.tui.sources import LiveSource

        rd = Path(col.trial["run_dir"])
        if not (rd / "events.jsonl").exists():
            self.notify(f"lr {col.trial['lr']:g} has not started yet (no events in {rd})", severity="warning")
            return
        # The trial's cockpit as a screen of this app: a second App run from inside this one's event loop
        # died with "asyncio.run() cannot be called from a running event loop". `q` comes back here.
        self.push_screen(LiveScreen(LiveSource(rd), run_dir=rd))

    # What the cockpit's screens ask of their app (CockpitApp has the same two).
    def cycle_theme(self) -> None:
        self.action_theme()

    def detach(self) -> None:
        if len(self.screen_stack) > 1:
            self.pop_screen()
        else:
            self.exit()

    def action_theme(self) -> None:
        names = [t.name for t in load_themes()]
        self.theme = names[(names.index(self.theme) + 1) % len(names)] if self.theme in names else names[0]
        self.notify(f"theme: {self.theme}", timeout=2)

    def action_help(self) -> None:
        from rich.table import Table

        from cockpit.tui.modals import TextModal

        t = Table(box=None, padding=(0, 2), show_header=False)
        t.add_column("key", style="bold", no_wrap=True)
        t.add_column("action")
        for key, what in self.HELP:
            t.add_row(key, what)
        self.push_screen(TextModal("Sweep keys", t))
