"""Write an N-step log in another tool's format, as that tool writes it:
`python bench/gen_formats.py FORMAT N OUT` with FORMAT trainer_state | llamafactory | console.

The loss falls from 2.5 towards 0.9 with a little noise, an eval every 500 steps; what each tool logs
and how it prints it follow the real files in tests/fixtures/real-logs and tests/fixtures/formats."""

from __future__ import annotations

import json
import math
import random
import sys
from pathlib import Path


def _loss(s: int, rng: random.Random) -> float:
    return round(0.9 + 1.6 * math.exp(-s / 20_000) + rng.uniform(-0.05, 0.05), 4)


def _lr(s: int, n: int) -> float:
    return 2e-4 * min(1.0, s / 100) * (1 - s / (n + 1))


def trainer_state(n: int, out: Path) -> Path:
    """The Trainer's trainer_state.json: sorted keys, indent=2, log_history in the middle."""
    rng = random.Random(0)
    with open(out, "w") as f:
        f.write('{\n  "best_metric": null,\n  "epoch": 1.0,\n  "eval_steps": 500,\n')
        f.write(f'  "global_step": {n},\n  "is_hyper_param_search": false,\n  "log_history": [\n')
        for s in range(1, n + 1):
            g, lr, loss = round(0.8 + rng.random() * 0.4, 4), _lr(s, n), _loss(s, rng)
            f.write(
                ("" if s == 1 else ",\n")
                + f'    {{\n      "epoch": {s / n!r},\n      "grad_norm": {g!r},\n      "learning_rate": {lr!r},\n'
                + f'      "loss": {loss!r},\n      "step": {s}\n    }}'
            )
            if s % 500 == 0:
                f.write(",\n" + _indented({"epoch": s / n, "eval_loss": _loss(s, rng) + 0.05, "step": s}))
        f.write("\n  ],\n")
        f.write(f'  "logging_steps": 1,\n  "max_steps": {n},\n  "num_train_epochs": 1,\n  "save_steps": 500,\n')
        f.write('  "total_flos": 0.0,\n  "train_batch_size": 4,\n  "trial_name": null,\n  "trial_params": null\n}\n')
    return out


def _indented(entry: dict) -> str:
    body = ",\n".join(f'      "{k}": {json.dumps(v)}' for k, v in entry.items())
    return "    {\n" + body + "\n    }"


def llamafactory(n: int, out: Path) -> Path:
    """LLaMA-Factory's trainer_log.jsonl, newer layout (lr, throughput, total_tokens)."""
    rng = random.Random(0)
    with open(out, "w") as f:
        for s in range(1, n + 1):
            f.write(
                f'{{"current_steps": {s}, "total_steps": {n}, "loss": {_loss(s, rng)!r}, "lr": {_lr(s, n)!r}, '
                f'"epoch": {s / n!r}, "percentage": {round(100 * s / n, 2)!r}, "elapsed_time": "{_hms(2 * s)}", '
                f'"remaining_time": "{_hms(2 * (n - s))}", "throughput": 1800.5, "total_tokens": {4096 * s}}}\n'
            )
            if s % 500 == 0:
                ev = {"current_steps": s, "total_steps": n, "eval_loss": _loss(s, rng) + 0.05, "epoch": s / n}
                f.write(json.dumps(ev) + "\n")
    return out


def _hms(sec: int) -> str:
    d, r = divmod(sec, 86400)
    h, r = divmod(r, 3600)
    m, s = divmod(r, 60)
    return (f"{d} day{'s' if d > 1 else ''}, " if d else "") + f"{h}:{m:02d}:{s:02d}"


def console(n: int, out: Path) -> Path:
    """A saved console of a TRL run on newer transformers: progress bars, quoted values, other prints."""
    rng = random.Random(0)
    with open(out, "w") as f:
        f.write("***** Running training *****\n  Num examples = 4,000\n")
        f.write(f"  Total optimization steps = {n:,}\n")
        f.write("{'r': 16, 'lora_alpha': 32, 'target_modules': 'all-linear'}\n")
        for s in range(1, n + 1):
            pct = 100 * s // n
            log = {
                "loss": f"{_loss(s, rng):.4g}",
                "grad_norm": f"{0.8 + rng.random() * 0.4:.4g}",
                "learning_rate": f"{_lr(s, n):.4g}",
                "epoch": f"{s / n:.4g}",
            }
            f.write(f"\r{pct:3d}%|#####     | {s}/{n} [00:10<00:20,  3.21it/s]{log!r}\n")
            if s % 500 == 0:
                f.write(
                    f"{ {'eval_loss': f'{_loss(s, rng) + 0.05:.4g}', 'eval_runtime': '8.04', 'epoch': f'{s / n:.4g}'}!r}\n"
                )
        f.write(
            f"{ {'train_runtime': '2279', 'train_samples_per_second': '2.996', 'train_loss': '1.229', 'epoch': '1'}!r}\n"
        )
    return out


WRITERS = {"trainer_state": trainer_state, "llamafactory": llamafactory, "console": console}
NAMES = {"trainer_state": "trainer_state.json", "llamafactory": "trainer_log.jsonl", "console": "train.log"}

if __name__ == "__main__":
    fmt, n, out = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
    print(WRITERS[fmt](n, out))
