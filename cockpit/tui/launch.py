"""Entry points the CLI calls: open the cockpit live on a run, or on a recorded log."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from cockpit.invocation import cockpit_command
from cockpit.rundir import FINAL_STATES, RunDir


def _keymap(run_dir: Path) -> dict[str, str]:
    try:
        import yaml

        data = yaml.safe_load((run_dir / "config.yaml").read_text()) or {}
        keys = data.get("keys") or {}
        return {str(k): str(v) for k, v in keys.items()}
    except (OSError, ValueError, AttributeError):
        return {}


def _yield_to_training() -> None:
    """The cockpit runs at a lower CPU priority than the trainer it watches: on a box with few cores,
    a frame drawn late costs nothing, a training step delayed costs throughput (measured: 2 cores,
    c/a 1.49 at the default priority; see bench/README.md)."""
    import os

    try:
        os.nice(10)
    except (AttributeError, OSError):
        pass


def _measure_the_terminal() -> None:
    """Let the cockpit size itself from the terminal, not from COLUMNS/LINES in the environment.

    Textual asks `shutil.get_terminal_size()`, which believes exported COLUMNS/LINES before the terminal
    itself, on start and on every resize. Some environments export them (a tmux server started without
    a terminal gives its panes COLUMNS=80 LINES=24): the cockpit then drew an 80x24 layout in a 160x48
    window and never followed a resize. Under `cockpit serve` there is no terminal: textual-serve's web
    driver takes the browser's size from COLUMNS/ROWS, so they stay."""
    if os.environ.get("TEXTUAL_DRIVER", "").endswith(":WebDriver"):
        return
    for name in ("COLUMNS", "LINES"):
        os.environ.pop(name, None)


def run_app(app, **run_kw) -> int:
    """Run a Textual app and return its exit code: 1 when it crashed (Textual printed the traceback
    and returned). Callers exit with it: a script or a tmux wrapper must not read a crash as a quit."""
    app.run(**run_kw)
    return app.return_code or 0


def open_live(run_dir: Path, theme: str | None = None, preload=None) -> None:
    """`preload`: a `cockpit.logs.preload.Preload(run_dir, live=True)` the CLI started before importing the UI."""
    from cockpit.tui.app import CockpitApp
    from cockpit.tui.sources import LiveSource

    rd = RunDir(run_dir)
    if not rd.events.exists():
        print(f"error: {run_dir} is not a run directory (no events.jsonl)", file=sys.stderr)
        sys.exit(2)
    source = LiveSource(rd.path, preload=preload)
    _yield_to_training()
    app = CockpitApp(source, run_dir=rd.path, theme=theme, keymap=_keymap(rd.path))
    _measure_the_terminal()
    code = run_app(app)
    if code:
        sys.exit(code)
    h = source.history
    cockpit = cockpit_command()
    if h.state in FINAL_STATES:
        print(f"run {h.state} at step {h.step}: {rd.path}")
        print(f"  replay: {cockpit} replay {rd.path}    report: {cockpit} report {rd.path}")
    else:
        pid = (h.run_started or {}).get("pid")
        going = "" if h.run_started is None else f": training goes on{f' (trainer pid {pid})' if pid else ''}"
        print(f"detached{going}.")  # (closed before the run's history was read: its state is not known)
        print(f"  re-attach: {cockpit} attach {rd.path}")
        print(f"  steer:     {cockpit} ctl {rd.path} pause|resume|lr x0.5|save|stop")


def open_replay(path: Path, speed: float = 10.0, theme: str | None = None, preload=None) -> None:
    """`preload`: a `cockpit.logs.preload.Preload` the CLI started before importing the UI."""
    from cockpit.history import History
    from cockpit.logs import LogError, load_history, resolve
    from cockpit.run_groups import is_sweep_dir
    from cockpit.tui.app import CockpitApp
    from cockpit.tui.sources import ReplaySource

    if is_sweep_dir(path):
        open_sweep(path, theme=theme)
        return
    try:
        if preload is not None and preload.slow:
            # A long log: the cockpit opens while the child reads it, and fills in when it arrives.
            def read() -> tuple[History, int]:
                history, log = preload.result()
                return history, log.stats.bad

            source = ReplaySource(History(), resolve(path).title, speed=speed, loading=read)
        else:
            history, log = preload.result() if preload is not None else load_history(path)
            source = ReplaySource(history, log.title, speed=speed, skipped_lines=log.stats.bad)
    except (LogError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    source.ended_without_state = _trainer_gone_without_state(path)
    run_dir = path if RunDir(path).events.is_file() else None  # `c` compares it with its sweep or study
    _measure_the_terminal()
    code = run_app(CockpitApp(source, run_dir=run_dir, theme=theme))
    if source.load_error is not None:
        print(f"error: {source.load_error}", file=sys.stderr)
        sys.exit(2)
    if code:
        sys.exit(code)


def _trainer_gone_without_state(path: Path) -> bool:
    """A run directory (or its events.jsonl) whose last state is not final and whose trainer is gone."""
    from cockpit.rundir import FINAL_STATES, RunDir, last_event, pid_alive, read_lock_pid

    run = path.parent if path.name == "events.jsonl" else path
    rd = RunDir(run)
    if not rd.events.is_file():
        return False
    state = last_event(rd.events, "state")
    if state is None or state.get("state") in FINAL_STATES:
        return False
    started = last_event(rd.events, "run_started") or {}
    pids = [p for p in (read_lock_pid(rd), started.get("pid")) if p]
    return not any(pid_alive(p) for p in pids)


def open_sweep(sweep_dir: Path, theme: str | None = None) -> None:
    from cockpit.tui.sweep_app import SweepApp

    _measure_the_terminal()
    code = run_app(SweepApp(sweep_dir, theme=theme))
    if code:
        sys.exit(code)
