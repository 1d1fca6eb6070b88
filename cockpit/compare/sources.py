"""What `cockpit compare` was given, as a list of runs: run directories, Hugging Face `trainer_state.json`
files (or folders holding one), sweep directories (their trials, with the sweep's verdicts) and study
directories (`study.json` and the runs under it, sweeps inside it included)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cockpit.logs import LogError, resolve
from cockpit.run_groups import STUDY_FILE, is_study_dir, is_sweep_dir


class CompareError(Exception):
    """Arguments that do not name runs to compare; the message says which and why."""


@dataclass
class RunSource:
    """One run to compare, and what its sweep or study said of it."""

    path: Path
    label: str
    verdict: str | None = None
    reason: str | None = None
    group: str | None = None
    """The sweep or study it came from (its directory name), for the runs table."""


def expand(args: list[str], ledgers: dict[Path, Any] | None = None) -> tuple[list[RunSource], list[str]]:
    """The runs the arguments name, in order, and notes on what was skipped (a trial not started yet).
    `ledgers`, when given, receives each study's parsed study.json by its directory (read once, here).
    Raises CompareError for an argument that is neither a run, a log, a sweep nor a study."""
    runs: list[RunSource] = []
    notes: list[str] = []
    for arg in args:
        p = Path(arg).expanduser()
        if not p.exists():
            raise CompareError(f"{arg}: no such file or directory")
        if is_study_dir(p):
            runs += study_runs(p, notes, ledgers)
        elif is_sweep_dir(p):
            runs += sweep_runs(p, notes)
        else:
            try:
                resolve(p)
            except LogError as e:
                raise CompareError(f"{e} (nor a sweep directory, nor a study directory with {STUDY_FILE})") from None
            runs.append(RunSource(p, _label(p)))
    _unique_labels(runs)
    return runs, notes


def _label(p: Path) -> str:
    if p.is_file():
        return p.stem if p.name != "trainer_state.json" else p.parent.name
    return p.name


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise CompareError(f"{path}: cannot read ({e})") from None


def sweep_runs(sweep: Path, notes: list[str]) -> list[RunSource]:
    """A sweep's trials in lr order, each with its verdict; trials that logged nothing yet are noted.
    A trial is found by its folder name, so a sweep directory that was moved still reads."""
    summary = _read_json(sweep / "sweep.json") if (sweep / "sweep.json").exists() else {}
    trials = summary.get("trials") if isinstance(summary, dict) else None
    if not isinstance(trials, list):
        raise CompareError(f"{sweep / 'sweep.json'}: no 'trials' list (is this a sweep directory?)")
    rec = summary.get("recommended_lr")
    out = []
    for t in trials:
        if not isinstance(t, dict) or not t.get("run_dir"):
            continue
        run = sweep / Path(str(t["run_dir"])).name
        if not (run / "events.jsonl").exists():
            notes.append(f"{sweep.name}/{run.name}: {t.get('state') or 'pending'}, nothing logged yet")
            continue
        verdict = t.get("verdict")
        if verdict and rec is not None and t.get("lr") == rec:
            verdict += " (recommended)"
        out.append(RunSource(run, run.name, verdict, t.get("reason"), sweep.name))
    return out


def study_runs(study: Path, notes: list[str], ledgers: dict[Path, Any] | None = None) -> list[RunSource]:
    """A study's runs: every run directory under it (sweeps inside it bring their verdicts), and any run
    its stages name elsewhere, in the order they started. A stage in `study.json` that names a run
    labels it with the stage."""
    data = _read_json(study / STUDY_FILE)
    if ledgers is not None:
        ledgers[study] = data
    stage_of, listed = _stage_of_runs(data)
    found: list[RunSource] = []
    _walk(study, study, notes, found, depth=3)
    seen = {r.path.resolve() for r in found}
    for path in listed:
        p = Path(path) if Path(path).is_absolute() else study / path
        if (p / "events.jsonl").exists() and p.resolve() not in seen:
            seen.add(p.resolve())
            found.append(RunSource(p, p.name, group=study.name))
    for r in found:
        stage = stage_of.get(r.path.name)
        if stage is not None:
            r.group = f"stage {stage}"
    found.sort(key=_started)
    if not found:
        notes.append(f"{study.name}: no run has logged anything yet")
    return found


def _walk(study: Path, folder: Path, notes: list[str], found: list[RunSource], depth: int) -> None:
    """Runs and sweeps under `folder`, a few levels down (a study may keep them under runs/ or per
    stage); a run directory's own folders (checkpoints, adapter) are not looked into."""
    try:
        children = sorted(p for p in folder.iterdir() if p.is_dir() and not p.is_symlink())
    except OSError:
        return
    for child in children:
        if is_sweep_dir(child):
            found += sweep_runs(child, notes)
        elif (child / "events.jsonl").exists():
            found.append(RunSource(child, child.name, group=study.name))
        elif depth > 1:
            _walk(study, child, notes, found, depth - 1)


def _stage_of_runs(data: Any) -> tuple[dict[str, str], list[str]]:
    """(run folder name -> stage id, the run paths named), from whatever lists of runs the stages hold:
    `{"stages": [{"stage": 3, "runs": ["path", {"run_dir": "path"}]}]}` or stages keyed by id."""
    out: dict[str, str] = {}
    listed: list[str] = []
    stages = data.get("stages") if isinstance(data, dict) else None
    items = stages.items() if isinstance(stages, dict) else enumerate(stages) if isinstance(stages, list) else ()
    for key, stage in items:
        if not isinstance(stage, dict) or not isinstance(stage.get("runs"), list):
            continue
        sid = str(stage.get("stage", stage.get("id", key)))
        for run in stage["runs"]:
            name = (run.get("run_dir") or run.get("path")) if isinstance(run, dict) else run
            if isinstance(name, str) and name:
                out.setdefault(Path(name).name, sid)
                listed.append(name)
    return out, listed


def _started(r: RunSource) -> float:
    """When the run started: the `t` of its first event (a folder's mtime changes with every write)."""
    try:
        with open(r.path / "events.jsonl", "rb") as f:
            first = json.loads(f.readline() or b"{}")
        t = first.get("t") if isinstance(first, dict) else None
        return float(t) if isinstance(t, (int, float)) else 0.0
    except (OSError, ValueError):
        return 0.0


def _unique_labels(runs: list[RunSource]) -> None:
    """Two runs with the same folder name (lr-0.0001 in two sweeps) get their parent's name in front."""
    counts: dict[str, int] = {}
    for r in runs:
        counts[r.label] = counts.get(r.label, 0) + 1
    for r in runs:
        if counts[r.label] > 1:
            parent = r.path.parent.name if r.path.is_dir() else r.path.parent.parent.name
            r.label = f"{parent}/{r.label}"
    seen: dict[str, int] = {}
    for r in runs:
        n = seen.get(r.label, 0)
        seen[r.label] = n + 1
        if n:
            r.label = f"{r.label} ({n + 1})"
