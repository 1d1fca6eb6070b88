"""Danger bands per metric, from the run's thresholds (the SOP's defaults). Pure: no Textual.

Every band has a symbol as well as a colour, so it reads on a 16-colour terminal and for colour-blind
users: ✓ ok, ▲ warn, ✖ danger, ☠ critical.
"""

from __future__ import annotations

import math

from cockpit.thresholds import Thresholds

SYMBOL = {"ok": "✓", "warn": "▲", "danger": "✖", "critical": "☠", "none": "·"}
LABEL = {"ok": "ok", "warn": "warn", "danger": "DANGER", "critical": "CRIT", "none": ""}
ORDER = ("none", "ok", "warn", "danger", "critical")


def band(metric: str, value: float, th: Thresholds, total: float | None = None) -> str:
    """The band of one value of one metric."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "critical" if metric == "loss" and value is not None and value != value else "none"
    if math.isinf(value):
        return "critical"
    if metric == "grad_norm":
        if value > th.grad_norm_explosion:
            return "critical"
        if value > th.grad_norm_danger:
            return "danger"
        if value > th.grad_norm_high or value < th.grad_norm_low:
            return "warn"
        return "ok"
    if metric == "mem_used":
        if not total:
            return "none"
        share = value / total
        if share >= th.memory_danger:
            return "danger"
        if share >= th.memory_warn:
            return "warn"
        return "ok"
    if metric == "update_ratio":  # ||dW|| / ||W|| of one optimizer step on the adapter
        if value > th.update_ratio_danger:
            return "danger"
        if value > th.update_ratio_warn:
            return "warn"
        return "ok"
    if metric == "loss":
        return "warn" if value < th.loss_collapse else "ok"
    return "none"


def worst(bands: list[str]) -> str:
    return max(bands, key=ORDER.index, default="none")
