"""The study against brute force: `cockpit study --auto`'s final eval loss against a grid's best and against
the start config run untouched, all on the study's own eval split, with the steps each spent.

    python bench/study_vs_grid.py                          # the demo: study 60/300, grid and start 300 steps
    python bench/study_vs_grid.py --config sample_configs/smollm2-135m-lora.yaml \\
        --trial-steps 20 --final-steps 60 --lrs 3e-4 1e-3 3e-3 --jobs 1

The grid is lr x lora_alpha x lora_dropout (--lrs, --alphas, --dropouts: 4 x 2 x 2 = 16 configs by
default), each run --final-steps long with the study's eval split (data.eval_ratio 0.1 unless the config
has eval data); the start run is the config as given, with the same split. Results are written to
OUT/results.json (one entry per run, kept across invocations: a run already there is not repeated)
and printed as a table. The goal (issue 35): the study within 2% of the grid's best at no more than
40% of the grid's steps, and never worse than the start.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def split_patch(cfg) -> dict:
    """The study's eval split (stage 2's baseline patch): what every run here is measured on."""
    from cockpit.study.stages_early import baseline_patch
    from cockpit.study.types import StageInput

    return baseline_patch(StageInput(stage=2, config=cfg))


def final_eval(run_dir: Path) -> tuple[int, float | None, str]:
    """(steps trained, the last eval loss after step 0, final state)."""
    from cockpit.logs import resolve
    from cockpit.study.signals import final_eval_loss

    h = resolve(run_dir).history()
    fin = final_eval_loss(h)
    return int(h.step or 0), (fin[1] if fin else None), str(h.state)


def record(out: Path, name: str, entry: dict, results: dict) -> None:
    """Add one run's entry to OUT/results.json, re-read first: a study and a grid may run side by side."""
    rfile = out / "results.json"
    results.update(json.loads(rfile.read_text()) if rfile.exists() else {})
    results[name] = entry
    rfile.write_text(json.dumps(results, indent=1))


def start(cfg, run_dir: Path, steps: int):
    from cockpit.study.launcher import TrainerLauncher

    t = cfg.training
    t.max_steps, t.save_steps, t.eval_steps = steps, 0, steps
    cfg.name = run_dir.name
    launcher = TrainerLauncher()
    launcher.start(cfg, run_dir)
    return launcher


def run_configs(todo: list[tuple[str, object]], out: Path, steps: int, jobs: int, results: dict) -> None:
    """Run each (name, config) not yet in results, `jobs` at a time; record its eval loss and steps."""
    pending = [(n, c) for n, c in todo if n not in results]
    running: list[tuple[str, object, Path, float]] = []
    while pending or running:
        while pending and len(running) < jobs:
            name, cfg = pending.pop(0)
            rd = out / name
            if rd.exists():  # left by an interrupted bench: its trainer may still run, or have ended
                from cockpit.study.launcher import TrainerLauncher

                left = TrainerLauncher()
                if left.status(rd) != "died":
                    running.append((name, left, rd, time.monotonic()))
                    continue
                import shutil

                shutil.rmtree(rd)
            running.append((name, start(cfg, rd, steps), rd, time.monotonic()))
            print(f"  started {name}", flush=True)
        time.sleep(2)
        for item in list(running):
            name, launcher, rd, t0 = item
            if launcher.status(rd) == "running":
                continue
            running.remove(item)
            n, loss, state = final_eval(rd)
            entry = {"steps": n, "eval_loss": loss, "state": state, "wall_s": round(time.monotonic() - t0)}
            record(out, name, entry, results)
            print(f"  {name}: {state} at step {n}, eval loss {loss}", flush=True)


def run_study(config: Path, out: Path, trial_steps: int, final_steps: int, results: dict, seed=None) -> None:
    if "study" in results:
        return
    t0 = time.monotonic()
    left = sorted((out / "study").glob("*-study-*"))
    # Unattended, as the comparison needs: where only a person could judge, the study takes its default.
    unattended = ["--auto", "--accept-defaults"]
    state = json.loads((left[-1] / "study.json").read_text()).get("state") if left else None
    if state == "done":  # finished earlier (results.json lost it, or another invocation ran it): recorded
        cmd, code = None, 0
    elif left:
        cmd = [sys.executable, "-m", "cockpit.cli", "study", str(left[-1]), *unattended]  # an interrupted one
    else:
        cmd = [sys.executable, "-m", "cockpit.cli", "study", str(config), *unattended, "--runs-dir", str(out / "study")]
        cmd += ["--trial-steps", str(trial_steps), "--final-steps", str(final_steps)]
        cmd += [] if seed is None else ["--set", f"training.seed={seed}"]
    if cmd:
        print("  " + " ".join(cmd), flush=True)
        code = subprocess.run(cmd, check=False).returncode
    study_dir = max((out / "study").glob("*-study-*"), key=lambda p: p.stat().st_mtime)
    ledger = json.loads((study_dir / "study.json").read_text())
    runs, steps = [], 0
    for st in ledger["stages"]:
        for rec in st["trials"].values():
            if rec.get("reused") or not rec.get("run_dir"):
                continue
            n, loss, _ = final_eval(study_dir / rec["run_dir"])
            steps += n
            runs.append({"stage": st["stage"], "key": rec["key"], "steps": n, "eval_loss": loss})
    last = ledger["stages"][-1]
    final = last["trials"].get((last.get("extra") or {}).get("final_trial", "final"))
    finals = {k: final_eval(study_dir / rec["run_dir"])[1] for k, rec in last["trials"].items() if rec.get("final")}
    n, loss, state = final_eval(study_dir / final["run_dir"]) if final else (0, None, "none")
    entry = {
        "exit": code,
        "dir": str(study_dir),
        "steps": steps,
        "eval_loss": loss,
        "state": state,
        "final_config": {
            "learning_rate": ledger["config"]["training"]["learning_rate"],
            "lora_alpha": ledger["config"]["lora"]["lora_alpha"],
            "lora_dropout": ledger["config"]["lora"]["lora_dropout"],
        },
        "runs": runs,
        "finals": finals,
        "seed": ledger["config"]["training"]["seed"],
        "wall_s": round(time.monotonic() - t0),
    }
    record(out, "study", entry, results)


