"""A study's stages as rows of its report: what each decided, from which runs, and why, from the
ledger (`study.json`) that `sources.expand` read for the study's runs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cockpit.compare.diff import fmt

STATE_ICON = {"done": "✓", "skipped": "·", "running": "▶", "blocked": "✖", "todo": " "}


@dataclass(frozen=True)
class StageRow:
    stage: int
    name: str
    state: str
    runs: str
    decision: str
    why: str
    """The stage's reason, or its open question, or (a stage still to do) nothing."""


def _run_name(run: Any) -> str:
    """A stage's run as the ledger names it: a directory name, or (hand-written ledgers) an object with one."""
    if isinstance(run, dict):
        run = run.get("run_dir") or run.get("name") or ""
    return Path(str(run)).name


def _decision(patch: Any) -> str:
    items = patch.items() if isinstance(patch, dict) else ()
    return "  ".join(f"{str(k).rsplit('.', 1)[-1]}={fmt(v)}" for k, v in items) or "-"


def study_rows(ledger: Any) -> tuple[list[StageRow], str]:
    """The stages 0-8 and the study's state line (`done`, `blocked: ...`, plus the merge once decided);
    ([], "") for a ledger without a list of stages (the runs are still compared)."""
    stages = ledger.get("stages") if isinstance(ledger, dict) else None
    if not isinstance(stages, list):
        return [], ""
    rows = []
    for st in (st for st in stages if isinstance(st, dict)):
        question = (st.get("question") or {}).get("text")
        rows.append(
            StageRow(
                int(st.get("stage", len(rows))),
                str(st.get("name", "")),
                str(st.get("state", "todo")),
                ", ".join(_run_name(r) for r in st.get("runs") or []) or "-",
                _decision(st.get("decision")),
                f"asks: {question}" if question else str(st.get("reason") or ""),
            )
        )
    state = str(ledger.get("state") or "")
    if ledger.get("reason"):
        state += f": {ledger['reason']}"
    merge = (rows and isinstance(stages[-1], dict) and (stages[-1].get("extra") or {}).get("merge")) or None
    if merge:
        state += f"; final adapter {merge}"
    return rows, state
