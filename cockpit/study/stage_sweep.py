"""Stage 3, the lr sweep: one trial per lr, the sweep's verdicts (cockpit.sweep.verdict), the smooth
decline that ends lowest. Gradient trouble everywhere sends the study down the SOP's ladder."""

from __future__ import annotations

from cockpit.study.gradient import gradient_ladder
from cockpit.study.outcomes import choose, unless_yes
from cockpit.study.patching import apply_patch, same_training
from cockpit.study.signals import gradient_trouble, rule_rows, summary
from cockpit.study.types import Outcome, Question, StageInput, TrialSpec
from cockpit.sweep.verdict import TOO_HIGH_RULES, TOO_LOW_RULES, recommend

SOP_SWEEP = (
    "Step 3: sweep lr over {5e-5, 1e-4, 2e-4}; loss to ~0 or unstable grad_norm: too high; flat: too low; "
    "keep the smooth decline"
)
LRS = (5e-5, 1e-4, 2e-4)


def lr_key(lr: float) -> str:
    return f"lr-{lr:g}"


def sweep_specs(inp: StageInput, lrs: tuple[float, ...] = LRS) -> list[TrialSpec]:
    out = []
    for lr in lrs:
        patch = {"training.learning_rate": lr}
        c = inp.candidate
        reuse = "candidate" if c is not None and same_training(apply_patch(inp.config, patch), c.config) else None
        out.append(TrialSpec(lr_key(lr), patch, f"lr {lr:g}", reuse=reuse))
    return out


def decide_sweep(inp: StageInput) -> Outcome:
    specs = sweep_specs(inp)
    missing = [s for s in specs if s.key not in inp.trials]
    if missing:
        return Outcome("run", sop=SOP_SWEEP, trials=missing)
    ran = [inp.trials[s.key] for s in specs]
    extra_up = inp.trials.get(lr_key(2 * LRS[-1]))
    if extra_up is not None:
        ran.append(extra_up)
    rows = []
    evidence = []
    for t in ran:
        s = summary(t)
        s["lr"] = t.config.training.learning_rate
        rows.append(s)
        evidence.append(s)
        evidence += rule_rows(t, TOO_HIGH_RULES + TOO_LOW_RULES)
    chosen = recommend(rows)
    if chosen is not None:
        key = next(r["trial"] for r in rows if r["lr"] == chosen and r["verdict"] == "good")
        verdicts = ", ".join(f"{r['lr']:g} {r['verdict']}" for r in rows)
        return choose(
            inp.trials[key],
            sop=SOP_SWEEP,
            evidence=evidence,
            reason=f"lr {chosen:g}: the smooth decline that ended lowest ({verdicts})",
        )
    troubled = [t for t in ran if gradient_trouble(t)]
    if troubled:
        lowest = min(troubled, key=lambda t: t.config.training.learning_rate)
        return gradient_ladder(
            inp,
            dict(lowest.patch),
            evidence,
            trouble="every lr had gradient trouble",
            exhausted="gradient trouble at every lr and on every rung of the ladder (lr x0.5, clipping, "
            "alpha down): check the data and the model (stage 0) before going on",
        )
    if all(r["verdict"] == "too_low" for r in rows) and extra_up is None:
        lr = 2 * LRS[-1]
        return Outcome(
            "run",
            sop=SOP_SWEEP,
            evidence=evidence,
            trials=[TrialSpec(lr_key(lr), {"training.learning_rate": lr}, f"every lr flat: one step up, {lr:g}")],
        )
    usable = [r for r in rows if r["verdict"] not in ("failed", "too_high") and r.get("loss_end") is not None]
    if not usable:
        return Outcome(
            "blocked",
            sop=SOP_SWEEP,
            evidence=evidence,
            reason="no lr gave a usable trial: "
            + "; ".join(f"{r['lr']:g} {r['verdict']}: {r['reason']}" for r in rows),
        )
    best = min(usable, key=lambda r: r["loss_end"])
    verdicts = ", ".join(f"{r['lr']:g} {r['verdict']}" for r in rows)
    q = Question(
        "sweep_fallback",
        f"No lr declined smoothly ({verdicts}). Carry on with lr {best['lr']:g}, "
        f"the trial that ended lowest ({best['loss_end']:.3g})?",
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
