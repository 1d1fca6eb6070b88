"""The cockpit's `a` on a run that belongs to a study: the study's next step, started from here.

The study (cockpit/study/) decides what comes next; the cockpit only says it and, when no study process
is running it, starts `cockpit study DIR --auto` in the background (its output in DIR/study.log). It
stops by itself where only a person can judge, as it does in a terminal.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

STUDY_LOG = "study.log"


def in_study(run_dir: Path | None) -> bool:
    """The run is one of a study's (stages to go or not): `a` then speaks for the study, not the run."""
    from cockpit.study.ledger import study_of

    return run_dir is not None and study_of(run_dir) is not None


def open_study(run_dir: Path | None) -> Path | None:
    """The study directory of a run whose study still has stages to go, else None."""
    if run_dir is None:
        return None
    from cockpit.study.ledger import current_stage, study_of

    ledger = study_of(run_dir)
    if ledger is None or current_stage(ledger) is None:
        return None
    return Path(run_dir).resolve().parent


def finished_study_line(run_dir: Path | None) -> str | None:
    """For a run of a study that has walked all its stages, what the study says now (complete, and how to
    merge its final run); None otherwise. `a` says it rather than this one run's own advice."""
    if run_dir is None:
        return None
    from cockpit.study.ledger import current_stage, study_of
    from cockpit.study.ledger import next_step as step_line

    ledger = study_of(run_dir)
    if ledger is None or current_stage(ledger) is not None:
        return None
    return step_line(ledger, Path(run_dir).resolve().parent)


def next_step(study_dir: Path) -> tuple[str, bool]:
    """The study's next step in a line, and whether `cockpit study DIR --auto` would take it: not when
    its stage is blocked or waits for a person's answer (the line says what to do instead)."""
    from cockpit.study.ledger import current_stage, load
    from cockpit.study.ledger import next_step as step_line

    ledger = load(study_dir)
    stage = ledger["stages"][current_stage(ledger)]
    return step_line(ledger, study_dir), not (stage.get("question") or stage["state"] == "blocked")


def running_pid(study_dir: Path) -> int | None:
    from cockpit.study.lock import holder

    return holder(study_dir)


def continue_study(study_dir: Path) -> subprocess.Popen:
    """`cockpit study DIR --auto` in its own session (closing the cockpit or SSH does not stop it)."""
    from cockpit.detached import append_fd, spawn_detached

    argv = [sys.executable, "-m", "cockpit.cli", "study", str(study_dir), "--auto"]
    proc = spawn_detached(argv, append_fd(study_dir / STUDY_LOG))
    threading.Thread(target=proc.wait, name="reap-study", daemon=True).start()  # no zombie when it ends
    return proc
