"""Training overhead of `CockpitCallback` in a user's own TRL script, measured as bench_overhead.py
measures our trainer's: one run whose variant changes every --block steps in rounds of shuffled order,
with an A/A control (bench/interleave.py says why).

  (a)  the user's SFTTrainer script, bare
  (a2) the same again: the A/A control, the floor below which nothing can be read
  (b)  + CockpitCallback (what `cockpit run -- python script.py` adds): events written, commands polled,
       the stop list, memory readings, the update size

The script is examples/sft_trl.py's setup (SFTConfig, LoRA r 8 on q,v, the demo model and data).

    OMP_NUM_THREADS=1 .venv/bin/python bench/bench_script_overhead.py [--steps 600] [--block 4]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "examples"))

from interleave import Interleaved, schedule  # noqa: E402

NAMES = {"a": "(a) bare user SFTTrainer script", "a2": "(a2) bare again: the A/A control", "b": "(b) + CockpitCallback"}
ALWAYS = ("on_init_end", "on_train_begin", "on_train_end")


def run(steps: int, block: int, skip: int, work: Path) -> Interleaved:
    import torch
    from datasets import load_dataset
    from peft import LoraConfig
    from sft_trl import to_messages
    from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback
    from trl import SFTConfig, SFTTrainer

    from cockpit.callback import CockpitCallback
    from cockpit.demo import demo_data_path, ensure_demo_model

    model_dir = str(ensure_demo_model())
    plan = schedule(["a", "a2", "b"], block, steps + 1)
    result = Interleaved()
    cockpit = CockpitCallback(work / "run")

    class Toggled(TrainerCallback):
        on = False

    for hook in [n for n in dir(TrainerCallback) if n.startswith("on_")]:

        def forward(self, args, state, control, _hook=hook, **kw):
            if self.on or _hook in ALWAYS:
                return getattr(cockpit, _hook)(args, state, control, **kw)
            return None

        setattr(Toggled, hook, forward)
    toggled = Toggled()

    class Switch(TrainerCallback):
        """Listed first: reads the clock at each step end, then switches to the next step's variant."""

        t_end: float | None = None
        current = plan[0]

        def on_train_begin(self, args, state, control, **kw):
            toggled.on = self.current[1] == "b"

        def on_step_end(self, args, state, control, **kw):
            now = time.perf_counter()
            if self.t_end is not None and state.global_step > skip:
                result.rows.append((state.global_step, *self.current, now - self.t_end))
            self.t_end = now
            self.current = plan[min(state.global_step, len(plan) - 1)]
            toggled.on = self.current[1] == "b"

    torch.manual_seed(42)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    data = load_dataset("json", data_files=str(demo_data_path()), split="train").map(
        to_messages, remove_columns=["instruction", "input", "output"]
    )
    args = SFTConfig(
        output_dir=str(work / "out"),
        max_steps=steps,
        learning_rate=3e-4,
        per_device_train_batch_size=8,
        logging_steps=1,
        save_strategy="no",
        max_length=128,
        report_to="none",
        use_cpu=True,
        disable_tqdm=True,
    )
    peft = LoraConfig(r=8, lora_alpha=16, lora_dropout=0.05, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM")
    trainer = SFTTrainer(
        model=model,
        args=args,
        train_dataset=data,
        processing_class=tokenizer,
        peft_config=peft,
        callbacks=[Switch(), toggled],
    )
    cockpit.trainer = trainer
    trainer.train()
    return result


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--block", type=int, default=4)
    ap.add_argument("--skip", type=int, default=20, help="warm-up steps left out")
    a = ap.parse_args()
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    with tempfile.TemporaryDirectory() as tmp:
        res = run(a.steps, a.block, a.skip, Path(tmp))
    times = res.times()
    print()
    print(
        f"| one run of {a.steps} steps, {a.block} per variant per round | steps | median step (ms) | ratio to (a) | ± SE |"
    )
    print("|---|---|---|---|---|")
    for v in ("a", "a2", "b"):
        med = statistics.median(times[v]) * 1000
        if v == "a":
            print(f"| {NAMES[v]} | {len(times[v])} | {med:.2f} | 1 | |")
            continue
        e = res.estimate(v)
        print(f"| {NAMES[v]} | {len(times[v])} | {med:.2f} | **{e.ratio:.4f}** | {e.se:.2%} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
