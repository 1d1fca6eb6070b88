"""The learning rate a Hugging Face schedule should give at each step (for the schedule-anomaly rule)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def expected_lrs(training: dict[str, Any], steps, total: int) -> np.ndarray | None:
    """lr used at each optimizer step in `steps` (1-based, as logged), or None for schedules not
    modelled here. Vectorised: the rule checks every logged step of the run."""
    peak = training.get("learning_rate")
    kind = training.get("lr_scheduler_type", "linear")
    if not isinstance(peak, (int, float)) or total <= 0:
        return None
    i = np.asarray(steps, dtype=np.float64) - 1  # the Trainer logs the lr of the step just taken
    if kind == "constant":
        return np.full(len(i), float(peak))  # HF's "constant" ignores warmup
    if kind not in ("constant_with_warmup", "linear", "cosine"):
        return None
    ratio = training.get("warmup_ratio") or 0.0
    warm = math.ceil(total * ratio) if ratio else 0
    progress = (i - warm) / max(1, total - warm)
    if kind == "constant_with_warmup":
        after = np.full(len(i), float(peak))
    elif kind == "linear":
        after = peak * np.maximum(0.0, 1 - progress)
    else:
        after = peak * np.maximum(0.0, 0.5 * (1 + np.cos(np.pi * progress)))
    return np.where(i < warm, peak * i / max(1, warm), after)
