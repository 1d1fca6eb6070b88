"""The compare view's run list: one row per run with its colour, on/off, state, the config values that
differ from the other runs, and the verdict (the sweep's, else the advisor's); and the highlighted
run's details under it."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from cockpit.compare.model import CompareReport
from cockpit.rundir import FINAL_STATES
from cockpit.tui.compare_charts import run_color

SHORT_KEYS = {
    "training.learning_rate": "lr",
    "lora.lora_dropout": "dropout",
    "lora.lora_alpha": "alpha",
    "lora.r": "r",
    "lora.target_modules": "targets",
}
"""The differing keys users read most, by the names they say them by; any other key by its last part."""
FIRST = (*SHORT_KEYS, "training.max_grad_norm", "training.lr_scheduler_type", "data.general_mix")
"""The keys the SOP tunes, shown first in this order: a narrow row still shows what the trials vary."""
LAST = {"sop_stage", "save_steps", "eval_steps", "logging_steps"}
"""Bookkeeping a study or sweep changes between runs (their stage, how often they save): shown last."""
VERDICT_STYLE = {
    "good": "bold green",
    "too_low": "bold yellow",
    "too_short": "bold",
    "rising": "bold red",
    "too_high": "bold red",
    "failed": "bold red",
    "critical": "bold red",
    "danger": "bold red",
    "watch": "yellow",
    "healthy": "green",
}
"""A sweep verdict's or the advisor's reading's colour, by its first word."""


def short_key(key: str) -> str:
    return SHORT_KEYS.get(key, key.rsplit(".", 1)[-1])


def differences(report: CompareReport, i: int) -> str:
    """Run i's values of the keys that differ: `lr 0.0002  dropout 0.1`, the tuned keys first."""
    rows = sorted(report.diff, key=lambda kv: (_place(kv[0]), kv[0]))
    # A value may hold newlines (a list of sample prompts): one row stays one line.
    return "  ".join(f"{short_key(k)} {vals[i]}".replace("\n", "⏎") for k, vals in rows if i < len(vals))


def _place(key: str) -> int:
    if key in FIRST:
        return FIRST.index(key)
    return len(FIRST) + (key.rsplit(".", 1)[-1] in LAST)


def verdict_text(verdict: str | None, advisor: str) -> Text:
    """The sweep's verdict when there is one (it judged the trial against the others), else the advisor's."""
    said = verdict.replace("_", " ") if verdict else advisor
    word = (verdict or advisor).split()[0].rstrip(":")
    return Text(said, style=VERDICT_STYLE.get(word, ""), no_wrap=True, overflow="ellipsis")


def run_table(report: CompareReport, enabled: set[int], cursor: int, errors: dict[str, str]) -> Table:
    t = Table(box=None, padding=(0, 1), show_header=True, header_style="dim", expand=True)
    t.add_column("", no_wrap=True, width=5)
    t.add_column("run", no_wrap=True, overflow="ellipsis", max_width=32)
    t.add_column("state", no_wrap=True)
    t.add_column("differs", no_wrap=True, overflow="ellipsis", ratio=1)
    t.add_column("verdict", no_wrap=True, overflow="ellipsis", ratio=1)
    for i, row in enumerate(report.runs):
        on = i in enabled
        mark = Text("▶" if i == cursor else " ", style="bold")
        mark.append("■ " if on else "□ ", style=run_color(i) if on else "dim")
        mark.append("✓" if on else " ", style="bold")
        state = Text(f"{row.state} {row.steps}", style="" if row.state in FINAL_STATES else "bold")
        if row.label in errors:
            state = Text("read error", style="bold red")
        label = Text(row.label, style="bold reverse" if i == cursor else ("" if on else "dim"))
        t.add_row(mark, label, state, differences(report, i) or "-", verdict_text(row.verdict, row.advisor))
    return t


def details(report: CompareReport, cursor: int, errors: dict[str, str]) -> Text:
    """The highlighted run: where it comes from, its numbers, the advisor's reading and the sweep's reason."""
    if not 0 <= cursor < len(report.runs):
        return Text("")
    row = report.runs[cursor]
    out = Text()
    out.append(f"{row.label}", style=f"bold {run_color(cursor)}")
    if row.group:
        out.append(f"  ({row.group})", style="dim")
    out.append("  " + "  ".join(f"{k} {v}" for k, v in row.numbers.items() if v != "-"))
    if report.diff:
        out.append(f"\ndiffers: {differences(report, cursor)}")
    out.append(f"\nadvisor: {row.advisor}")
    if row.reason:
        out.append(f"\nsweep: {row.reason}")
    if row.label in errors:
        out.append(f"\n✖ {errors[row.label]}", style="bold red")
    return out
