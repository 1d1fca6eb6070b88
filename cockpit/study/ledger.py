"""`study.json`, the study's ledger: per stage its state, runs, evidence, decision and SOP line.

Rewritten whole and atomically (a temporary file, fsync, rename) after every change, so a study killed
at any moment leaves the last complete ledger, and `cockpit study DIR` continues from it.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from cockpit.advisor.stage import STAGES

STUDY_FILE = "study.json"
VERSION = 1


def is_study_dir(path: Path) -> bool:
    return (Path(path) / STUDY_FILE).is_file()


def empty_stage(n: int) -> dict[str, Any]:
    return {"stage": n, "name": STAGES[n], "state": "todo", "runs": [], "trials": {}, "evidence": [],
            "decision": {}, "sop": "", "reason": "", "question": None, "answers": {}}


def new_ledger(config: dict[str, Any], source: str, options: dict[str, Any]) -> dict[str, Any]:
    return {"v": VERSION, "created": time.time(), "source": source, "name": config.get("name", "study"),
            "options": options, "base_config": config, "config": config, "round": 1,
            "reference_eval_loss": None, "candidate": None, "audit": None, "runs_started": 0, "elapsed_s": 0.0,
            "state": "running", "reason": "", "stages": [empty_stage(n) for n in sorted(STAGES)],
            "earlier_rounds": [], "log": []}


def save(study_dir: Path, ledger: dict[str, Any]) -> None:
    path = Path(study_dir) / STUDY_FILE
    tmp = path.with_name(STUDY_FILE + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(json.dumps(ledger, indent=1, default=str, allow_nan=False, sort_keys=False))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)  # readers (the cockpit, compare, report) never see half a ledger


def load(study_dir: Path) -> dict[str, Any]:
    """The ledger, or ValueError naming the file and what is wrong with it."""
    path = Path(study_dir) / STUDY_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise ValueError(f"{path}: cannot read: {e.strerror}") from None
    except ValueError as e:
        raise ValueError(f"{path}: not valid JSON: {e}") from None
    if not isinstance(data, dict) or data.get("v") != VERSION or not isinstance(data.get("stages"), list) \
            or len(data["stages"]) != len(STAGES):
        raise ValueError(f"{path}: not a study ledger of version {VERSION} (stages 0-{len(STAGES) - 1})")
    return data


def current_stage(ledger: dict[str, Any]) -> int | None:
    """The first stage not done or skipped; None when the study is complete."""
    for st in ledger["stages"]:
        if st["state"] not in ("done", "skipped"):
            return st["stage"]
    return None


def note(ledger: dict[str, Any], stage: int | None, what: str) -> None:
    ledger["log"].append({"t": round(time.time(), 1), "stage": stage, "round": ledger["round"], "what": what})


def study_stage_of(run_dir: Path) -> tuple[int | None, dict[str, Any] | None]:
    """For a run inside a study directory: (the study's current stage, the ledger); (None, None) otherwise.
    What the cockpit shows instead of guessing the stage from the run's config."""
    parent = Path(run_dir).resolve().parent
    if not is_study_dir(parent):
        return None, None
    try:
        ledger = load(parent)
    except ValueError:
        return None, None
    return current_stage(ledger), ledger
