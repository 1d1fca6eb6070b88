"""Directories that hold several runs: an lr sweep or a study. One place says how each is recognised.

    runs/<name>-sweep-<stamp>/   sweep.yaml (the plan) and sweep.json (the trials), one run dir per trial
    runs/<study>/                study.json, one run dir per trial

Plain file checks: `ls`, `replay` and the CLI ask this before they import anything heavy.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from cockpit.rundir import RunDir

SWEEP_FILE = "sweep.json"
"""A sweep's trials, verdicts and recommended lr (rewritten as trials end)."""
PLAN_FILE = "sweep.yaml"
"""A sweep's plan: the resolved base config, the lrs and the steps (written first)."""
STUDY_FILE = "study.json"
"""A study's state: its stages, trials and decisions."""


def is_sweep_dir(path: Path) -> bool:
    """A sweep directory: its plan or its summary is there (the plan alone while the first trial starts)."""
    path = Path(path)
    return path.is_dir() and ((path / SWEEP_FILE).exists() or (path / PLAN_FILE).exists())


def is_study_dir(path: Path) -> bool:
    path = Path(path)
    return path.is_dir() and (path / STUDY_FILE).exists()


def group_kind(path: Path) -> str | None:
    """ "sweep", "study", or None for anything else (a run directory, a log file)."""
    if is_sweep_dir(path):
        return "sweep"
    if is_study_dir(path):
        return "study"
    return None


def is_run_group(path: Path) -> bool:
    return group_kind(path) is not None


def read_sweep_summary(sweep_dir: Path) -> dict | None:
    """sweep.json, or None while it is not there or not readable (the orchestrator replaces it whole)."""
    try:
        return json.loads((Path(sweep_dir) / SWEEP_FILE).read_text())
    except (OSError, ValueError):
        return None


def member_runs(path: Path) -> Iterator[Path]:
    """The run directories directly inside a sweep or study directory, by name: those holding an event log."""
    for p in sorted(Path(path).iterdir()):
        if RunDir(p).events.exists():
            yield p
