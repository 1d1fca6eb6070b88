"""SOP step 3, the learning-rate sweep: one short trial per lr, each a normal run directory.

    runs/<name>-sweep-<stamp>/
      sweep.yaml        the base config (resolved) and the sweep plan
      sweep.json        per trial: lr, state, verdict, evidence; the recommended lr (rewritten as trials end)
      sweep.log         the orchestrator's log
      next-config.yaml  the base config with the recommended lr, for the next SOP stage
      lr-5e-05/ ...     one run directory per trial (replay / attach / report work on each)

The orchestrator (`python -m cockpit.sweep SWEEP_DIR`) runs detached like a trainer, so closing the
sweep view never stops the sweep. Trials run one after another on one device, or side by side with one
GPU each when several are visible.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import yaml

from cockpit.config import RunConfig
from cockpit.run_groups import PLAN_FILE, SWEEP_FILE
from cockpit.run_groups import read_sweep_summary as read_summary
from cockpit.rundir import unused_stamped_path


class SweepError(Exception):
    """A sweep that cannot start; the message says why."""


def parse_lrs(text: str) -> list[float]:
    from cockpit.lr import check_lr_value

    out = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            v = float(part)
            check_lr_value("set", v)
        except ValueError as e:
            raise SweepError(f"--lrs: '{part}': {e}") from None
        out.append(v)
    if len(out) < 2:
        raise SweepError("--lrs: give at least two learning rates, e.g. 5e-5,1e-4,2e-4")
    return sorted(set(out))


def trial_name(lr: float) -> str:
    return f"lr-{lr:g}"


def create(cfg: RunConfig, lrs: list[float], steps: int, runs_dir: Path) -> Path:
    sweep_dir = unused_stamped_path(runs_dir, f"{cfg.name}-sweep")  # two sweeps in one second: -2
    sweep_dir.mkdir(parents=True, exist_ok=False)
    os.chmod(sweep_dir, 0o700)
    plan = {"lrs": lrs, "steps": steps, "config": cfg.model_dump(mode="json")}
    (sweep_dir / PLAN_FILE).write_text(yaml.safe_dump(plan, sort_keys=False))
    write_summary(
        sweep_dir,
        {
            "lrs": lrs,
            "steps": steps,
            "trials": [
                {"lr": lr, "run_dir": str(sweep_dir / trial_name(lr)), "state": "pending", "verdict": None}
                for lr in lrs
            ],
            "recommended_lr": None,
            "done": False,
        },
    )
    return sweep_dir


def write_summary(sweep_dir: Path, data: dict) -> None:
    tmp = sweep_dir / (SWEEP_FILE + ".tmp")
    tmp.write_text(json.dumps(data, indent=1, default=str))
    os.replace(tmp, sweep_dir / SWEEP_FILE)  # readers never see a half-written sweep.json


def spawn_orchestrator(sweep_dir: Path) -> subprocess.Popen:
    from cockpit.detached import append_fd, spawn_detached

    argv = [sys.executable, "-m", "cockpit.sweep", str(sweep_dir)]
    return spawn_detached(argv, append_fd(sweep_dir / "sweep.log"), env={**os.environ, "PYTHONUNBUFFERED": "1"})


def main(cfg: RunConfig, *, lrs: str, steps: int, runs_dir: Path, headless: bool, theme: str | None) -> int:
    try:
        lr_list = parse_lrs(lrs)
        if steps < 10:
            raise SweepError("--steps: a trial needs at least 10 steps to show a trend (SOP: 500-1000)")
        sweep_dir = create(cfg, lr_list, steps, runs_dir)
    except (SweepError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    spawn_orchestrator(sweep_dir)
    if not headless:
        from cockpit.tui.launch import open_sweep

        open_sweep(sweep_dir, theme=theme)
        return 0
    return follow(sweep_dir)


def follow(sweep_dir: Path, poll: float = 0.5) -> int:
    print(f"sweep: {sweep_dir}")
    seen: dict[float, str] = {}
    while True:
        s = read_summary(sweep_dir) or {}
        for t in s.get("trials", []):
            key = (t["lr"], t.get("state"), t.get("verdict"))
            if seen.get(t["lr"]) != key:
                seen[t["lr"]] = key
                if t.get("verdict"):
                    print(f"  lr {t['lr']:<8g} {t['state']:<9} {t['verdict']:<9} {t.get('reason', '')}")
                elif t.get("state") == "running":
                    print(f"  lr {t['lr']:<8g} running   ({t['run_dir']})")
        if s.get("done"):
            rec = s.get("recommended_lr")
            print(f"recommended lr: {rec:g}" if rec else "no trial had a smooth decline: see the verdicts above")
            if s.get("next_config"):
                print(f"next config:    {s['next_config']}")
            return 0 if rec else 1
        time.sleep(poll)
