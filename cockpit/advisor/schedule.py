"""The learning rate a Hugging Face schedule should give at a step (for the schedule-anomaly rule)."""

from __future__ import annotations

import math
from typing import Any


def expected_lr(training: dict[str, Any], step: int, total: int) -> float | None:
    """lr used at optimizer step `step` (1-based, as logged), or None for schedules not modelled here."""
    peak = training.get("learning_rate")
    kind = training.get("lr_scheduler_type", "linear")
    if not isinstance(peak, (int, float)) or total <= 0:
        return None
    if kind == "constant":
        return float(peak)  # HF's "constant" ignores warmup
    ratio = training.get("warmup_ratio") or 0.0
    warm = math.ceil(total * ratio) if ratio else 0
    i = step - 1  # the Trainer logs the lr of the step just taken: scheduler index step-1
    if i < warm:
        return peak * i / max(1, warm)
    if kind == "constant_with_warmup":
        return float(peak)
    progress = (i - warm) / max(1, total - warm)
    if kind == "linear":
        return peak * max(0.0, 1 - progress)
    if kind == "cosine":
        return peak * max(0.0, 0.5 * (1 + math.cos(math.pi * progress)))
    return None
