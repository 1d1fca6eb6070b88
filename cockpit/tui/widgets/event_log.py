"""The event log: acks, checkpoints, guards, errors, samples, worded by `cockpit.event_text` (as
`--headless` and the history's marks word them), with a filter by kind (`f` cycles it)."""

from __future__ import annotations

from collections import deque
from pathlib import Path

from rich.text import Text
from textual.widgets import RichLog

from cockpit.event_text import describe_event, step_prefix

LOG_FILTERS = (
    ("all", None),
    (
        "no samples",
        {
            "ack",
            "sent",
            "state",
            "status",
            "crash",
            "guard",
            "error",
            "checkpoint",
            "merge",
            "notify",
            "run_started",
            "advice",
        },
    ),
    ("commands", {"ack", "sent", "advice"}),
    ("guards & errors", {"guard", "error", "crash", "status", "notify"}),
    ("checkpoints & merges", {"checkpoint", "merge"}),
    ("state", {"state", "status", "crash", "run_started"}),
    ("samples", {"sample"}),
)
"""The filters, in the order `f` cycles them: a name and the kinds it shows (None: all). Besides event
kinds, the screen writes `sent` (a command on its way), `status` (suspended, stalled), `crash` and
`advice` lines."""

TONE_STYLE = {
    "good": "green",
    "bad": "bold red",
    "warn": "yellow",
    "info": "cyan",
    "strong": "bold",
    "quiet": "dim",
    "merge": "magenta",
}


def short_paths(text: str, run_dir: Path | None) -> str:
    """Paths in the run directory relative to it (`checkpoints/checkpoint-20`, `merged`), the home folder
    as `~`: what the operator can read at a glance in a line of the log."""
    if run_dir is not None:
        text = text.replace(f"{Path(run_dir).absolute()}/", "").replace(f"{run_dir}/", "")
    home = str(Path.home())
    return text.replace(f"{home}/", "~/") if home != "/" else text


class EventLog(RichLog):
    """Every line is kept (up to 2,000), so a filter change re-lists the lines it shows. Lines wrap: their
    end is the number or the reason ("... max 12): explosion precursor"), which a cut at 80 columns lost."""

    def __init__(self, *, id: str | None = "log", run_dir: Path | None = None):
        super().__init__(id=id, markup=False, wrap=True, min_width=1, max_lines=2000)  # wrap at its own width
        self.run_dir = run_dir
        """Paths inside it are shown relative to it: a merge's four lines of absolute paths took 14 rows."""
        self.entries: deque[tuple[str, Text]] = deque(maxlen=2000)
        self.filter = 0
        self._sample_steps: set = set()  # sampling steps already listed: one line each

    def on_mount(self) -> None:
        self._title()

    def add_event(self, ev: dict, sender: str = "") -> None:
        """One event's line; `sender` as `describe_event` takes it."""
        said = describe_event(ev, sender=sender)
        if said is None:
            return
        kind = str(ev.get("kind"))
        if kind == "sample":
            # One line per sampling step (the samples panel and `v` show every prompt): a step's three
            # samples used to be three lines each time, and pushed the acks and guards out of sight.
            if ev.get("step") in self._sample_steps:
                return
            self._sample_steps.add(ev.get("step"))
        hint = f" ({said.hint})" if said.hint else ""
        text = short_paths(said.text, self.run_dir)
        self.add_line(kind, Text(f"{step_prefix(ev)}{said.icon} {text}{hint}", style=TONE_STYLE[said.tone]))

    def add_line(self, kind: str, line: Text) -> None:
        self.entries.append((kind, line))
        if self.shows(kind):
            self.write(line)

    def shows(self, kind: str) -> bool:
        kinds = LOG_FILTERS[self.filter][1]
        return kinds is None or kind in kinds

    def cycle_filter(self) -> tuple[str, int]:
        """The next filter; returns its name and how many lines it shows."""
        self.filter = (self.filter + 1) % len(LOG_FILTERS)
        self.clear()
        shown = 0
        for kind, line in self.entries:
            if self.shows(kind):
                self.write(line)
                shown += 1
        self._title()
        return LOG_FILTERS[self.filter][0], shown

    def _title(self) -> None:
        self.border_title = f"events: {LOG_FILTERS[self.filter][0]} (f filters)"
