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

from cockpit.advisor.stage import STAGES, study_stage

STUDY_FILE = "study.json"
VERSION = 1


def is_study_dir(path: Path) -> bool:
    return (Path(path) / STUDY_FILE).is_file()


def empty_stage(n: int) -> dict[str, Any]:
    return {
        "stage": n,
        "name": STAGES[n],
        "state": "todo",
        "runs": [],
        "trials": {},
        "evidence": [],
        "decision": {},
        "sop": "",
        "reason": "",
        "question": None,
        "answers": {},
    }


def new_ledger(config: dict[str, Any], source: str, options: dict[str, Any]) -> dict[str, Any]:
    return {
        "v": VERSION,
        "created": time.time(),
        "source": source,
        "name": config.get("name", "study"),
        "options": options,
        "base_config": config,
        "config": config,
        "round": 1,
        "reference_eval_loss": None,
        "candidate": None,
        "audit": None,
        "runs_started": 0,
        "elapsed_s": 0.0,
        "state": "running",
        "reason": "",
        "stages": [empty_stage(n) for n in sorted(STAGES)],
        "earlier_rounds": [],
        "log": [],
    }


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
    if (
        not isinstance(data, dict)
        or data.get("v") != VERSION
        or not isinstance(data.get("stages"), list)
        or len(data["stages"]) != len(STAGES)
    ):
        raise ValueError(f"{path}: not a study ledger of version {VERSION} (stages 0-{len(STAGES) - 1})")
    return data


def current_stage(ledger: dict[str, Any]) -> int | None:
    """The first stage not done or skipped; None when the study is complete."""
    return study_stage([st["state"] for st in ledger["stages"]])


def note(ledger: dict[str, Any], stage: int | None, what: str) -> None:
    ledger["log"].append({"t": round(time.time(), 1), "stage": stage, "round": ledger["round"], "what": what})


_CACHE: dict[str, tuple[float, dict[str, Any] | None]] = {}


def study_of(run_dir: Path) -> dict[str, Any] | None:
    """The ledger of the study a run directory belongs to (its parent holds study.json), else None.
    Cached by the ledger's mtime: the cockpit asks at every refresh."""
    path = Path(run_dir).resolve().parent / STUDY_FILE
    try:
        mtime = path.stat().st_mtime
    except OSError:
        return None
    hit = _CACHE.get(str(path))
    if hit is not None and hit[0] == mtime:
        return hit[1]
    try:
        ledger = load(path.parent)
    except ValueError:
        ledger = None
    _CACHE[str(path)] = (mtime, ledger)
    return ledger


def next_step(ledger: dict[str, Any], study_dir: Path) -> str:
    """The study's next step in one line, for a run of the study shown in the cockpit."""
    n = current_stage(ledger)
    if n is None:
        extra = ledger["stages"][-1].get("extra") or {}
        if extra.get("merge") == "merged":
            return f"the study is complete; its final run is merged: {extra.get('merged_dir')}"
        merge = extra.get("merge_command")
        return "the study is complete" + (f"; merge its final run: `m` in its cockpit, or {merge}" if merge else "")
    st = ledger["stages"][n]
    if st.get("question"):
        q = st["question"]
        return f"stage {n} asks: {q['text']} (`cockpit study {study_dir} --answer {q['id']}=...`)"
    if st["state"] == "blocked":
        return f"stage {n} is blocked: {st.get('reason')}"
    return f"stage {n} {st['name']}: `cockpit study {study_dir} --auto` continues the study"
