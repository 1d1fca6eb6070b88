"""SmolLM2-135M on the CPU: what a finished run measured, and greedy answers before and after.

    python bench/bench_smollm2.py RUN_DIR [RUN_DIR ...]      # a LoRA and a QLoRA run of the sample configs
    python bench/bench_smollm2.py RUN_DIR --samples          # also the base's and the adapter's answers

Per run: median s/step and tokens/s over the logged steps (the callback's own step_time, generation and
eval excluded), peak process RSS, mean loss of the first and last 10 steps, every eval_loss. With
--samples, the config's sample prompts answered greedily by the base alone and by base + adapter
(the sampler the trainer uses, so the prompts are rendered exactly as in training).
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def summary(run_dir: Path) -> dict:
    from cockpit.rundir import read_events

    evs = list(read_events(run_dir / "events.jsonl"))
    metrics = [e for e in evs if e["kind"] == "metrics"]
    started = next(e for e in evs if e["kind"] == "run_started")
    times = [e["step_time"] for e in metrics if isinstance(e.get("step_time"), (int, float))]
    tps = [e["tokens_per_s"] for e in metrics if isinstance(e.get("tokens_per_s"), (int, float))]
    losses = [e["loss"] for e in metrics if isinstance(e.get("loss"), (int, float))]
    return {
        "run": run_dir.name,
        "quantization": started["config"]["model"]["quantization"],
        "total_params": started.get("total_params"),
        "trainable_params": started.get("trainable_params"),
        "steps": len(metrics),
        "s_per_step": statistics.median(times) if times else None,
        "tokens_per_s": statistics.median(tps) if tps else None,
        "peak_rss_gib": max(e.get("mem_used") or 0 for e in metrics) / 2**30,
        "loss_first10": statistics.mean(losses[:10]) if losses else None,
        "loss_last10": statistics.mean(losses[-10:]) if losses else None,
        "eval_loss": [(e["step"], round(e["eval_loss"], 4)) for e in evs if e["kind"] == "eval"],
        "samples_last": [(e["prompt"], e["completion"]) for e in evs if e["kind"] == "sample"][-3:],
    }


def answers(run_dir: Path) -> tuple[list, list]:
    """(base answers, base + adapter answers) for the run's sample prompts, greedy."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from cockpit.config import load_config
    from cockpit.trainer.build import make_sampler, resolve_model

    cfg = load_config(run_dir / "config.yaml")
    path = resolve_model(cfg)
    tok = AutoTokenizer.from_pretrained(path)
    sample = make_sampler(cfg)
    base = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
    before = sample(base, tok)
    after = sample(PeftModel.from_pretrained(base, str(run_dir / "adapter")), tok)
    return before, after


def main(argv: list[str]) -> None:
    want_samples = "--samples" in argv
    for arg in (a for a in argv if not a.startswith("--")):
        rd = Path(arg)
        s = summary(rd)
        print(
            f"{s['run']} ({s['quantization']}): {s['total_params']:,} params, {s['trainable_params']:,} trainable, "
            f"{s['steps']} steps"
        )
        print(
            f"  {s['s_per_step']:.2f} s/step, {s['tokens_per_s']:.0f} tokens/s (medians), peak RSS "
            f"{s['peak_rss_gib']:.2f} GiB"
        )
        print(
            f"  loss {s['loss_first10']:.3f} (first 10 steps) -> {s['loss_last10']:.3f} (last 10); eval_loss "
            + ", ".join(f"step {st}: {v}" for st, v in s["eval_loss"])
        )
        if want_samples:
            before, after = answers(rd)
            for (p, b), (_, a) in zip(before, after):
                print(f"  Q: {p}\n    before: {b!r}\n    after:  {a!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
