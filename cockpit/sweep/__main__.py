"""The sweep orchestrator process: `python -m cockpit.sweep SWEEP_DIR` (started detached by `cockpit sweep`)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import yaml

from cockpit.config import RunConfig
from cockpit.launch import LaunchError, start_run
from cockpit.logs import resolve
from cockpit.rundir import FINAL_STATES, RunDir, last_event, pid_alive, read_lock_pid
from cockpit.sweep import PLAN_FILE, read_summary, trial_name, write_summary
from cockpit.sweep.verdict import recommend, trial_verdict


def visible_gpus() -> list[str]:
    """GPU ids to give one trial each; empty on a CPU machine. Read without importing torch."""
    vis = os.environ.get("CUDA_VISIBLE_DEVICES")
    if vis is not None:
        return [v.strip() for v in vis.split(",") if v.strip()]
    try:
        import pynvml

        pynvml.nvmlInit()
        return [str(i) for i in range(pynvml.nvmlDeviceGetCount())]
    except Exception:
        return []


def run(sweep_dir: Path) -> int:
    plan = yaml.safe_load((sweep_dir / PLAN_FILE).read_text())
    base = RunConfig.model_validate(plan["config"])
    summary = read_summary(sweep_dir) or {}
    trials = summary["trials"]
    gpus = visible_gpus()
    slots = max(1, len(gpus))
    pending = [t for t in trials if t["state"] == "pending"]
    running: dict[str, str | None] = {}  # run_dir -> gpu

    def start(t: dict) -> None:
        cfg = base.model_copy(deep=True)
        cfg.training.learning_rate = float(t["lr"])
        cfg.training.max_steps = int(plan["steps"])
        cfg.training.save_steps = 0
        cfg.name = f"{base.name}-{trial_name(t['lr'])}"
        free = [g for g in gpus if g not in running.values()]
        gpu = free[0] if free else None
        env = {"CUDA_VISIBLE_DEVICES": gpu} if gpu is not None else None
        try:
            start_run(cfg, runs_dir=sweep_dir, run_dir=Path(t["run_dir"]), env=env)
            t["state"] = "running"
            t["gpu"] = gpu
            running[t["run_dir"]] = gpu
        except LaunchError as e:
            t["state"], t["verdict"], t["reason"] = "crashed", "failed", str(e)
        print(f"trial lr={t['lr']:g}: {t['state']}", flush=True)

    while pending or running:
        while pending and len(running) < slots:
            start(pending.pop(0))
            write_summary(sweep_dir, summary)
        time.sleep(1.0)
        for t in trials:
            if t["run_dir"] not in running:
                continue
            rd = RunDir(t["run_dir"])
            ev = last_event(rd.events, "state")
            state = ev.get("state") if ev else None
            holder = read_lock_pid(rd)
            if state not in FINAL_STATES and (holder is None or pid_alive(holder)):
                continue
            running.pop(t["run_dir"])
            hist = resolve(rd.path).history()
            t["state"] = state if state in FINAL_STATES else "crashed"
            t.update(trial_verdict(hist, base))
            print(f"trial lr={t['lr']:g}: {t['state']} -> {t['verdict']} ({t.get('reason')})", flush=True)
            write_summary(sweep_dir, summary)
    rec = recommend(trials)
    summary["recommended_lr"] = rec
    if rec is not None:
        nxt = base.model_copy(deep=True)
        nxt.training.learning_rate = rec
        nxt.sop_stage = 4
        path = sweep_dir / "next-config.yaml"
        path.write_text(
            f"# From the lr sweep in {sweep_dir.name}: recommended learning_rate {rec:g}.\n"
            "# SOP stage 4 next (dropout); run the full length with it.\n" + nxt.to_yaml()
        )
        summary["next_config"] = str(path)
    summary["done"] = True
    write_summary(sweep_dir, summary)
    return 0


if __name__ == "__main__":
    sys.exit(run(Path(sys.argv[1])))
