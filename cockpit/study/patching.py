"""Config changes as dotted patches (`training.learning_rate: 1e-4`): applied, compared, shown."""

from __future__ import annotations

import copy
from typing import Any

from cockpit import config_patch
from cockpit.config import RunConfig

# Fields the study sets per run (length, evaluation cadence, checkpoints, name, stage): two runs that
# differ only in these trained the same config.
PER_RUN = ("name", "sop_stage", "training.max_steps", "training.save_steps", "training.eval_steps")


def apply_patch(cfg: RunConfig, patch: dict[str, Any]) -> RunConfig:
    """A validated copy of cfg with every dotted key of patch set."""
    return RunConfig.model_validate(config_patch.apply_patch(cfg.model_dump(mode="json"), copy.deepcopy(patch)))


def _without_per_run(cfg: RunConfig) -> dict[str, Any]:
    data = cfg.model_dump(mode="json")
    for dotted in PER_RUN:
        cur = data
        parts = dotted.split(".")
        for p in parts[:-1]:
            cur = cur.get(p, {})
        cur.pop(parts[-1], None)
    return data


def same_training(a: RunConfig, b: RunConfig) -> bool:
    """True when a and b train the same thing (they may differ in length, name and evaluation cadence)."""
    return _without_per_run(a) == _without_per_run(b)


def show(patch: dict[str, Any]) -> str:
    """`lora.lora_alpha 16 -> 32`-free short form: `lora_alpha=32, learning_rate=0.0001`."""
    if not patch:
        return "no change"
    return ", ".join(
        f"{k.rsplit('.', 1)[-1]}={v:g}" if isinstance(v, float) else f"{k.rsplit('.', 1)[-1]}={v}"
        for k, v in patch.items()
    )
