"""`cockpit ls [RUNS_DIR]`: one line per run, read cheaply (the head for run_started, the tail for the
latest metrics and state), so a folder of multi-GB event logs lists at once."""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from cockpit.durations import span
from cockpit.run_groups import is_run_group, member_runs
from cockpit.rundir import (
    FINAL_STATES,
    RunDir,
    last_event,
    parse_line,
    pid_alive,
    process_state,
    read_lock_pid,
    stall_after,
)


def first_event(path: Path, kind: str, max_lines: int = 50) -> dict[str, Any] | None:
    try:
        with open(path, "rb") as f:
            for _, raw in zip(range(max_lines), f):
                ev = parse_line(raw)
                if ev and ev.get("kind") == kind:
                    return ev
    except OSError:
        return None
    return None


def run_row(rd: RunDir) -> dict[str, Any]:
    started = first_event(rd.events, "run_started") or {}
    metrics = last_event(rd.events, "metrics") or {}
    state_ev = last_event(rd.events, "state") or {}
    state = state_ev.get("state", "unknown")
    note = None
    if state not in FINAL_STATES:
        pid = started.get("pid") or read_lock_pid(rd)
        proc = process_state(pid) if pid else "gone"
        if proc == "gone":
            state = "crashed" if started or metrics else "dead"  # the trainer died without a final state
        elif proc == "suspended":
            state, note = "suspended", f"trainer pid {pid} is stopped by a signal: kill -CONT {pid} resumes it"
        elif state in ("running", "resumed"):
            quiet = _quiet_for(rd)
            if quiet is not None and quiet > stall_after(metrics.get("step_time")):
                state, note = "stalled", f"no events for {_dur(quiet)} from trainer pid {pid}"
    first = first_event(rd.events, "state") or started
    t0 = _unix(first.get("t"))
    t1 = (_unix(state_ev.get("t")) if state in FINAL_STATES else None) or _unix(metrics.get("t")) or t0
    return {
        "name": rd.name,
        "path": str(rd.path),
        "state": state,
        "step": metrics.get("step"),
        "total": started.get("total_steps"),
        "loss": metrics.get("loss"),
        "lr": metrics.get("learning_rate"),
        "started": t0,
        "duration": (t1 - t0) if (t0 and t1) else None,
        "note": note,
    }


def _unix(t: Any) -> float | None:
    """An event's time, when it is one (a hand-edited or corrupt log may hold anything there)."""
    if isinstance(t, (int, float)) and not isinstance(t, bool) and 0 < t < 1e11:
        return float(t)
    return None


def _quiet_for(rd: RunDir) -> float | None:
    """Seconds since the trainer last wrote an event."""
    try:
        return max(0.0, time.time() - rd.events.stat().st_mtime)
    except OSError:
        return None


def events_missing_row(rd: RunDir) -> dict[str, Any]:
    """A run directory whose events.jsonl is gone (moved or deleted, perhaps mid-run): listed, never hidden.
    A live trainer keeps writing to the moved file; its lock still names it."""
    pid = read_lock_pid(rd)
    alive = bool(pid and pid_alive(pid))
    state = f"no events.jsonl, trainer pid {pid} alive" if alive else "no events.jsonl"
    try:
        started = rd.config.stat().st_mtime
    except OSError:
        started = None
    return {
        "name": rd.name,
        "path": str(rd.path),
        "state": state,
        "step": None,
        "total": None,
        "loss": None,
        "lr": None,
        "started": started,
        "duration": None,
        "note": None,
    }


def read_foreign(p: Path) -> tuple[Any, Any] | None:
    """Another tool's log at P (a trainer_state.json, a LLaMA-Factory trainer_log.jsonl, a saved console, or
    a folder holding one) read whole, as (its LoadedLog, its History); None when P holds no log the
    cockpit reads (a README, a data set) or holds ours."""
    from cockpit.logs import LogError, resolve

    try:
        log = resolve(p)
        if log.ours:
            return None
        return log, log.history()
    except (LogError, OSError, ValueError):
        return None


