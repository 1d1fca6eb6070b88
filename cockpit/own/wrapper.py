"""`python -m cockpit.own RUN_DIR -- COMMAND...`: the background process of `cockpit run -- COMMAND`.

It holds the run's lock (handed down by the launcher) for as long as the command runs, and is the pid the
cockpit watches. The command runs as its child with the startup hook first on its PYTHONPATH
(`cockpit/own/hook/sitecustomize.py`), so every Trainer it builds writes this run directory. A SIGTERM is
passed on to the command (the callback stops at the next step boundary and saves). When the command
exits, its exit decides the final state:
- 0, after a `stop` (command, SIGTERM or guard): `stopped`; 0 otherwise: `finished`. `adapter` is the
  Trainer's output_dir when the script saved an adapter there.
- anything else: `crashed`, with the traceback the command printed (read back from trainer.log) in an
  `error` event, so the cockpit shows it under `e`.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import cockpit
from cockpit.own import COMMAND_ENV, RUN_DIR_ENV, WRAPPED_ENV
from cockpit.own.traceback_text import exception_line, last_traceback
from cockpit.rundir import FINAL_STATES, EventWriter, LockHeld, RunDir, acquire_lock, read_events, release_lock

HOOK_DIR = Path(__file__).resolve().parent / "hook"


def child_env(rd: RunDir, command: list[str], base: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ if base is None else base)
    env["PYTHONPATH"] = os.pathsep.join([str(HOOK_DIR), *filter(None, [env.get("PYTHONPATH")])])
    env.update(
        {
            RUN_DIR_ENV: str(rd.path.resolve()),
            WRAPPED_ENV: "1",
            COMMAND_ENV: json.dumps(command),
            "COCKPIT_SUPERVISOR_PID": str(os.getpid()),
            "COCKPIT_PACKAGE_PARENT": str(Path(cockpit.__file__).resolve().parent.parent),
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def run(run_dir: Path, command: list[str]) -> int:
    rd = RunDir(run_dir)
    try:
        problem = rd.symlink_problem()
        if problem:
            raise OSError(problem)
        note = acquire_lock(rd)
    except (LockHeld, OSError) as e:
        print(f"[cockpit] cannot start: {e}", file=sys.stderr, flush=True)
        return 2
    if note:
        print(f"[cockpit] {note}", file=sys.stderr, flush=True)
    events = EventWriter(rd.events)
    try:
        events.write("state", state="starting", step=0, reason=f"running {' '.join(command)}")
        events.sync()
        try:
            proc = subprocess.Popen(command, env=child_env(rd, command))
        except OSError as e:
            _crashed(events, f"cannot run {command[0]}: {e}", None, 0)
            return 127

        def forward(signum, frame):  # noqa: ARG001 - a stop asked of the run reaches the script
            proc.send_signal(signum)

        signal.signal(signal.SIGTERM, forward)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        rc = proc.wait()
        _final_state(events, rd, rc)
        return rc
    finally:
        events.close()
        release_lock(rd)


def _since_start(rd: RunDir) -> list[dict[str, Any]]:
    """The events of the last training the command began (a script may build several Trainers)."""
    evs = list(read_events(rd.events))
    starts = [i for i, e in enumerate(evs) if e.get("kind") == "run_started"]
    return evs[starts[-1] :] if starts else evs


def _final_state(events: EventWriter, rd: RunDir, rc: int) -> None:
    evs = _since_start(rd)
    states = [e for e in evs if e.get("kind") == "state"]
    if states and states[-1].get("state") in FINAL_STATES:
        return
    step = max((int(e.get("step") or 0) for e in evs if e.get("kind") == "metrics"), default=0)
    # The script's output_dir is often relative to its working directory, which is this process's.
    checkpoints = [str(Path(e["path"]).absolute()) for e in evs if e.get("kind") == "checkpoint" and e.get("path")]
    if rc != 0:
        tb = last_traceback(rd.log)
        why = exception_line(tb) or (f"killed by signal {-rc}" if rc < 0 else f"the command exited with code {rc}")
        _crashed(events, why, tb, step)
        return
    stopping = next((s for s in reversed(states) if s.get("state") == "stopping"), None)
    started = next((e for e in evs if e.get("kind") == "run_started"), None)
    reason = stopping.get("reason") if stopping else None
    if started is None:
        reason = "the command ended without training (no Trainer reached the cockpit's callback)"
    events.write(
        "state",
        state="stopped" if stopping else "finished",
        step=step,
        reason=reason,
        adapter=_adapter(started),
        last_good_checkpoint=checkpoints[-1] if checkpoints else None,
    )
    events.sync()


def _crashed(events: EventWriter, why: str, tb: str | None, step: int) -> None:
    events.write("error", message=why, traceback=tb, step=step)
    events.write("state", state="crashed", step=step, reason=why)
    events.sync()


def _adapter(started: dict[str, Any] | None) -> str | None:
    """The script's output_dir when it holds a saved adapter (`trainer.save_model()`)."""
    out = ((started or {}).get("script") or {}).get("training_args", {}).get("output_dir")
    if not out:
        return None
    path = Path(out).resolve()
    return str(path) if (path / "adapter_config.json").is_file() else None


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if len(argv) < 3 or argv[1] != "--":
        print("usage: python -m cockpit.own RUN_DIR -- COMMAND...", file=sys.stderr)
        return 2
    return run(Path(argv[0]), argv[2:])
