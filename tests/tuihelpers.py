"""Run directories written by tests for the cockpit's Pilot and snapshot tests (fixed times: no clock)."""

from __future__ import annotations

import math
from pathlib import Path

from cockpit.config import RunConfig
from cockpit.rundir import RunDir, dumps

T0 = 1_790_000_000.0


def write_run(
    path: Path,
    steps: int = 60,
    *,
    state: str | None = "running",
    pid: int | None = None,
    spike_at: int | None = 40,
    nan_at: int | None = None,
    acks: bool = True,
) -> RunDir:
    """A deterministic run: cosine-ish loss, a grad_norm spike, an lr halving ack, a checkpoint."""
    rd = RunDir(path).create()
    cfg = RunConfig()
    cfg.training.max_steps = 100
    rd.config.write_text(cfg.to_yaml())
    lines = []

    def ev(kind, t, **f):
        lines.append(dumps({"v": 1, "t": T0 + t, "kind": kind, **f}))

    ev("state", 0, state="starting", step=0)
    ev(
        "run_started",
        1,
        config=cfg.model_dump(mode="json"),
        pid=pid or 999_999_999,
        trainer_pid=pid or 999_999_999,
        host="test",
        device="cpu",
        world_size=1,
        total_steps=100,
        trainable_params=16384,
        total_params=922752,
        mem_kind="ram",
    )
    ev("state", 1, state="running", step=0)
    lr = 2e-4
    for s in range(1, steps + 1):
        if acks and s == 30:
            ev("ack", 1 + s, id="a1", cmd="scale_lr", ok=True, step=30, change="lr 2e-4 -> 1e-4")
            lr /= 2
        if s == 50:
            ev("checkpoint", 1 + s, step=50, path=str(rd.checkpoints / "checkpoint-50"), reason="save")
        loss = float("nan") if s == nan_at else 3.0 * math.exp(-s / 30) + 0.5
        spike = bool(spike_at and spike_at <= s < spike_at + 3)
        gn = 12.0 if spike else 1.0 + 0.2 * math.sin(s)
        # The update size follows the spike, still under the advisor's warn band (5%).
        upd = 0.03 if spike else 0.004 + 0.001 * math.sin(s / 3)
        ev(
            "metrics",
            1 + s,
            step=s,
            epoch=s / 20,
            loss=loss,
            grad_norm=gn,
            update_ratio=upd,
            entropy=2.0 - s / 100,
            learning_rate=lr,
            mean_token_accuracy=0.3 + s / 200,
            num_tokens=s * 1000,
            mem_used=600 * 2**20,
            mem_total=24 * 2**30,
            mem_kind="ram",
            step_time=0.1,
            tokens_per_s=3000.0 + 10 * s,
        )
    ev("sample", 2 + steps, step=steps, prompt="Reverse the word.\nstorm", completion="mrots", max_new_tokens=12)
    if state and state != "running":
        ev("state", 3 + steps, state=state, step=steps)
    rd.events.write_text("\n".join(lines) + "\n")
    return rd


def append(rd: RunDir, **event) -> None:
    with open(rd.events, "a") as f:
        f.write(dumps({"v": 1, "t": T0 + 500, **event}) + "\n")
