"""Starting the trainer as a background process that outlives the cockpit and the SSH session."""

from __future__ import annotations

import contextlib
import json
import os
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

from cockpit.config import RunConfig
from cockpit.detached import spawn_detached
from cockpit.resume_check import base_change, lora_changes
from cockpit.rundir import (
    LOCK_FD_ENV,
    LockHeld,
    RunDir,
    RunDirError,
    acquire_lock,
    hand_over_lock,
    held_lock_fd,
    last_event,
    open_run_file,
    pid_alive,
    read_lock_pid,
    release_lock,
    unused_stamped_path,
)
from cockpit.trainer.system_sampler import every_from_env
from cockpit.trainer.versions import LAUNCHED_BY_ENV

WEBHOOK_ENV = "COCKPIT_NOTIFY_WEBHOOK"
"""A literal notify.webhook URL is not written into the run directory (a secret, `<hidden>` there): the
trainer finds it here, in the environment its starter gives it."""


class LaunchError(Exception):
    """The run could not be started; the message says why."""


def start_run(
    cfg: RunConfig,
    runs_dir: Path,
    name: str | None = None,
    run_dir: Path | None = None,
    env: dict[str, str] | None = None,
) -> RunDir:
    """Create the run directory, write the resolved config, start the trainer detached."""
    refuse_bad_env(env)
    if name:
        cfg.name = name
    rd = RunDir(run_dir) if run_dir is not None else RunDir(unused_stamped_path(runs_dir, cfg.name))
    if _own_run(rd):
        holder = read_lock_pid(rd)
        if holder and pid_alive(holder):
            raise LaunchError(f"{rd.path} is in use by trainer pid {holder}")
        raise LaunchError(f"{rd.path} already holds a run; use `cockpit resume {rd.path}` or a new --name")
    with creating(rd, runs_dir, given=run_dir is not None):
        rd.create()
        # O_EXCL: a config.yaml that appeared meanwhile (or a link planted there) is never written through.
        fd = open_run_file(rd.config, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        with open(fd, "w", encoding="utf-8") as f:
            f.write(cfg.to_yaml())
    url = cfg.notify.webhook_url() if cfg.notify.webhook and not cfg.notify.webhook.startswith("env:") else None
    if url:  # a secret: handed to this trainer only, never written into the run directory
        env = {**(env or {}), WEBHOOK_ENV: url}
    _lock_for_launch(rd, role="starting")
    rd.spawned = _spawn_holding_lock(rd, role="starting", env=env)
    return rd


@contextlib.contextmanager
def creating(rd: RunDir, runs_dir: Path, given: bool):
    """Creating a run directory: its refusals and failures as a LaunchError that says which."""
    try:
        runs_dir.mkdir(parents=True, exist_ok=True)
        yield
    except RunDirError as e:
        raise LaunchError(f"refusing --run-dir: {e.strerror}" if given else e.strerror) from None
    except OSError as e:
        raise LaunchError(f"cannot create run directory {rd.path}: {e}") from None


def _own_run(rd: RunDir) -> bool:
    """A real directory of ours holding a run of plain files (anything else gets create()'s refusal)."""
    try:
        st = os.lstat(rd.path)
    except OSError:
        return False
    return stat.S_ISDIR(st.st_mode) and st.st_uid == os.getuid() and not rd.symlinked_files() and rd.is_run()


def refuse_bad_env(env: dict[str, str] | None = None) -> None:
    """The trainer's settings from the environment, checked before a run directory is made: a bad one is
    refused now, not after the model has loaded."""
    try:
        every_from_env({**os.environ, **(env or {})})
    except ValueError as e:
        raise LaunchError(str(e)) from None


def resume_run(run_dir: Path) -> RunDir:
    rd = RunDir(run_dir)
    problem = rd.symlink_problem()
    if problem:
        raise LaunchError(problem)
    if not rd.config.exists():
        raise LaunchError(f"{run_dir} is not a run directory (no config.yaml)")
    # The lock is taken here, before any check, and handed to the trainer: of two resumes at once, the
    # second is refused now, instead of starting a trainer that finds the lock taken and dies.
    _lock_for_launch(rd, role="resuming")
    try:
        last = last_event(rd.events, "state")
        if last and last.get("state") == "finished":
            raise LaunchError(f"{run_dir} finished; start a new run to train further")
        ckpt = rd.latest_checkpoint()
        if ckpt is None:
            raise LaunchError(f"{run_dir} has no checkpoint to resume from (checkpoints/ is empty)")
        hidden_webhook(rd)
        changed = "; ".join(filter(None, (base_change(rd), lora_changes(rd, ckpt))))
        if changed:
            raise LaunchError(
                f"{rd.config} was edited since {ckpt.name} was saved: {changed}. The checkpoint's "
                "adapter was trained with the old value(s): put them back, or start a new run"
            )
        offset = rd.events.stat().st_size if rd.events.exists() else 0
        rd.spawned = _spawn_holding_lock(rd, role="resuming", resume=True)
    except BaseException:
        release_lock(rd)
        raise
    rd.resume_offset = offset
    return rd


def hidden_webhook(rd: RunDir) -> None:
    """A run started with a literal webhook URL holds `<hidden>`: resumed without the URL in the
    environment its trainer would alert nobody, and say so only in its event log. Refused instead."""
    from cockpit.config import ConfigError, load_config
    from cockpit.config.notify import WEBHOOK_HIDDEN

    try:
        webhook = load_config(rd.config, check_paths=False).notify.webhook
    except (OSError, ValueError, ConfigError):
        return  # the trainer reports a config it cannot read
    if webhook == WEBHOOK_HIDDEN and not os.environ.get(WEBHOOK_ENV):
        raise LaunchError(
            f"{rd.config}: notify.webhook was given as a URL, which is a secret and not kept in the run "
            f"directory: give it again as `{WEBHOOK_ENV}=URL cockpit resume {rd.path}` (or set "
            "notify.webhook: env:NAME in config.yaml)"
        )


def _lock_for_launch(rd: RunDir, role: str) -> None:
    try:
        note = acquire_lock(rd, role=role)
    except LockHeld as e:
        who = f"pid {e.pid}" if e.pid else "another process"
        if e.role == "resuming":
            raise LaunchError(f"{rd.path} is already being resumed by {who}") from None
        if e.role == "starting":
            raise LaunchError(f"{rd.path} is being started by {who}") from None
        raise LaunchError(f"{rd.path} is still being trained by {who}; attach instead") from None
    except RunDirError as e:
        raise LaunchError(e.strerror) from None
    if note:
        print(f"cockpit: {note}", file=sys.stderr)


def _spawn_holding_lock(
    rd: RunDir, role: str, resume: bool = False, env: dict[str, str] | None = None, argv: list[str] | None = None
) -> subprocess.Popen:
    try:
        proc = spawn_trainer(rd, resume=resume, env=env, argv=argv)
    except BaseException:
        release_lock(rd)
        raise
    hand_over_lock(rd, proc.pid, role)
    return proc


def spawn_trainer(
    rd: RunDir, resume: bool = False, env: dict[str, str] | None = None, argv: list[str] | None = None
) -> subprocess.Popen:
    """`python -m cockpit.trainer RUN_DIR` (or `argv`: a user's command's wrapper) in its own session: a
    closed terminal or a dropped SSH connection (SIGHUP to the cockpit's process group) never reaches it."""
    argv = argv or [sys.executable, "-m", "cockpit.trainer", str(rd.path)] + (["--resume"] if resume else [])
    refuse_bad_env(env)
    try:
        log = open_run_file(rd.log, os.O_CREAT | os.O_WRONLY | os.O_APPEND, 0o644)
    except RunDirError as e:
        raise LaunchError(e.strerror) from None
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "TOKENIZERS_PARALLELISM": "false", **(env or {})}
    # The trainer's run_started names the command that started it (the cockpit's metadata view shows it).
    env[LAUNCHED_BY_ENV] = json.dumps([sys.executable, *sys.argv])
    lock_fd = held_lock_fd(rd)
    if lock_fd is not None:
        env[LOCK_FD_ENV] = str(lock_fd)
    proc = spawn_detached(argv, log, env=env, pass_fds=(lock_fd,) if lock_fd is not None else ())
    # Give an immediate failure (bad import, locked dir) a moment to show up as an exit code.
    time.sleep(0.2)
    rc = proc.poll()
    if rc is not None and rc != 0 and not _outcome_recorded(rd):
        from cockpit.rundir import tail_text

        tail = "\n".join(tail_text(rd.log, 15))
        raise LaunchError(f"the trainer exited at once (code {rc}); {rd.log}:\n{tail}")
    _reap_when_it_exits(proc)
    return proc


def _outcome_recorded(rd: RunDir) -> bool:
    """Whether the process that exited at once wrote its run's final state first: a user's command that
    fails in its first 0.2 s is a crashed run (its wrapper says so, with the traceback), not a failed start."""
    from cockpit.rundir import FINAL_STATES, last_event

    last = last_event(rd.events, "state")
    return last is not None and last.get("state") in FINAL_STATES


def _reap_when_it_exits(proc: subprocess.Popen) -> None:
    """The trainer is this process's child: once it exits it stays `<defunct>` until waited for, for as
    long as this process lives (a cockpit left open on the finished run, a sweep starting its next
    trials). A thread waits for it, whoever started it; `proc.returncode` is set when it has exited."""
    threading.Thread(target=proc.wait, name=f"reap-trainer-{proc.pid}", daemon=True).start()
