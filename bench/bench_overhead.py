"""Training overhead of the cockpit, measured side by side in one process (A/B/C interleaved).

  (a) bare TRL SFTTrainer
  (b) + CockpitCallback (events written, commands polled, guards, memory readings)
  (c) + a cockpit attached (a real `cockpit attach` in a tmux pane tailing the events)

Same model, data, seed and steps for every variant; each repetition runs a, b, c in turn so drift in
machine load hits all three alike. Reports the median step time of each and the ratios b/a and c/a.

    .venv/bin/python bench/bench_overhead.py [--steps 80] [--reps 5] [--config sample_configs/demo-tiny.yaml]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", default=str(ROOT / "sample_configs" / "demo-tiny.yaml"))
    ap.add_argument("--steps", type=int, default=80)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--skip", type=int, default=5, help="warm-up steps left out of each median")
    ap.add_argument("--variants", default="a,b,c")
    ap.add_argument("--json", default=None, help="write the raw results here")
    a = ap.parse_args()

    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import torch
    from transformers import TrainerCallback
    from trl import SFTTrainer

    from cockpit.config import load_config
    from cockpit.rundir import EventWriter, RunDir
    from cockpit.trainer import build
    from cockpit.trainer.callback import CockpitCallback
    from cockpit.trainer.memory import make_reader

    cfg = load_config(a.config, [("training.max_steps", str(a.steps)), ("training.logging_steps", "1"),
                                 ("training.save_steps", "0"), ("samples.every", "0")])
    idx = build.device_index()
    model_path = build.resolve_model(cfg)
    tokenizer = build.load_tokenizer(cfg, model_path)
    train_ds, _, _ = build.datasets_for(cfg)
    variants = a.variants.split(",")
    has_tmux = shutil.which("tmux") is not None
    if "c" in variants and not has_tmux:
        print("tmux not found: variant (c) skipped")
        variants.remove("c")

    class StepClock(TrainerCallback):
        """The one measuring device, identical in every variant."""

        def __init__(self):
            self.t: list[float] = []

        def on_step_end(self, args, state, control, **kw):
            if idx is not None:
                torch.cuda.synchronize()
            self.t.append(time.perf_counter())

    def one(variant: str, work: Path) -> list[float]:
        torch.manual_seed(cfg.training.seed)
        model = build.load_model(cfg, model_path, idx)
        args = build.sft_config(cfg, work / "ckpt", idx, has_eval=False)
        clock = StepClock()
        callbacks: list = [clock]
        tmux_name = None
        events = None
        if variant in ("b", "c"):
            rd = RunDir(work / "run").create()
            rd.config.write_text(cfg.to_yaml())
            events = EventWriter(rd.events)
            mem_kind, reader = make_reader(idx)
            callbacks.insert(0, CockpitCallback(rd, cfg, events, reader, mem_kind))
            if variant == "c":
                tmux_name = f"bench-attach-{os.getpid()}"
                subprocess.run(["tmux", "new-session", "-d", "-s", tmux_name, "-x", "160", "-y", "48",
                                f"{sys.executable} -m cockpit.cli attach {rd.path}"], check=True)
                time.sleep(2.0)  # let the cockpit start and draw before timing begins
        trainer = SFTTrainer(model=model, args=args, train_dataset=train_ds, processing_class=tokenizer,
                             peft_config=build.lora_config(cfg, model), callbacks=callbacks)
        try:
            trainer.train()
        finally:
            if tmux_name:
                subprocess.run(["tmux", "kill-session", "-t", tmux_name], capture_output=True)
            if events is not None:
                events.close()
        d = [b - a_ for a_, b in zip(clock.t, clock.t[1:])]
        return d[a.skip:]

    results: dict[str, list[float]] = {v: [] for v in variants}
    for rep in range(a.reps):
        for v in variants:
            with tempfile.TemporaryDirectory() as tmp:
                med = statistics.median(one(v, Path(tmp)))
            results[v].append(med)
            print(f"rep {rep + 1}/{a.reps}  ({v}) median step {med * 1000:.2f} ms", flush=True)

    med = {v: statistics.median(x) for v, x in results.items()}
    print()
    print("| variant | median step (ms) | ratio to bare |")
    print("|---|---|---|")
    names = {"a": "(a) bare TRL SFTTrainer", "b": "(b) + CockpitCallback", "c": "(c) + cockpit attached"}
    for v in variants:
        print(f"| {names[v]} | {med[v] * 1000:.2f} | {med[v] / med['a']:.4f} |" if "a" in med else
              f"| {names[v]} | {med[v] * 1000:.2f} | - |")
    if a.json:
        Path(a.json).write_text(json.dumps({"per_rep": results, "median": med, "steps": a.steps,
                                            "device": build.device_label(idx)}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
