"""Stages 0-2: the data check, the starting structure, the frozen baseline (with the untrained model's
eval loss as the reference every later run must beat)."""

from __future__ import annotations

from typing import Any

from cockpit.study.signals import reference_eval_loss, summary
from cockpit.study.types import Outcome, StageInput, TrialSpec

SOP_DATA = (
    "Step 0, know your data: size, templating, tokens per sample, one style, reasoning need set the "
    "starting lr, dropout and r; a chat template that differs between training and inference trains wrongly"
)
SOP_STRUCTURE = "Step 1: r=8 on q_proj,v_proj (r at most 16 to start; MLP only when generation is clearly weak)"
SOP_BASELINE = (
    "Step 2: a baseline config with every value frozen (the start config's: alpha, dropout and lr are "
    "changed later only by a trial that measures better), max_grad_norm 1.0; "
    "the untrained model's eval loss is the reference"
)
MAX_START_R = 16
START_TARGETS = ["q_proj", "v_proj"]


def decide_data(inp: StageInput) -> Outcome:
    rep = inp.audit or {}
    if rep.get("error"):
        return Outcome(
            "blocked",
            reason=f"check-data refused the data: {rep['error']}",
            sop=SOP_DATA,
            evidence=[{"check": "data", "error": rep["error"]}],
        )
    danger = [f for f in rep.get("findings", []) if f.get("severity") == "danger"]
    evidence = [
        {
            "check": "data",
            "rows": rep.get("rows"),
            "size_bucket": rep.get("size_bucket"),
            "templated": rep.get("templated"),
            "duplicate_ratio": rep.get("duplicate_ratio"),
            "near_duplicate_ratio": rep.get("near_duplicate_ratio"),
            "one_style": rep.get("one_style"),
            "tokens_p95": (rep.get("tokens") or {}).get("p95"),
            "truncated_share": (rep.get("tokens") or {}).get("truncated_share"),
            "reasoning_need": rep.get("reasoning_need"),
        }
    ]
    evidence += [
        {"check": "data", "rule": f.get("code"), "severity": f.get("severity"), "message": f.get("message")}
        for f in rep.get("findings", [])
        if f.get("severity") != "ok"
    ]
    if danger:
        return Outcome(
            "blocked",
            sop=SOP_DATA,
            evidence=evidence,
            reason="check-data refuses to train as configured: " + "; ".join(f["message"] for f in danger),
        )
    hypotheses = dict(rep.get("config_patch") or {})
    if hypotheses:
        evidence.append(
            {
                "check": "data",
                "hypothesis": hypotheses,
                "checked_by": "stage 3 (the start lr's trial: does its loss collapse?), stage 4 (a dropout trial)",
            }
        )
    rec = rep.get("recommended") or {}
    why = ", ".join(f"{k}={v}" for k, v in rec.items())
    return Outcome(
        "done",
        sop=SOP_DATA,
        patch={},  # a prediction is a hypothesis for the trials to check, not a change to the start config
        evidence=evidence,
        extra={"hypotheses": hypotheses} if hypotheses else {},
        reason=f"the data's starting point {why}: a hypothesis the trials check; the config is kept"
        if why
        else "the data check found nothing to change",
    )


def decide_structure(inp: StageInput) -> Outcome:
    lora = inp.config.lora
    patch: dict[str, Any] = {}
    notes = []
    if lora.r > MAX_START_R:
        patch["lora.r"] = MAX_START_R
        notes.append(f"r {lora.r} -> {MAX_START_R} (at most 16 to start)")
    if lora.target_modules != START_TARGETS:
        patch["lora.target_modules"] = list(START_TARGETS)
        notes.append(f"target_modules {lora.target_modules} -> q_proj,v_proj (more only at stage 7)")
    r = patch.get("lora.r", lora.r)
    return Outcome(
        "done",
        sop=SOP_STRUCTURE,
        patch=patch,
        evidence=[{"config": "lora", "r": lora.r, "target_modules": lora.target_modules}],
        reason="; ".join(notes) if notes else f"r={r} on q_proj,v_proj as configured",
    )


def baseline_patch(inp: StageInput) -> dict[str, Any]:
    """The start config as the user gave it, measurable: an eval at step 0 and an eval split, and
    clipping on (the SOP never trains without it). Nothing else changes before a trial measures it."""
    cfg = inp.config
    patch: dict[str, Any] = {"training.eval_on_start": True}
    if not 0 < cfg.training.max_grad_norm <= 1.0:
        patch["training.max_grad_norm"] = 1.0
    if not cfg.data.eval_path and cfg.data.eval_ratio <= 0:
        patch["data.eval_ratio"] = 0.1  # no eval data: hold a tenth out, or there is no reference to beat
    return patch


def decide_baseline(inp: StageInput) -> Outcome:
    patch = baseline_patch(inp)
    trial = inp.trials.get("baseline")
    if trial is None:
        return Outcome("run", sop=SOP_BASELINE, trials=[TrialSpec("baseline", patch, "the frozen baseline")])
    s = summary(trial)
    if s["verdict"] == "failed":
        return Outcome(
            "blocked",
            sop=SOP_BASELINE,
            evidence=[s],
            reason=f"the baseline run failed ({s['reason']}): see {trial.run_dir}/trainer.log",
        )
    ref = reference_eval_loss(trial.history)
    evidence = [s]
    if ref is None:
        reason = "baseline frozen; no eval at step 0, so no reference eval loss"
    else:
        evidence.append(
            {
                "trial": "baseline",
                "metric": "eval_loss",
                "step": ref[0],
                "value": ref[1],
                "what": "the untrained model's eval loss (the reference)",
            }
        )
        reason = f"baseline frozen; the untrained model's eval loss {ref[1]:.4g} is the reference"
    return Outcome(
        "done",
        sop=SOP_BASELINE,
        patch=patch,
        evidence=evidence,
        candidate="baseline",
        reason=reason,
        extra={"reference_eval_loss": ref[1] if ref else None},
    )
