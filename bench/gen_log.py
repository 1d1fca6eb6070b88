"""Write a realistic N-step events.jsonl (ours): `python bench/gen_log.py N OUT_DIR`."""

from __future__ import annotations

import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cockpit.config import RunConfig  # noqa: E402
from cockpit.rundir import RunDir, dumps  # noqa: E402


def write(n: int, out: Path) -> Path:
    rd = RunDir(out).create()
    cfg = RunConfig()
    cfg.training.max_steps = n
    rd.config.write_text(cfg.to_yaml())
    t0 = 1_790_000_000.0
    with open(rd.events, "w") as f:
        f.write(
            dumps(
                {
                    "v": 1,
                    "t": t0,
                    "kind": "run_started",
                    "config": cfg.model_dump(mode="json"),
                    "pid": 1,
                    "total_steps": n,
                    "trainable_params": 540672,
                    "device": "cpu",
                    "world_size": 1,
                }
            )
            + "\n"
        )
        lr = 2e-4
        for s in range(1, n + 1):
            if s % 5000 == 0:
                f.write(
                    dumps(
                        {
                            "v": 1,
                            "t": t0 + s,
                            "kind": "ack",
                            "id": f"c{s}",
                            "cmd": "scale_lr",
                            "ok": True,
                            "step": s,
                            "change": "lr x0.9",
                        }
                    )
                    + "\n"
                )
                lr *= 0.9
            if s % 10000 == 0:
                f.write(dumps({"v": 1, "t": t0 + s, "kind": "checkpoint", "step": s, "path": f"checkpoint-{s}"}) + "\n")
            gn = 1.0 + 0.3 * math.sin(s / 7) + (30.0 if s % 33333 == 0 else 0.0)
            f.write(
                dumps(
                    {
                        "v": 1,
                        "t": t0 + s * 0.5,
                        "kind": "metrics",
                        "step": s,
                        "epoch": s / 1000,
                        "loss": 2.0 * math.exp(-s / (n / 3)) + 0.5 + 0.05 * math.sin(s),
                        "grad_norm": gn,
                        "entropy": 2.0 - s / (2 * n),
                        "learning_rate": lr,
                        "mean_token_accuracy": 0.5,
                        "num_tokens": s * 4096,
                        "mem_used": 6e9,
                        "mem_total": 80e9,
                        "mem_kind": "vram",
                        "step_time": 0.5,
                        "tokens_per_s": 8192.0,
                    }
                )
                + "\n"
            )
        f.write(dumps({"v": 1, "t": t0 + n, "kind": "state", "state": "finished", "step": n}) + "\n")
    return rd.path


if __name__ == "__main__":
    print(write(int(sys.argv[1]), Path(sys.argv[2])))
