"""What the `system` events cost the training loop (issue 38 item 5), measured side by side in one run.

1. one reading (`SystemSampler.sample`) alone, outside training: median and p95 over many calls;
2. the same reading inside real steps of the demo's tiny model: the `SystemEventsCallback.on_log` hook
   timed within training, with a reading at every logged step (`logging_steps=1`, interval 0);
3. an interleaved run (bench/interleave.py): every step runs the cockpit's callbacks; in (s) steps the
   system callback reads and writes at every logged step, in (a) and (a2) it is skipped (a2: the A/A
   control). The ratio s/a is the worst case, a reading per step; the shipped interval (15 s) takes one
   reading per 15 s of training, whatever the step rate.

  .venv/bin/python bench/bench_system.py [--steps 1200] [--block 4]
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from interleave import Interleaved, schedule  # noqa: E402
from sft_run import bench_config, seeded_trainer, variant_switch  # noqa: E402


def reading_alone(n: int) -> list[float]:
    from cockpit.trainer.system_sampler import SystemSampler

    with tempfile.TemporaryDirectory() as tmp:
        sampler = SystemSampler(tmp, device_index=None)
        out = []
        for _ in range(n):
            t0 = time.perf_counter()
            sampler.sample()
            out.append(time.perf_counter() - t0)
    return out


def interleaved(steps: int, block: int, seed: int = 1):
    """One demo run: (a), (a2), (s) switched every `block` steps; returns (Interleaved, in-step hook times)."""
    os.environ["COCKPIT_SYSTEM_EVERY"] = "0"
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

    from cockpit.rundir import EventWriter, RunDir
    from cockpit.trainer import build
    from cockpit.trainer.callbacks import RunControl, cockpit_callbacks
    from cockpit.trainer.callbacks.system import SystemEventsCallback
    from cockpit.trainer.memory import make_reader

    cfg = bench_config(str(ROOT / "sample_configs" / "demo-tiny.yaml"), steps)
    idx = build.device_index()
    model_path = build.resolve_model(cfg)
    tokenizer = build.load_tokenizer(cfg, model_path)
    train_ds, _, _ = build.datasets_for(cfg)
    plan = schedule(["a", "a2", "s"], block, steps + 1, seed)
    result = Interleaved()
    hook_times: list[float] = []

    with tempfile.TemporaryDirectory() as tmp:
        rd = RunDir(Path(tmp) / "run").create()
        rd.config.write_text(cfg.to_yaml())
        events = EventWriter(rd.events)
        mem_kind, reader = make_reader(idx)
        callbacks = cockpit_callbacks(RunControl(rd, cfg, events), reader, mem_kind, device_index=idx)
        system = next(c for c in callbacks if isinstance(c, SystemEventsCallback))
        on_log = system.on_log

        def timed_on_log(*args, **kw):
            t0 = time.perf_counter()
            on_log(*args, **kw)
            if system.every == 0:
                hook_times.append(time.perf_counter() - t0)

        system.on_log = timed_on_log

        def enter(variant: str) -> None:
            system.every = 0.0 if variant == "s" else math.inf  # inf: every reading is "too soon"

        trainer = seeded_trainer(
            cfg,
            Path(tmp),
            model_path,
            tokenizer,
            train_ds,
            idx,
            [variant_switch(plan, enter, result, idx, skip=20), *callbacks],
        )
        trainer.train()
        events.close()
        written = sum(1 for line in rd.events.read_text().splitlines() if '"kind":"system"' in line)
    return result, hook_times, written


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=1200)
    ap.add_argument("--block", type=int, default=4)
    ap.add_argument("--calls", type=int, default=2000)
    a = ap.parse_args()

    alone = sorted(reading_alone(a.calls))
    print(
        f"one reading alone ({a.calls} calls): median {statistics.median(alone) * 1e6:.0f} µs, "
        f"p95 {alone[int(0.95 * len(alone))] * 1e6:.0f} µs"
    )
    res, hooks, written = interleaved(a.steps, a.block)
    times = res.times()
    base = statistics.median(times["a"])
    print(f"\ninside training: {len(hooks)} readings written in (s) steps ({written} system events in the log)")
    print(
        f"the hook per reading: median {statistics.median(hooks) * 1e6:.0f} µs, mean "
        f"{statistics.fmean(hooks) * 1e6:.0f} µs; median bare step of (a) {base * 1000:.1f} ms"
    )
    print(
        f"at the shipped 15 s interval: {statistics.fmean(hooks) * 1e6:.0f} µs per 15 s of training = "
        f"{statistics.fmean(hooks) / 15:.1e} of the run's time"
    )
    print(
        f"\n| interleaved: {a.steps} steps, {a.block} per variant per round | steps | median step (ms) | ratio to (a) | ± SE |"
    )
    print("|---|---|---|---|---|")
    for v in ("a", "a2", "s"):
        if v == "a":
            print(f"| (a) no reading | {len(times[v])} | {base * 1000:.2f} | 1 | |")
            continue
        e = res.estimate(v)
        name = "(a2) no reading again: the A/A control" if v == "a2" else "(s) a reading at every logged step"
        print(
            f"| {name} | {len(times[v])} | {statistics.median(times[v]) * 1000:.2f} | **{e.ratio:.4f}** | {e.se:.2%} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
