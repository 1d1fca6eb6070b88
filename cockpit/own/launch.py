"""`cockpit run -- COMMAND`: a run directory for a user's own command, and the wrapper that runs it.

The wrapper (`python -m cockpit.own RUN_DIR -- COMMAND`) starts detached, in its own session, with the
run's lock handed to it, exactly as our trainer is started (`cockpit.launch`): closing the cockpit or
losing SSH never stops the command. Its output goes to trainer.log.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from cockpit.launch import LaunchError, _lock_for_launch, _spawn_holding_lock, creating, refuse_bad_env
from cockpit.rundir import RunDir, unused_stamped_path

NAMED_BY = (".py", ".yaml", ".yml", ".json", ".sh")
"""The command's first argument with one of these suffixes names the run (`train.py` -> `train`)."""


def run_name(command: list[str]) -> str:
    for arg in command[1:]:
        if arg.endswith(NAMED_BY) and not arg.startswith("-"):
            return Path(arg).stem or "script"
    return Path(command[0]).name or "script"


def start_command(command: list[str], runs_dir: Path, name: str | None = None, run_dir: Path | None = None) -> RunDir:
    if not command:
        raise LaunchError("no command after `--`: cockpit run -- python train.py ...")
    if shutil.which(command[0]) is None:
        raise LaunchError(f"command not found: {command[0]} (not a file, and not on PATH)")
    refuse_bad_env()
    rd = RunDir(run_dir) if run_dir is not None else RunDir(unused_stamped_path(runs_dir, name or run_name(command)))
    with creating(rd, runs_dir, given=run_dir is not None):
        rd.create()
    _lock_for_launch(rd, role="starting")
    argv = [sys.executable, "-m", "cockpit.own", str(rd.path), "--", *command]
    rd.spawned = _spawn_holding_lock(rd, role="starting", argv=argv)
    return rd
