"""Danger bands per metric, from the run's thresholds (the SOP's defaults): which band a value is in,
the lines a chart draws at the band edges (the live charts), and the ranges between them a report
shades. Pure: no Textual.

A band is a severity, or "none" for a metric without bands (or no value); each has a symbol as well as
a colour (cockpit.severity): ✓ ok, ▲ warn, ✖ danger, ☠ critical.
"""

from __future__ import annotations

import math

from cockpit.severity import ICON, SEVERITIES
from cockpit.thresholds import Thresholds

SYMBOL = {**ICON, "none": "·"}
LABEL = {"ok": "ok", "warn": "warn", "danger": "DANGER", "critical": "CRIT", "none": ""}
ORDER = ("none", *SEVERITIES)


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
    if metric in SHARE_BANDS:  # an RL run's share of completions cut at the maximum length
        warn, danger = SHARE_BANDS[metric]
        return "danger" if value >= danger else "warn" if value >= warn else "ok"
    return "none"


SHARE_BANDS = {"completions/clipped_ratio": (0.2, 0.5), "frac_reward_zero_std": (0.9, 0.99)}
"""Shares with bands of their own (the advisor's rl_rules bounds): warn from the first, danger from the second."""


def worst(bands: list[str]) -> str:
    return max(bands, key=ORDER.index, default="none")


def lines(metric: str, th: Thresholds, total: float | None = None) -> list[tuple[float, str]]:
    """(value, name) of each band edge a chart of the metric draws, lowest first. Memory has lines only
    against the total the caller gives (the report gives none for process RAM)."""
    if metric == "grad_norm":
        return [
            (th.grad_norm_high, "normal max"),
            (th.grad_norm_danger, "danger"),
            (th.grad_norm_explosion, "explosion"),
        ]
    if metric == "update_ratio":
        return [(th.update_ratio_warn, "warn"), (th.update_ratio_danger, "danger")]
    if metric in SHARE_BANDS:
        warn, danger = SHARE_BANDS[metric]
        return [(warn, "warn"), (danger, "danger")]
    if metric == "mem_used" and total and math.isfinite(total):
        return [(total * th.memory_warn, "warn"), (total * th.memory_danger, "danger")]
    return []


LINE_SEVERITY = {"normal max": "warn", "warn": "warn", "danger": "danger", "explosion": "critical"}
"""The band a chart colours above each edge `lines` names."""


def ranges(metric: str, th: Thresholds, total: float | None = None) -> list[tuple[float, float, str, str]]:
    """(low, high, line name, band) of each range a chart shades: from each of `lines` to the next, the
    last up to the metric's ceiling (the device's memory; none for the others). Named by the line it
    starts at, so a shaded chart and a chart of lines say the same words."""
    edges = lines(metric, th, total)
    ceiling = total if metric == "mem_used" and total else math.inf
    highs = [v for v, _ in edges[1:]] + [ceiling]
    return [(v, hi, name, LINE_SEVERITY[name]) for (v, name), hi in zip(edges, highs)]
