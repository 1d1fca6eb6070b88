"""The SOP's answer to gradient trouble in any trial: lr x0.5 first, then clipping, then alpha down;
never r first. Each rung is one trial on top of the previous rungs; the first clean one stands."""

from __future__ import annotations

from typing import Any

from cockpit.study.outcomes import choose
from cockpit.study.patching import apply_patch
from cockpit.study.signals import gradient_trouble, summary
from cockpit.study.types import Outcome, StageInput, Trial, TrialSpec

SOP_GRADIENT = "Gradient trouble: first lr x0.5, then check max_grad_norm is on, then lower alpha. Never cut r first."
RUNGS = ("lr", "clip", "alpha")


def rung_patch(rung: str, cfg) -> tuple[dict[str, Any] | None, str]:
    """The change one rung makes to cfg, or None when it has nothing to change (clipping already on)."""
    t, lora = cfg.training, cfg.lora
    if rung == "lr":
        half = t.learning_rate * 0.5
        return {"training.learning_rate": half}, f"lr x0.5 ({t.learning_rate:g} -> {half:g})"
    if rung == "clip":
        if 0 < t.max_grad_norm <= 1.0:
            return None, f"clipping already on (max_grad_norm {t.max_grad_norm:g})"
        return {"training.max_grad_norm": 1.0}, f"clipping on: max_grad_norm {t.max_grad_norm:g} -> 1.0"
    return {"lora.lora_alpha": lora.alpha / 2}, f"lora_alpha down ({lora.alpha:g} -> {lora.alpha / 2:g}), r kept"


def next_rung(inp: StageInput, base: dict[str, Any]) -> tuple[str, TrialSpec | Trial | None, list[dict[str, Any]]]:
    """Walk the ladder from `base` (the patch of the troubled trial) over this stage's `grad-*` trials.

    Returns ("run", spec, notes): run this rung next; ("fixed", trial, notes): this rung's trial has no
    gradient trouble; ("exhausted", None, notes): every rung tried and the trouble stands."""
    patch = dict(base)
    notes: list[dict[str, Any]] = []
    for i, rung in enumerate(RUNGS, 1):
        change, what = rung_patch(rung, apply_patch(inp.config, patch))
        notes.append({"rung": rung, "change": what})
        if change is None:
            continue
        patch = {**patch, **change}
        key = f"grad-{i}-{rung}"
        trial = inp.trials.get(key)
        if trial is None:
            return "run", TrialSpec(key, patch, f"gradient trouble: {what}"), notes
        trouble = gradient_trouble(trial)
        notes[-1]["trial"] = key
        notes[-1]["gradient_trouble"] = [t["rule"] for t in trouble]
        if not trouble:
            return "fixed", trial, notes
    return "exhausted", None, notes


def gradient_ladder(
    inp: StageInput, base: dict[str, Any], evidence: list[dict[str, Any]], *, trouble: str, exhausted: str
) -> Outcome:
    """The stage's outcome on the ladder from `base`: run the next rung, choose the rung whose trial has
    no gradient trouble (`trouble` says where the trouble was), or block with `exhausted`."""
    what, got, notes = next_rung(inp, base)
    evidence = [*evidence, {"ladder": notes}]
    if what == "run":
        return Outcome("run", sop=SOP_GRADIENT, trials=[got], evidence=evidence)
    if what == "fixed":
        return choose(
            got,
            sop=SOP_GRADIENT,
            evidence=[*evidence, summary(got)],
            reason=f"{trouble}; {got.key} ({notes[-1]['change']}) has none",
        )
    return Outcome("blocked", sop=SOP_GRADIENT, evidence=evidence, reason=exhausted)
