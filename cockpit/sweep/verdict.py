"""A trial's verdict, the way the SOP reads an lr sweep:

- too_high:  loss races to ~0, or grad_norm is unstable (explosion precursor, sawtooth, non-finite),
             or train and eval loss diverge;
- rising:    the loss ended above where it started (no explosion to show for it: still not a usable lr);
- too_short: too little to judge: fewer logged losses than the flat rule reads, or the warm-up not done;
- too_low:   loss stays flat;
- good:      a smooth decline;
- failed:    nothing logged, or a broken setup / numeric failure that no lr explains.

The advisor's findings are the evidence; the loss drop is measured here so a verdict always has numbers.
"""

from __future__ import annotations

import math
import statistics
from typing import Any

from cockpit.advisor import advise
from cockpit.advisor.context import RISE_REL
from cockpit.advisor.loss_rules import FLAT_MIN_POINTS
from cockpit.config import RunConfig
from cockpit.history import History

# Advisor rule ids (cockpit.advisor) that mean "this lr is too high" / "too low" / "not the lr at all".
TOO_HIGH_RULES = (
    "loss_collapse",
    "loss_nonfinite",
    "loss_jump",
    "grad_norm_explosion",
    "grad_norm_precursor",
    "grad_norm_sawtooth",
    "grad_norm_nonfinite",
    "divergence",
    "update_large",
)
# The trainer's guards that stop a trial on the SOP's stop list: each says "too high" by itself, however
# few steps the trial got to log (a trial stopped at step 3 is not "too short to judge").
TOO_HIGH_GUARDS = (
    "grad_norm_explosion",
    "grad_norm_precursor",
    "loss_jump",
    "update_large",
    "nonfinite_grad",
    "loss_nonfinite",
    "grad_norm_nonfinite",
)
TOO_LOW_RULES = ("loss_flat",)
NOT_LR_RULES = ("broken_setup", "numeric_failure")


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


def loss_rise(hist: History) -> tuple[float, float] | None:
    """(start, end) when the loss ended over RISE_REL above where it started, else None. Medians of the
    first and last third: a short trial's first and last few batches differ by more than that by
    chance (a 40-step trial at lr 1e-6 read +19% on its first and last four)."""
    losses = _finite(hist.series["loss"])
    k = len(losses) // 3
    if k < 2:
        return None
    start, end = statistics.median(losses[:k]), statistics.median(losses[-k:])
    return (start, end) if start > 0 and end > start * (1 + RISE_REL) else None


def absorbed_spikes(hist: History) -> set[int]:
    """Steps of a grad_norm over the explosion bound that the trainer's guard judged isolated (clipping on,
    the next logged step back under the danger bound, the loss no jump: a `grad_norm_spike` warning never
    followed by a stop). Not an explosion on the SOP's stop list, so no verdict on the lr."""
    guards = [m.event for m in hist.marks if m.kind == "guard"]
    if any(e.get("rule") == "grad_norm_explosion" for e in guards):
        return set()
    return {
        int(e["step"]) for e in guards if e.get("rule") == "grad_norm_spike" and e.get("step", hist.step) < hist.step
    }


def is_absorbed(rule: str, first_step: Any, last_step: Any, absorbed: set[int]) -> bool:
    """An advisor finding of one explosion reading at a step the guard judged isolated."""
    return rule == "grad_norm_explosion" and first_step == last_step and first_step in absorbed


def trial_verdict(hist: History, cfg: RunConfig) -> dict[str, Any]:
    start, end, drop = loss_drop(hist)
    n = len(_finite(hist.series["loss"]))
    out: dict[str, Any] = {
        "loss_start": start,
        "loss_end": end,
        "loss_drop": drop,
        "steps": hist.step,
        "max_grad_norm": max(_finite(hist.series["grad_norm"]), default=None),
    }
    if not n:
        return {**out, "verdict": "failed", "reason": "no loss logged"}
    findings = advise(hist, cfg).findings
    # A cause folds its symptoms (Finding.folded): they are evidence all the same.
    every = [g for f in findings for g in (f, *f.folded)]
    broken = [f for f in findings if f.rule in NOT_LR_RULES]
    spikes = absorbed_spikes(hist)
    hot = [
        f
        for f in every
        if f.rule in TOO_HIGH_RULES
        and f.severity in ("warn", "danger", "critical")
        and not is_absorbed(f.rule, f.first_step, f.last_step, spikes)
    ]
    cold = [f for f in every if f.rule in TOO_LOW_RULES]
    out["evidence"] = [
        {
            "rule": f.rule,
            "severity": f.severity,
            "message": f.message,
            "first_step": f.first_step,
            "last_step": f.last_step,
        }
        for f in (broken + hot + cold)
    ]
    if broken:
        return {**out, "verdict": "failed", "reason": broken[0].message}
    if hot:
        return {**out, "verdict": "too_high", "reason": hot[0].message}
    guards = [m.event for m in hist.marks if m.kind == "guard" and m.event.get("rule") in TOO_HIGH_GUARDS]
    if guards:
        g = guards[0]
        out["evidence"].append(
            {
                "rule": g.get("rule"),
                "severity": g.get("severity"),
                "message": g.get("message"),
                "first_step": g.get("step"),
                "last_step": g.get("step"),
            }
        )
        return {
            **out,
            "verdict": "too_high",
            "reason": f"the trainer's guard {g.get('rule')} "
            f"{g.get('action')} it at step {g.get('step')}: {g.get('message')}",
        }
    rise = loss_rise(hist)
    if rise is not None:
        return {
            **out,
            "verdict": "rising",
            "reason": f"loss rose {rise[0]:.3g} -> {rise[1]:.3g} "
            f"({rise[1] / rise[0] - 1:+.0%}, medians of the first and last third)",
        }
    short = _too_short(hist, cfg, n, FLAT_MIN_POINTS)
    if short:
        return {**out, "verdict": "too_short", "reason": f"too short to judge: {short}"}
    if cold or (drop is not None and drop < cfg.thresholds.loss_flat_rel):
        return {
            **out,
            "verdict": "too_low",
            "reason": cold[0].message if cold else f"loss flat ({start:.3g} -> {end:.3g})",
        }
    return {**out, "verdict": "good", "reason": f"smooth decline {start:.3g} -> {end:.3g} ({drop:.0%})"}


def _too_short(hist: History, cfg: RunConfig, n: int, need: int) -> str | None:
    """Why the trial cannot be judged yet, or None: too few points, or still warming up at its end (the
    lr under trial was never reached, so its loss says little about that lr)."""
    if n < need:
        return f"{n} logged losses, the flat rule reads {need}"
    t = cfg.training
    total = hist.total_steps or (t.max_steps if t.max_steps and t.max_steps > 0 else None)
    warm = math.ceil(total * t.warmup_ratio) if total and t.warmup_ratio else 0
    if warm and hist.step < warm:
        return f"warm-up not done (step {hist.step} of {warm})"
    lrs = _finite(hist.series["learning_rate"])
    if len(lrs) >= 2 and lrs[-1] > lrs[-2] * 1.01 and lrs[-1] < 0.99 * t.learning_rate:
        return f"lr still warming up at the last log ({lrs[-1]:.2g} of {t.learning_rate:g})"
    return None


def recommend(trials: list[dict[str, Any]]) -> float | None:
    """The good trial that ended lowest; None when no trial declined smoothly."""
    good = [t for t in trials if t.get("verdict") == "good" and t.get("loss_end") is not None]
    if not good:
        return None
    return float(min(good, key=lambda t: t["loss_end"])["lr"])
