"""Starting a study's trial as an ordinary detached run, and telling whether it is still going.

The runner talks to this small interface only, so the tests can stand a fake in for the trainer."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from cockpit.config import RunConfig
from cockpit.rundir import FINAL_STATES, RunDir, last_event, pid_alive, read_lock_pid


class TrainerLauncher:
    """`cockpit.launch.start_run` into the study directory; liveness from the run's lock and state."""

    def __init__(self) -> None:
        self._procs: dict[str, Any] = {}

    def start(self, cfg: RunConfig, run_dir: Path) -> None:
        from cockpit.launch import start_run  # raises LaunchError with the reason

        rd = start_run(cfg, runs_dir=run_dir.parent, run_dir=run_dir)
        self._procs[str(run_dir)] = getattr(rd, "spawned", None)

    def resume(self, run_dir: Path) -> None:
        from cockpit.launch import resume_run  # raises LaunchError with the reason

        rd = resume_run(run_dir)
        self._procs[str(run_dir)] = getattr(rd, "spawned", None)

    def merge(self, run_dir: Path) -> int:
        """`cockpit merge RUN_DIR` in its own process (the study's stays free of torch); its output is
        the person's to read, so it goes to this terminal. The exit code says how it went."""
        return subprocess.run([sys.executable, "-m", "cockpit.merge", str(run_dir)], check=False).returncode

    def status(self, run_dir: Path) -> str:
        """running | ended (a final state was written) | died (the trainer is gone without one)."""
        rd = RunDir(run_dir)
        ev = last_event(rd.events, "state") if rd.events.exists() else None
        if ev and ev.get("state") in FINAL_STATES:
            return "ended"
        proc = self._procs.get(str(run_dir))
        if proc is not None and proc.poll() is None:
            return "running"
        holder = read_lock_pid(rd)
        if holder is not None and pid_alive(holder):
            return "running"
        ev = last_event(rd.events, "state") if rd.events.exists() else None  # it may have ended meanwhile
        return "ended" if ev and ev.get("state") in FINAL_STATES else "died"

    def progress(self, run_dir: Path) -> str:
        ev = last_event(RunDir(run_dir).events, "metrics") if RunDir(run_dir).events.exists() else None
        if not ev:
            return "starting"
        loss = ev.get("loss")
        return f"step {ev.get('step')}" + (f" loss {loss:.3g}" if isinstance(loss, (int, float)) else "")