def report(results: dict, grid_names: list[str], final_steps: int) -> str:
    lines = ["| run | steps | eval loss |", "|---|---|---|"]
    for name, r in sorted(results.items(), key=lambda kv: (kv[1].get("eval_loss") is None, kv[1].get("eval_loss"))):
        loss = r.get("eval_loss")
        shown = f"{loss:.4f}" if loss is not None else f"- ({r['state']})"
        lines.append(f"| {name} | {r['steps']} | {shown} |")
    grid = {n: results[n] for n in grid_names if n in results}
    done = {n: r for n, r in grid.items() if r["eval_loss"] is not None}
    study, start_ = results.get("study"), results.get("start")
    if done and study and start_ and study["eval_loss"] is not None:
        best_name = min(done, key=lambda n: done[n]["eval_loss"])
        best = done[best_name]["eval_loss"]
        spent, planned = sum(r["steps"] for r in grid.values()), len(grid) * final_steps
        lines += [
            "",
            f"grid best {best_name}: {best:.4f}; study {study['eval_loss']:.4f} "
            f"({100 * (study['eval_loss'] / best - 1):+.1f}% of the grid's best), start {start_['eval_loss']:.4f} "
            f"(study {100 * (study['eval_loss'] / start_['eval_loss'] - 1):+.1f}%)",
            f"steps: study {study['steps']} = {100 * study['steps'] / planned:.0f}% of the grid's {planned} planned "
            f"({len(grid)} configs x {final_steps}), {100 * study['steps'] / spent:.0f}% of the {spent} it spent "
            f"(runs the guards stopped end early; {len(done)} finished)",
            f"study's final config: {study['final_config']}",
        ]
    return "\n".join(lines)


def reseeded(results: dict, grid: dict[str, dict], measured, study_cfg: dict | None) -> list[tuple[str, object]]:
    """The grid's best and the study's final config again with seed + 1: how far apart two seeds of one
    config end, the noise any comparison between 300-step runs sits in."""
    from cockpit.study.patching import apply_patch

    done = [n for n in grid if results.get(n, {}).get("eval_loss") is not None]
    out = []
    if done:
        best = min(done, key=lambda n: results[n]["eval_loss"])
        out.append((f"reseed-{best}", apply_patch(measured, grid[best])))
    if study_cfg:
        patch = {f"training.{k}" if k == "learning_rate" else f"lora.{k}": v for k, v in study_cfg.items()}
        out.append(("reseed-study-final", apply_patch(measured, patch)))
    seed = measured.training.seed + 1
    return [(n, apply_patch(c, {"training.seed": seed})) for n, c in out]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default=str(ROOT / "sample_configs" / "demo-tiny.yaml"))
    ap.add_argument("--out", default=None, help="results folder (default bench/results/study-vs-grid-<config name>)")
    ap.add_argument("--trial-steps", type=int, default=60)
    ap.add_argument("--final-steps", type=int, default=300)
    ap.add_argument("--lrs", type=float, nargs="+", default=[1e-3, 3e-3, 1e-2, 3e-2])
    ap.add_argument("--alphas", type=float, nargs="+", default=[16.0, 32.0])
    ap.add_argument("--dropouts", type=float, nargs="+", default=[0.05, 0.1])
    ap.add_argument("--jobs", type=int, default=1, help="grid runs at once")
    ap.add_argument("--reseed", action="store_true", help="the grid's best and the study's config with seed + 1")
    ap.add_argument("--seed", type=int, default=None, help="every run's training.seed (default: the config's)")
    ap.add_argument("--skip", choices=["study", "grid", "start"], nargs="*", default=[])
    a = ap.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from cockpit.config import load_config
    from cockpit.study.patching import apply_patch

    base = load_config(a.config)
    tag = "" if a.seed is None else f"-seed{a.seed}"
    out = Path(a.out or ROOT / "bench" / "results" / f"study-vs-grid-{base.name}{tag}").resolve()
    out.mkdir(parents=True, exist_ok=True)
    rfile = out / "results.json"
    results = json.loads(rfile.read_text()) if rfile.exists() else {}
    measured = apply_patch(base, split_patch(base))
    if a.seed is not None:
        measured = apply_patch(measured, {"training.seed": a.seed})
    todo = [] if "start" in a.skip else [("start", measured)]
    grid: dict[str, dict] = {}
    for lr, alpha, d in itertools.product(a.lrs, a.alphas, a.dropouts):
        name = f"grid-lr{lr:g}-a{alpha:g}-d{d:g}"
        grid[name] = {"training.learning_rate": lr, "lora.lora_alpha": alpha, "lora.lora_dropout": d}
        if "grid" not in a.skip:
            todo.append((name, apply_patch(measured, grid[name])))
    if "study" not in a.skip:
        run_study(Path(a.config).resolve(), out, a.trial_steps, a.final_steps, results, a.seed)
    run_configs(todo, out, a.final_steps, a.jobs, results)
    if a.reseed:
        study_cfg = (results.get("study") or results.get("study-run1") or {}).get("final_config")
        run_configs(reseeded(results, grid, measured, study_cfg), out, a.final_steps, a.jobs, results)
    print(report(results, list(grid), a.final_steps))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
