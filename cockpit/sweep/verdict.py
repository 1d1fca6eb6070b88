"""A trial's verdict, the way the SOP reads an lr sweep:

- too_high: loss races to ~0, or grad_norm is unstable (explosion precursor, sawtooth, non-finite);
- too_low:  loss stays flat;
- good:     a smooth decline.

The advisor's findings are the evidence; the loss drop is measured here so a verdict always has numbers.
"""

from __future__ import annotations

import math
import statistics
from typing import Any

from cockpit.config import RunConfig
from cockpit.history import History

# Advisor rule ids (cockpit.advisor) that mean "this lr is too high" / "too low".
TOO_HIGH_RULES = ("loss_collapse", "loss_nonfinite", "loss_jump", "grad_norm_explosion", "grad_norm_precursor",
                  "grad_norm_sawtooth", "grad_norm_nonfinite")
TOO_LOW_RULES = ("loss_flat",)


def _finite(xs) -> list[float]:
    return [x for x in xs if isinstance(x, float) and math.isfinite(x)]


def loss_drop(hist: History) -> tuple[float | None, float | None, float | None]:
    """(start, end, relative drop) from the medians of the first and last 10% of logged losses."""
    losses = _finite(hist.series["loss"])
    if len(losses) < 4:
        return None, None, None
    k = max(2, len(losses) // 10)
    start, end = statistics.median(losses[:k]), statistics.median(losses[-k:])
    return start, end, (start - end) / abs(start) if start else None


def trial_verdict(hist: History, cfg: RunConfig) -> dict[str, Any]:
    start, end, drop = loss_drop(hist)
    out: dict[str, Any] = {"loss_start": start, "loss_end": end, "loss_drop": drop, "steps": hist.step,
                           "max_grad_norm": max(_finite(hist.series["grad_norm"]), default=None)}
    if start is None:
        return {**out, "verdict": "failed", "reason": "too few logged steps to judge"}
    try:
        from cockpit.advisor import advise

        findings = advise(hist, cfg).findings
    except ImportError:
        findings = []
    hot = [f for f in findings if f.rule in TOO_HIGH_RULES and f.severity in ("warn", "danger", "critical")]
    cold = [f for f in findings if f.rule in TOO_LOW_RULES]
    out["evidence"] = [{"rule": f.rule, "severity": f.severity, "message": f.message,
                        "first_step": f.first_step, "last_step": f.last_step} for f in (hot + cold)]
    if hot:
        return {**out, "verdict": "too_high", "reason": hot[0].message}
    if cold or (drop is not None and drop < cfg.thresholds.loss_flat_rel):
        return {**out, "verdict": "too_low",
                "reason": cold[0].message if cold else f"loss flat ({start:.3g} -> {end:.3g})"}
    return {**out, "verdict": "good", "reason": f"smooth decline {start:.3g} -> {end:.3g} ({drop:.0%})"}


def recommend(trials: list[dict[str, Any]]) -> float | None:
    """The good trial that ended lowest; None when no trial declined smoothly."""
    good = [t for t in trials if t.get("verdict") == "good" and t.get("loss_end") is not None]
    if not good:
        return None
    return float(min(good, key=lambda t: t["loss_end"])["lr"])
