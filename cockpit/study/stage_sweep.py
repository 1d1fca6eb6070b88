"""Stage 3, the lr sweep: the notes' range scaled to the model and the batch (cockpit.study.lr_range)
plus the start config's own lr, then one more trial past whichever edge is best, while the best trial
sits at an edge and the budget lasts. The trial with the lowest eval loss wins; one within the noise of
the start lr's trial loses to it (cockpit.study.compare). Gradient trouble everywhere sends the study
down the SOP's ladder."""

from __future__ import annotations

import math
from typing import Any

from cockpit.study.compare import measured, pick, tied
from cockpit.study.gradient import gradient_ladder
from cockpit.study.lr_range import round_lr, scaled_lrs
from cockpit.study.outcomes import choose, unless_yes
from cockpit.study.patching import apply_patch, same_training
from cockpit.study.signals import rule_rows
from cockpit.study.types import Outcome, Question, StageInput, TrialSpec
from cockpit.sweep.verdict import TOO_HIGH_RULES, TOO_LOW_RULES

SOP_SWEEP = (
    "Step 3: sweep lr (the notes' 5e-5, 1e-4, 2e-4 for a 7B model, scaled to this model and batch, and "
    "the start config's lr); loss to ~0 or unstable grad_norm: too high; flat: too low; extend past the "
    "best edge; keep the lowest eval loss, a tie within the noise to the start's lr"
)
MAX_LR_TRIALS = 8
"""The sweep's step budget: at most this many lr trials (trial_steps each), the first ones included."""


def lr_key(lr: float) -> str:
    return f"lr-{lr:g}"


NEAR = 1.5
"""A scaled lr within this factor of the start config's own is not run: the start's trial stands for it."""


def first_lrs(inp: StageInput) -> list[float]:
    t = inp.config.training
    start = t.learning_rate
    batch = t.per_device_train_batch_size * t.gradient_accumulation_steps
    prior = [lr for lr in scaled_lrs(inp.model_width, batch) if not start / NEAR < lr < start * NEAR]
    return sorted({*prior, start})


def sweep_specs(inp: StageInput, lrs) -> list[TrialSpec]:
    out = []
    start = inp.config.training.learning_rate
    for lr in lrs:
        patch = {"training.learning_rate": lr}
        c = inp.candidate
        reuse = "candidate" if c is not None and same_training(apply_patch(inp.config, patch), c.config) else None
        why = "lr (the start config's)" if lr == start else "lr"
        out.append(TrialSpec(lr_key(lr), patch, f"{why} {lr:g}", reuse=reuse))
    return out


def _extend(inp: StageInput, lr: float, why: str, evidence: list[dict[str, Any]]) -> Outcome:
    return Outcome(
        "run",
        sop=SOP_SWEEP,
        evidence=evidence,
        trials=[TrialSpec(lr_key(lr), {"training.learning_rate": lr}, f"lr {lr:g}: {why}")],
    )