def foreign_row(p: Path, read: tuple[Any, Any] | None = None) -> dict[str, Any] | None:
    """Another tool's log as a row, read whole (such logs are small next to ours), or from what
    `read_foreign` already read of it; None when P holds no log the cockpit reads."""
    read = read or read_foreign(p)
    if read is None:
        return None
    log, h = read
    return {
        "name": p.name,
        "path": str(log.source),
        "state": h.state if h.state != "unknown" else f"{log.kind} log",
        "step": h.step if len(h) else None,
        "total": h.total_steps,
        "loss": _last(h, "loss"),
        "lr": _last(h, "learning_rate"),
        "started": None,
        "duration": None,
        "note": None,
    }


Entry = tuple[str, Path, str]
"""A thing found in a runs folder: its name, its path, and how to read it: `ours` (a run directory),
`no-events` (one whose events.jsonl is gone) or `foreign` (maybe another tool's log)."""


def entries(root: Path) -> list[Entry]:
    """What a runs folder holds, found without reading any log (a sweep's or study's trials one by one),
    so a folder of many runs is listed by name at once and read after (`row_of`)."""
    found: list[Entry] = []
    for p in sorted(root.iterdir()):
        rd = RunDir(p)
        if p.is_dir() and rd.events.exists():
            found.append((p.name, p, "ours"))
        elif p.is_dir() and (rd.config.exists() or rd.lock.exists()):
            found.append((p.name, p, "no-events"))
        elif is_run_group(p):
            found += [(f"{p.name}/{t.name}", t, "ours") for t in member_runs(p)]
        else:
            found.append((p.name, p, "foreign"))
    return found


def row_of(entry: Entry) -> dict[str, Any] | None:
    """The entry's `cockpit ls` row; None for a file or folder holding no log the cockpit reads."""
    name, p, how = entry
    if how == "ours":
        r = run_row(RunDir(p))
    elif how == "no-events":
        r = events_missing_row(RunDir(p))
    else:
        r = foreign_row(p)
    if r is not None:
        r["name"] = name
    return r


def _last(h, key: str) -> float | None:
    v = h.last(key)
    return v if v == v else None


def _dur(s: float | None) -> str:
    return span(s, seconds_past_an_hour=False)  # a table of runs: minutes are enough past an hour


def not_a_runs_folder(root: Path) -> int | None:
    """Say why ROOT lists no runs and return the exit code (0: none yet, 2: a file); None for a folder."""
    if not root.exists():
        print(f"no runs yet: {root} does not exist (start one with `cockpit demo` or `cockpit run CONFIG`)")
        return 0
    if not root.is_dir():
        print(f"error: {root} is not a directory (to open one run: cockpit replay {root})", file=sys.stderr)
        return 2
    return None


def main(runs_dir: str, as_json: bool = False) -> int:
    root = Path(runs_dir)
    if (code := not_a_runs_folder(root)) is not None:
        return code
    rows = [r for e in entries(root) if (r := row_of(e)) is not None]
    rows.sort(key=lambda r: r["started"] or 0)
    if as_json:
        print(json.dumps(rows, indent=1))
        return 0
    if not rows:
        print(f"no runs in {root}")
        return 0
    head = ("RUN", "STATE", "STEP", "LOSS", "LR", "STARTED", "DURATION")
    table = [head]
    for r in rows:
        step = "-" if r["step"] is None and r["total"] is None else f"{r['step'] or 0}/{r['total'] or '?'}"
        loss = f"{r['loss']:.4g}" if isinstance(r["loss"], (int, float)) else "-"
        lr = f"{r['lr']:.2e}" if isinstance(r["lr"], (int, float)) else "-"
        started = datetime.fromtimestamp(r["started"]).strftime("%m-%d %H:%M") if r["started"] else "-"
        table.append((r["name"], r["state"], step, loss, lr, started, _dur(r["duration"])))
    widths = [max(len(str(row[i])) for row in table) for i in range(len(head))]
    for row in table:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip())
    for r in rows:
        if r.get("note"):
            print(f"{r['name']}: {r['state']}: {r['note']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(os.environ.get("RUNS_DIR", "runs")))
