"""The run browser's rows: each thing `cockpit ls` finds in a runs folder (cockpit.runlist), read whole once
for what a table of runs cannot tell from a log's head and tail: the run's kind, its key config values and
the advisor's verdict. No Textual: the browser screen reads rows in a worker thread with this."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cockpit.runlist import Entry, foreign_row, read_foreign, row_of

LIVE_STATES = ("starting", "running", "resumed", "paused", "stalled", "suspended")
"""A run of ours in one of these may still be training: enter attaches to it rather than replaying it."""


@dataclass
class BrowseRow:
    name: str
    path: Path
    """What to open: the run directory, or the other tool's log file."""
    ours: bool
    state: str
    kind: str = "-"
    step: int | None = None
    total: int | None = None
    lr: Any = None
    r: Any = None
    alpha: Any = None
    verdict: str = "-"
    problem: str | None = None
    """Why the log could not be read whole (the row still shows what `cockpit ls` read)."""

    @property
    def live(self) -> bool:
        return self.ours and self.state in LIVE_STATES

    def steps(self) -> str:
        if self.step is None and self.total is None:
            return "-"
        return f"{self.step or 0}" + (f"/{self.total}" if self.total else "")

    def cells(self) -> dict[str, str]:
        """The row as the table shows it (and as the filter matches it)."""
        return {
            "run": self.name,
            "state": self.state,
            "kind": self.kind,
            "step": self.steps(),
            "lr": _num(self.lr),
            "r": _num(self.r),
            "alpha": _num(self.alpha),
            "verdict": self.verdict,
        }

    def matches(self, text: str) -> bool:
        """Every word of `text` is in some cell (`sft good`, `lr 2e-4`, `crash`), case-insensitive;
        `key=value` asks one column (`r=16`, `state=run`)."""
        cells = {k: v.lower() for k, v in self.cells().items()}
        for word in text.lower().split():
            key, eq, value = word.partition("=")
            if eq and key in cells:
                if value not in cells[key]:
                    return False
            elif not any(word in v for v in cells.values()):
                return False
        return True


def _num(v: Any) -> str:
    if isinstance(v, bool) or v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.0e}" if 0 < abs(v) < 1e-2 else f"{v:g}"
    return str(v)


def read_row(entry: Entry) -> BrowseRow | None:
    """The entry as a browser row; None when it holds no log the cockpit reads (a README, a data set).
    Another tool's log is read once, for its `ls` row and for the advisor alike."""
    name, path, how = entry
    ours = how != "foreign"
    read = None if ours else read_foreign(path)
    ls = row_of(entry) if ours else foreign_row(path, read)
    if ls is None:
        return None
    ls["name"] = name
    row = BrowseRow(
        name, path if ours else Path(ls["path"]), ours, ls["state"], step=ls["step"], total=ls["total"], lr=ls["lr"]
    )
    if how == "no-events":
        return row
    try:
        _fill(row, read[1] if read else None)
    except Exception as e:  # a log that `ls` read but the advisor cannot: shown, with why
        row.problem = f"{type(e).__name__}: {e}"
    return row


def _fill(row: BrowseRow, h: Any = None) -> None:
    from cockpit.advisor import advise
    from cockpit.logs import load_history
    from cockpit.run_kind import RunKind

    if h is None:
        h, _ = load_history(row.path)
    row.kind = RunKind.of(h).method
    row.verdict = advise(h).verdict
    cfg = h.config if isinstance(h.config, dict) else {}
    training, lora = cfg.get("training") or {}, cfg.get("lora") or {}
    # Another tool's log has no config: its peak lr is the one it was given (the last is the schedule's end).
    row.lr = training.get("learning_rate") or _peak(h.series["learning_rate"]) or row.lr
    adapter = _adapter_config(row.path)  # another tool's checkpoint folder: its LoRA shape is saved there
    row.r = lora.get("r", adapter.get("r"))
    row.alpha = lora.get("lora_alpha", adapter.get("lora_alpha"))
    if row.alpha is None and lora and isinstance(row.r, (int, float)):
        row.alpha = 2 * row.r  # unset in our config: the trainer used 2r (the lora config.s `alpha`)


def _peak(values) -> float | None:
    finite = [v for v in values if math.isfinite(v)]
    return max(finite) if finite else None


def _adapter_config(log: Path) -> dict[str, Any]:
    folder = log if log.is_dir() else log.parent
    try:
        data = json.loads((folder / "adapter_config.json").read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
