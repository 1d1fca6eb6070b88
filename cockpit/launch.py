"""Starting the trainer as a background process that outlives the cockpit and the SSH session."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

from cockpit.config import RunConfig
from cockpit.rundir import RunDir, last_event, pid_alive, read_lock_pid


class LaunchError(Exception):
    """The run could not be started; the message says why."""


def new_run_dir(runs_dir: Path, name: str) -> RunDir:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    path = runs_dir / f"{name}-{stamp}"
    n = 1
    while path.exists():
        n += 1
        path = runs_dir / f"{name}-{stamp}-{n}"
    return RunDir(path)


def start_run(cfg: RunConfig, runs_dir: Path, name: str | None = None, run_dir: Path | None = None,
              env: dict[str, str] | None = None) -> RunDir:
    """Create the run directory, write the resolved config, start the trainer detached."""
    if name:
        cfg.name = name
    rd = RunDir(run_dir) if run_dir is not None else new_run_dir(runs_dir, cfg.name)
    if rd.path.exists() and rd.events.exists() and rd.events.stat().st_size > 0:
        holder = read_lock_pid(rd)
        if holder and pid_alive(holder):
            raise LaunchError(f"{rd.path} is in use by trainer pid {holder}")
        raise LaunchError(f"{rd.path} already holds a run; use `cockpit resume {rd.path}` or a new --name")
    try:
        runs_dir.mkdir(parents=True, exist_ok=True)
        rd.create()
        rd.config.write_text(cfg.to_yaml())
    except OSError as e:
        raise LaunchError(f"cannot create run directory {rd.path}: {e}") from None
    url = cfg.notify.webhook_url() if cfg.notify.webhook and not cfg.notify.webhook.startswith("env:") else None
    if url:  # a secret: handed to this trainer only, never written into the run directory
        env = {**(env or {}), "COCKPIT_NOTIFY_WEBHOOK": url}
    rd.spawned = spawn_trainer(rd, env=env)
    return rd


def resume_run(run_dir: Path) -> RunDir:
    rd = RunDir(run_dir)
    if not rd.config.exists():
        raise LaunchError(f"{run_dir} is not a run directory (no config.yaml)")
    holder = read_lock_pid(rd)
    if holder and pid_alive(holder):
        raise LaunchError(f"{run_dir} is still being trained by pid {holder}; attach instead")
    last = last_event(rd.events, "state")
    if last and last.get("state") == "finished":
        raise LaunchError(f"{run_dir} finished; start a new run to train further")
    if rd.latest_checkpoint() is None:
        raise LaunchError(f"{run_dir} has no checkpoint to resume from (checkpoints/ is empty)")
    offset = rd.events.stat().st_size if rd.events.exists() else 0
    rd.spawned = spawn_trainer(rd, resume=True)
    rd.resume_offset = offset
    return rd


def spawn_trainer(rd: RunDir, resume: bool = False, env: dict[str, str] | None = None) -> subprocess.Popen:
    """`python -m cockpit.trainer RUN_DIR` in its own session: a closed terminal or a dropped SSH
    connection (SIGHUP to the cockpit's process group) never reaches it."""
    argv = [sys.executable, "-m", "cockpit.trainer", str(rd.path)] + (["--resume"] if resume else [])
    log = open(rd.log, "ab")
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "TOKENIZERS_PARALLELISM": "false", **(env or {})}
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True, env=env, close_fds=True)
    log.close()
    # Give an immediate failure (bad import, locked dir) a moment to show up as an exit code.
    time.sleep(0.2)
    rc = proc.poll()
    if rc is not None and rc != 0:
        from cockpit.rundir import tail_text

        tail = "\n".join(tail_text(rd.log, 15))
        raise LaunchError(f"the trainer exited at once (code {rc}); {rd.log}:\n{tail}")
    return proc