def hypothesis_check(inp: StageInput, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Stage 0's prediction about the lr (a lower starting lr: "the loss will collapse"), checked by the
    trial at the start lr: did its loss collapse?"""
    lr = ((inp.audit or {}).get("config_patch") or {}).get("training.learning_rate")
    start = inp.config.training.learning_rate
    row = next((r for r in rows if r["lr"] == start), None)
    if lr is None or lr >= start or row is None:
        return []
    collapsed = any(f["rule"] == "loss_collapse" for f in row["findings"])
    return [
        {
            "hypothesis": f"the data check's starting lr {lr:g}: at {start:g} the loss collapses",
            "trial": row["trial"],
            "held": collapsed,
            "verdict": row["verdict"],
        }
    ]


def decide_sweep(inp: StageInput) -> Outcome:
    missing = [s for s in sweep_specs(inp, first_lrs(inp)) if s.key not in inp.trials]
    if missing:
        return Outcome("run", sop=SOP_SWEEP, trials=missing)
    ran = sorted(
        (t for k, t in inp.trials.items() if k.startswith("lr-")), key=lambda t: t.config.training.learning_rate
    )
    rows, evidence = [], []
    for t in ran:
        s = measured(t)
        s["lr"] = t.config.training.learning_rate
        s["findings"] = rule_rows(t, TOO_HIGH_RULES + TOO_LOW_RULES)
        rows.append(s)
        evidence.append({k: v for k, v in s.items() if k != "findings"})
        evidence += s["findings"]
    evidence += hypothesis_check(inp, rows)
    lo, hi = rows[0], rows[-1]
    room = len(ran) < MAX_LR_TRIALS and (inp.runs_left is None or inp.runs_left >= 2)
    verdicts = ", ".join(f"{r['lr']:g} {r['verdict']} {r['score']:.4g}" for r in rows)
    usable = [r for r in rows if r["usable"]]
    if usable:
        best = min(usable, key=lambda r: r["score"])
        # An edge extends only when it is clearly the best: beyond the noise of the next usable trial.
        clear = len(usable) == 1 or not tied(best, min((r for r in usable if r is not best), key=lambda r: r["score"]))
        if room and clear and best is hi:
            return _extend(inp, round_lr(2 * hi["lr"]), "the highest lr ended lowest and stable: one up", evidence)
        if room and clear and best is lo:
            return _extend(inp, round_lr(lo["lr"] / 2), "the lowest lr ended lowest: one down", evidence)
        start = inp.config.training.learning_rate
        chosen, why = pick(rows, lr_key(start), near=lambda r: abs(math.log(r["lr"] / start)))
        edge = "" if best not in (lo, hi) else f"; at the edge of {len(ran)} trials (the sweep's budget)"
        return choose(
            inp.trials[chosen["trial"]],
            sop=SOP_SWEEP,
            evidence=evidence,
            reason=f"lr {chosen['lr']:g}: {why}{edge} ({verdicts})",
        )
    if any(r["gradient_trouble"] for r in rows):
        lowest = next(t for t, r in zip(ran, rows) if r["gradient_trouble"])
        return gradient_ladder(
            inp,
            dict(lowest.patch),
            evidence,
            trouble="every lr had gradient trouble",
            exhausted="gradient trouble at every lr and on every rung of the ladder (lr x0.5, clipping, "
            "alpha down): check the data and the model (stage 0) before going on",
        )
    if room and all(r["verdict"] == "too_low" for r in rows):
        return _extend(inp, round_lr(2 * hi["lr"]), "every lr flat: one up", evidence)
    if room and lo["verdict"] == "too_high":
        return _extend(inp, round_lr(lo["lr"] / 2), "even the lowest lr too high: one down", evidence)
    fallback = [r for r in rows if r["verdict"] not in ("failed", "too_high") and r.get("loss_end") is not None]
    if not fallback:
        return Outcome(
            "blocked",
            sop=SOP_SWEEP,
            evidence=evidence,
            reason="no lr gave a usable trial: "
            + "; ".join(f"{r['lr']:g} {r['verdict']}: {r['reason']}" for r in rows),
        )
    best = min(fallback, key=lambda r: r["score"])
    q = Question(
        "sweep_fallback",
        f"No lr declined smoothly ({verdicts}). Carry on with lr {best['lr']:g}, "
        f"the trial that ended lowest ({best['score']:.3g})?",
    )
    declined = "no lr declined smoothly; the person declined the fallback"
    waiting = unless_yes(inp, q, sop=SOP_SWEEP, evidence=evidence, declined=declined)
    if waiting is not None:
        return waiting
    return choose(
        inp.trials[best["trial"]],
        sop=SOP_SWEEP,
        evidence=evidence,
        reason=f"no smooth decline; lr {best['lr']:g} ended lowest (a person accepted it)",
    )
