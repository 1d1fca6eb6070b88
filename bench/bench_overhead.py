"""Training overhead of the cockpit, measured side by side in one process (A/B/C interleaved).

  (a) bare TRL SFTTrainer
  (b) + the cockpit's callbacks (events written, commands polled, guards, memory readings)
  (c) + a cockpit attached (a real `cockpit attach` in a tmux pane tailing the events; see sft_run.py)

Same model, data, seed and steps for every variant. Two measures: separate runs (each repetition runs
a, b, c in turn; medians of the per-step medians), and, with --interleaved-steps, one run whose variant
changes every --block steps in rounds of shuffled order, with an A/A control (bench/interleave.py):
the ratio that can be read to a fraction of a percent on a noisy machine.

    .venv/bin/python bench/bench_overhead.py [--steps 80] [--reps 5] [--interleaved-steps 1600]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sft_run import NAMES, bench_config, run_interleaved, run_once  # noqa: E402


def time_hooks() -> dict[str, list[float]]:
    """Wrap every hook of the cockpit's callbacks with a timer: where their time goes, measured inside the
    steps themselves (immune to the run-to-run drift that swamps a 1% difference between runs)."""
    from collections import defaultdict

    from transformers import TrainerCallback

    import cockpit.trainer.callbacks as cbs

    times: dict[str, list[float]] = defaultdict(list)
    classes = {
        c
        for c in vars(cbs).values()
        if isinstance(c, type) and issubclass(c, TrainerCallback) and c.__module__.startswith(cbs.__name__ + ".")
    }
    for cls in classes:
        # Only the hooks a class defines itself: the inherited no-ops are not the cockpit's time.
        for name in [n for n in vars(cls) if n.startswith("on_")]:

            def timed(self, *args, _orig=getattr(cls, name), _name=f"{cls.__name__}.{name}", **kw):
                t0 = time.perf_counter()
                try:
                    return _orig(self, *args, **kw)
                finally:
                    times[_name].append(time.perf_counter() - t0)

            setattr(cls, name, timed)
    return times


def print_interleaved(res, steps: int, block: int) -> None:
    times = res.times()
    print()
    print(
        f"| interleaved: one run of {steps} steps, {block} steps per variant per round, rounds shuffled "
        "| steps | median step (ms) | ratio to (a): mean over rounds | ± SE | ratio of medians |"
    )
    print("|---|---|---|---|---|---|")
    for v in sorted(times, key=lambda v: list(NAMES).index(v)):
        if v == "a":
            print(f"| {NAMES[v]} | {len(times[v])} | {statistics.median(times[v]) * 1000:.2f} | 1 | | 1 |")
            continue
        e = res.estimate(v)
        print(
            f"| {NAMES[v]} | {len(times[v])} | {statistics.median(times[v]) * 1000:.2f} | **{e.ratio:.4f}** | "
            f"{e.se:.2%} | {e.ratio_of_medians:.4f} |"
        )


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", default=str(ROOT / "sample_configs" / "demo-tiny.yaml"))
    ap.add_argument("--steps", type=int, default=80)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--skip", type=int, default=5, help="warm-up steps left out of each median")
    ap.add_argument("--variants", default="a,b,c")
    ap.add_argument("--json", default=None, help="write the raw results here")
    ap.add_argument(
        "--interleaved-steps",
        type=int,
        default=0,
        help="also one run of this many steps, variants switched every --block steps in shuffled "
        "rounds (bench/interleave.py; 0: skip)",
    )
    ap.add_argument("--block", type=int, default=4, help="steps per variant per round in the interleaved run")
    ap.add_argument(
        "--interleaved-variants",
        default="a,a2,b,c",
        help="a: bare, a2: bare again (the A/A control), b: + callback, c: + cockpit attached",
    )
    ap.add_argument(
        "--deadline-s",
        type=float,
        default=None,
        help="end the interleaved run after this many seconds from the start, keeping what it measured",
    )
    ap.add_argument(
        "--hook-times",
        action="store_true",
        help="time each cockpit callback hook inside the steps of the (b) and (c) runs",
    )
    a = ap.parse_args()
    deadline = None if a.deadline_s is None else time.monotonic() + a.deadline_s

    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from cockpit.trainer import build

    cfg = bench_config(a.config, a.steps)
    idx = build.device_index()
    model_path = build.resolve_model(cfg)
    tokenizer = build.load_tokenizer(cfg, model_path)
    train_ds, _, _ = build.datasets_for(cfg)
    variants = a.variants.split(",")
    hooks = time_hooks() if a.hook_times else None

    def one(variant: str, work: Path) -> list[float]:
        return run_once(variant, cfg, work, model_path, tokenizer, train_ds, idx, a.skip).step_times

    results: dict[str, list[float]] = {v: [] for v in variants}
    for rep in range(a.reps):
        for v in variants:
            with tempfile.TemporaryDirectory() as tmp:
                med = statistics.median(one(v, Path(tmp)))
            results[v].append(med)
            print(f"rep {rep + 1}/{a.reps}  ({v}) median step {med * 1000:.2f} ms", flush=True)

    med = {v: statistics.median(x) for v, x in results.items() if x}
    if med:
        print()
        print("| variant | median step (ms) | ratio to bare |")
        print("|---|---|---|")
        for v in med:
            print(
                f"| {NAMES[v]} | {med[v] * 1000:.2f} | {med[v] / med['a']:.4f} |"
                if "a" in med
                else f"| {NAMES[v]} | {med[v] * 1000:.2f} | - |"
            )
    if hooks:
        print()
        print("| cockpit callback hook (b and c runs) | calls | median per call | total per optimizer step |")
        print("|---|---|---|---|")
        per_step = len(hooks.get("StepEventsCallback.on_step_end", ())) or 1  # optimizer steps the callbacks saw
        for name, xs in sorted(hooks.items(), key=lambda kv: -sum(kv[1])):
            if sum(xs) > 0:
                print(
                    f"| `{name}` | {len(xs)} | {statistics.median(xs) * 1e6:.0f} µs | {sum(xs) / per_step * 1e6:.0f} µs |"
                )
        total = sum(sum(xs) for xs in hooks.values()) / per_step
        print(
            f"| all hooks | | | **{total * 1e6:.0f} µs** ({total / med['a']:.2%} of a bare step) |"
            if "a" in med
            else f"| all hooks | | | **{total * 1e6:.0f} µs** |"
        )
    inter = None
    if a.interleaved_steps:
        icfg = bench_config(a.config, a.interleaved_steps)
        with tempfile.TemporaryDirectory() as tmp:
            res = run_interleaved(
                icfg,
                Path(tmp),
                model_path,
                tokenizer,
                train_ds,
                idx,
                a.block,
                variants=tuple(a.interleaved_variants.split(",")),
                deadline=deadline,
            )
        inter = {"block": a.block, "rows": res.rows}
        print_interleaved(res, a.interleaved_steps, a.block)
    if a.json:
        Path(a.json).write_text(
            json.dumps(
                {
                    "per_rep": results,
                    "median": med,
                    "steps": a.steps,
                    "interleaved": inter,
                    "device": build.device_label(idx),
                },
                indent=1,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
