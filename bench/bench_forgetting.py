"""Forgetting, measured: task and general eval loss of runs side by side, and their general samples.

    python bench/bench_forgetting.py RUN_DIR [RUN_DIR ...]              # a table per run, then the samples
    python bench/bench_forgetting.py RUN_DIR --fixture OUT.jsonl         # also a trimmed copy of the events
    python bench/bench_forgetting.py RUN_DIR [RUN_DIR ...] --answers     # general questions: base vs each adapter

The fixture keeps what the advisor reads (run_started's config, metrics' loss/grad_norm/entropy/lr,
eval, state): tests/fixtures/forgetting/ holds the two SmolLM2 runs of bench/README.md this way.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

KEEP = {
    "metrics": ("step", "loss", "grad_norm", "entropy", "learning_rate"),
    "state": ("step", "state", "reason"),
    "run_started": ("config", "total_steps", "train_rows", "general_rows"),
}


def trimmed(evs: list[dict]) -> list[dict]:
    out = []
    for e in evs:
        k = e.get("kind")
        if k == "eval":
            out.append({x: e[x] for x in ("v", "t", "kind", "step", "eval_loss", "general_eval_loss") if x in e})
        elif k in KEEP:
            out.append({"v": e.get("v", 1), "t": e.get("t"), "kind": k, **{x: e[x] for x in KEEP[k] if x in e}})
    return out


def answers(runs: list[Path], n: int = 4, max_new_tokens: int = 32) -> None:
    """Greedy answers to the first n general sample questions by the base, then by base + each run's adapter
    (the trainer's own sampler, so the prompts are rendered as in training)."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from cockpit.config import load_config
    from cockpit.general import SAMPLE_QUESTIONS
    from cockpit.trainer.build import make_sampler, resolve_model

    cfg = load_config(runs[0] / "config.yaml")
    cfg.samples.prompts, cfg.samples.general_prompts = list(SAMPLE_QUESTIONS[:n]), 0
    cfg.samples.max_new_tokens = max_new_tokens
    path = resolve_model(cfg)
    tok = AutoTokenizer.from_pretrained(path)
    sample = make_sampler(cfg)
    rows = {"base": sample(AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32), tok)}
    for rd in runs:
        base = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
        rows[rd.name] = sample(PeftModel.from_pretrained(base, str(rd / "adapter")), tok)
    for i, q in enumerate(cfg.samples.prompts):
        print(f"Q: {q}")
        for name, got in rows.items():
            print(f"  {name}: {got[i][1]!r}")


def main(argv: list[str]) -> None:
    from cockpit.advisor import evaluate
    from cockpit.general import sample_prompts
    from cockpit.history import History
    from cockpit.rundir import read_events

    general = set(sample_prompts(8))
    runs = [Path(a) for a in argv if not a.startswith("--") and not a.endswith(".jsonl")]
    fixture = argv[argv.index("--fixture") + 1] if "--fixture" in argv else None
    for rd in runs:
        evs = list(read_events(rd / "events.jsonl"))
        started = next(e for e in evs if e["kind"] == "run_started")
        d = started["config"]["data"]
        print(
            f"{rd.name}: general_mix {d.get('general_mix')}, {started.get('train_rows')} train rows "
            f"({started.get('general_rows', 0)} general), lr {started['config']['training']['learning_rate']}"
        )
        print("  step  eval_loss  general_eval_loss")
        for e in (e for e in evs if e["kind"] == "eval"):
            ev = e.get("eval_loss")
            print(
                f"  {e['step']:>4}  {ev if ev is None else round(ev, 3)!s:>9}  {round(e['general_eval_loss'], 3):>17}"
            )
        f = [x for x in evaluate(History().extend(evs))[1] if x.rule == "forgetting"]
        print(f"  finding: {f[0].severity}: {f[0].message}" if f else "  finding: none")
        for e in (e for e in evs if e["kind"] == "sample"):
            tag = "general" if e["prompt"] in general else "task"
            print(f"  sample step {e['step']:>3} [{tag}] {e['prompt']!r}: {e['completion']!r}")
        if fixture:
            Path(fixture).write_text("".join(json.dumps(x) + "\n" for x in trimmed(evs)))
            print(f"  fixture -> {fixture}")
    if "--answers" in argv:
        answers(runs)


if __name__ == "__main__":
    main(sys.argv[1:])
