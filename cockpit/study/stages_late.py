"""Stages 6-8: the stability check on the candidate, the structure backtrack (only under the SOP's strict
conditions, then back to the lr sweep), the final long run."""

from __future__ import annotations

import math
from typing import Any

from cockpit.study.compare import measured, pick, tied
from cockpit.study.gradient import gradient_ladder
from cockpit.study.outcomes import unless_yes
from cockpit.study.signals import (
    ENTROPY_RULES,
    final_eval_loss,
    gradient_trouble,
    rule_rows,
    score,
    series_ends,
    summary,
)
from cockpit.study.types import Outcome, Question, StageInput, TrialSpec

SOP_STABILITY = (
    "Step 6 stability: loss smooth (no collapse, no jump), grad_norm under 5, entropy declining "
    "slowly, lr schedule right"
)
SOP_BACKTRACK = (
    "Step 7: back to structure (r 8 -> 16, or q,v -> q,k,v) only when lr <= 5e-5, dropout >= 0.1, "
    "alpha <= 2r, grad_norm stable and the task is still not learned; then sweep lr again"
)
SOP_FINAL = "Step 8: the final long run with the decided config, saved; merge when the samples look right"
TUNED = (
    "training.learning_rate",
    "lora.lora_dropout",
    "lora.lora_alpha",
    "lora.r",
    "lora.target_modules",
    "training.max_grad_norm",
)
"""The values the stages set: the final run takes them from the best measured trial."""
FINAL_ALT = "final-alt"
"""The runner-up's final run: a config the short trials could not tell from the chosen one."""


def indicators(inp: StageInput) -> list[dict[str, Any]]:
    """The SOP's four stability indicators on the candidate, each with ok and its evidence."""
    c = inp.candidate
    th = c.config.thresholds
    loss_bad = rule_rows(c, ("loss_collapse", "loss_jump", "loss_nonfinite"))
    grad_bad = gradient_trouble(c)
    g = summary(c).get("grad_norm_tail_median")
    ent_bad = rule_rows(c, ("entropy_collapse", "entropy_flat", "fake_learning"))
    e = series_ends(c.history, "entropy")
    lr_bad = rule_rows(c, ("lr_schedule",))
    return [
        {"indicator": "loss smooth", "ok": not loss_bad, "trial": c.key, "findings": loss_bad},
        {
            "indicator": "grad_norm under 5",
            "ok": not grad_bad and (g is None or g <= th.grad_norm_high),
            "trial": c.key,
            "grad_norm_tail_median": g,
            "findings": grad_bad,
        },
        {
            "indicator": "entropy declining slowly",
            "ok": not ent_bad and (e is None or e[1] <= e[0] * 1.05),
            "trial": c.key,
            "entropy": list(e) if e else None,
            "findings": ent_bad,
        },
        {"indicator": "lr schedule right", "ok": not lr_bad, "trial": c.key, "findings": lr_bad},
    ]


def held_reason(inp: StageInput, ind: list[dict[str, Any]]) -> str:
    """ "All four indicators hold", with what was judged: the grad_norm chart may show a spike over the band
    (✖ on its tile) while the indicator reads the tail median; said in numbers, the words and the chart agree."""
    c = inp.candidate
    high = c.config.thresholds.grad_norm_high
    said = []
    g = ind[1].get("grad_norm_tail_median")
    if g is not None:
        peak = max((v for v in c.history.series.get("grad_norm", ()) if v == v), default=None)
        over = (
            f", one or more logged steps over it up to {peak:.3g} (the indicator reads the tail, not a peak)"
            if peak and peak > high
            else ""
        )
        said.append(f"grad_norm tail median {g:.3g} <= {high:g}{over}")
    e = ind[2].get("entropy")
    if e:
        said.append(f"entropy {e[0]:.3g} -> {e[1]:.3g}")
    return f"{c.key}: all four indicators hold" + (f" ({'; '.join(said)})" if said else "")


def decide_stability(inp: StageInput) -> Outcome:
    if inp.candidate is None:
        return Outcome("blocked", sop=SOP_STABILITY, reason="no candidate trial to check")
    ind = indicators(inp)
    if all(i["ok"] for i in ind):
        return Outcome("done", sop=SOP_STABILITY, evidence=ind, reason=held_reason(inp, ind))
    if not ind[1]["ok"]:
        return gradient_ladder(
            inp,
            {},
            ind,
            trouble=f"gradient trouble on {inp.candidate.key}",
            exhausted="gradient trouble stands after lr x0.5, clipping and alpha down",
        )
    failed = ", ".join(i["indicator"] for i in ind if not i["ok"])
    q = Question(
        "unstable_go_on",
        f"{inp.candidate.key} fails the stability check ({failed}). Go on to the final "
        "run anyway (the failures stay in the study's record)?",
    )
    waiting = unless_yes(inp, q, sop=SOP_STABILITY, evidence=ind, declined=f"unstable: {failed}")
    if waiting is not None:
        return waiting
    return Outcome("done", sop=SOP_STABILITY, evidence=ind, reason=f"fails {failed}; a person chose to go on")


def backtrack_conditions(inp: StageInput) -> list[dict[str, Any]]:
    cfg, c = inp.config, inp.candidate
    lr, d, lora = cfg.training.learning_rate, cfg.lora.lora_dropout, cfg.lora
    fin = final_eval_loss(c.history) if c else None
    ref = inp.reference_eval_loss
    learned = None if fin is None or ref is None else fin[1] < ref
    return [
        {"condition": "lr <= 5e-5", "ok": lr <= 5e-5 + 1e-12, "value": lr},
        {"condition": "dropout >= 0.1", "ok": d >= 0.1 - 1e-12, "value": d},
        {"condition": "alpha <= 2r", "ok": lora.alpha <= 2 * lora.r, "value": lora.alpha, "r": lora.r},
        {
            "condition": "grad_norm stable",
            "ok": c is not None and not gradient_trouble(c),
            "trial": c.key if c else None,
        },
        {
            "condition": "task not learned (eval loss not under the untrained reference)",
            "ok": learned is False,
            "eval_loss": fin[1] if fin else None,
            "step": fin[0] if fin else None,
            "reference": ref,
            "trial": c.key if c else None,
        },
    ]


def structure_step(cfg) -> tuple[dict[str, Any] | None, str]:
    lora = cfg.lora
    if lora.r < 16:
        return {"lora.r": 16, "lora.lora_alpha": 32.0}, f"r {lora.r} -> 16 (alpha 2r = 32)"
    targets = lora.target_modules if isinstance(lora.target_modules, list) else [lora.target_modules]
    if "k_proj" not in targets:
        return {"lora.target_modules": ["q_proj", "k_proj", "v_proj"]}, "target_modules q,v -> q,k,v"
    return None, "r 16 on q,k,v already: MLP modules only on a person's judgement that generation is weak"


def decide_backtrack(inp: StageInput) -> Outcome:
    conds = backtrack_conditions(inp)
    numeric, learned = conds[:4], conds[4]
    if not all(c["ok"] for c in numeric):
        failed = ", ".join(f"{c['condition']} ({c.get('value', 'no')})" for c in numeric if not c["ok"])
        return Outcome("skipped", sop=SOP_BACKTRACK, evidence=conds, reason=f"conditions not met: {failed}")
    not_learned = learned["ok"]
    if not not_learned:
        q = Question(
            "samples_right",
            "The eval loss beats the untrained reference; are the samples right (the "
            "task learned)? `no` changes the structure and sweeps lr again.",
            default="yes",
        )
        answer = inp.answers.get(q.id)
        if answer is None:
            return Outcome("ask", sop=SOP_BACKTRACK, question=q, evidence=conds)
        if answer == "yes":
            return Outcome(
                "skipped", sop=SOP_BACKTRACK, evidence=conds, reason="the task is learned (a person judged the samples)"
            )
    patch, what = structure_step(inp.config)
    if patch is None:
        return Outcome("skipped", sop=SOP_BACKTRACK, evidence=conds, reason=f"not learned, but {what}")
    return Outcome(
        "back",
        sop=SOP_BACKTRACK,
        patch=patch,
        evidence=conds,
        next_stage=3,
        reason=f"every condition holds and the task is not learned: {what}, then lr sweep again",
    )


def _dotted(data: dict[str, Any], key: str) -> Any:
    for part in key.split("."):
        data = data.get(part, {}) if isinstance(data, dict) else {}
    return data


def tuned_patch(inp: StageInput, winner) -> dict[str, Any]:
    """The TUNED values where `winner`'s config differs from the carried one, as a patch."""
    have, want = inp.config.model_dump(mode="json"), winner.config.model_dump(mode="json")
    return {k: _dotted(want, k) for k in TUNED if _dotted(want, k) != _dotted(have, k)}


def best_measured(inp: StageInput) -> tuple[dict[str, Any], list[dict[str, Any]], str]:
    """(patch, evidence, reason): the config of the best trial this round measured, the start config's
    trial among them, as a patch on the carried config. The carried candidate wins a tie; troubled or
    unusable trials never win. An empty patch when the candidate is the best (or there is none)."""
    patch, evidence, why, _ = finalists(inp)
    return patch, evidence, why


def finalists(inp: StageInput) -> tuple[dict[str, Any], list[dict[str, Any]], str, dict[str, Any] | None]:
    """best_measured's (patch, evidence, reason) and the runner-up's patch, or None: the lowest-scoring other
    usable trial whose short-trial score is within the noise of the chosen one's, with other values.

    Short trials cannot tell such a pair apart (their difference is a tie), and a tie keeps the carried
    value; but 300-step runs of one config on two seeds end 2.5-9% apart, so the tie is a coin toss the
    final length can settle. The runner-up gets its own final run, and the lower final eval loss wins."""
    c = inp.candidate
    if c is None or not inp.measured:
        return {}, [], "", None
    rows = [measured(t) for t in inp.measured]
    home = next((r for r, t in zip(rows, inp.measured) if t.run_dir == c.run_dir), None)
    if home is None:
        home = measured(c)
        rows.append(home)
    if not any(r["usable"] for r in rows):
        return {}, rows, "", None
    best, why = pick(rows, home["trial"])
    trial_of = {t.key: t for t in inp.measured} | {home["trial"]: c}
    patch = {} if best is home else tuned_patch(inp, trial_of[best["trial"]])
    evidence, reason = [], f"{c.key} is the best measured config ({why})"
    if best is not home:
        evidence = [home, best]
        reason = f"the best measured config is {best['trial']}'s, not {c.key}'s: {why}"
    others = [
        (r, p)
        for r in rows
        if r["usable"] and r is not best and tied(r, best) and (p := tuned_patch(inp, trial_of[r["trial"]])) != patch
    ]
    if not others:
        return patch, evidence, reason, None
    second, alt = min(others, key=lambda rp: rp[0]["score"])
    tie = {
        "trial": second["trial"],
        "runner_up": second["trial"],
        "score": second["score"],
        "chosen": best["trial"],
        "chosen_score": best["score"],
        "noise": math.hypot(best["noise"], second["noise"]),
        "patch": alt,
    }
    return patch, [*evidence, tie], reason, alt


def final_ranked(inp: StageInput, keys: list[str]) -> list[tuple[float, str]]:
    """(final eval loss, key) of the final runs that finished, lowest first (train loss without eval); an
    equal loss keeps the earlier key's order (the chosen config's run before the runner-up's)."""
    out = []
    for i, k in enumerate(keys):
        t = inp.trials.get(k)
        if t is not None and t.history.state == "finished":
            out.append((score(summary(t)), i, k))
    return [(loss, k) for loss, _, k in sorted(out)]


def decide_final(inp: StageInput) -> Outcome:
    patch, chosen, why, alt = finalists(inp)
    specs = [TrialSpec("final", patch, "the final long run" + (f": {why}" if why else ""), final=True)]
    room = inp.runs_left is None or inp.runs_left >= 1 + ("final" not in inp.trials)
    if alt is not None and (FINAL_ALT in inp.trials or room):
        tie = chosen[-1]
        specs.append(
            TrialSpec(
                FINAL_ALT,
                alt,
                f"the runner-up's final run: {tie['runner_up']} {tie['score']:.4g} vs {tie['chosen']} "
                f"{tie['chosen_score']:.4g}, within the short trials' noise (±{tie['noise']:.2g}): the full "
                "length decides",
                final=True,
            )
        )
    missing = [s for s in specs if s.key not in inp.trials]
    if missing:
        return Outcome("run", sop=SOP_FINAL, evidence=chosen, trials=missing)
    keys = [s.key for s in specs]
    ranked = final_ranked(inp, keys)
    if not ranked:
        t = inp.trials["final"]
        s = summary(t)
        return Outcome(
            "blocked", sop=SOP_FINAL, evidence=[s], reason=f"the final run ended {t.history.state}: {s['reason']}"
        )
    won = ranked[0][1]
    t = inp.trials[won]
    s = summary(t)
    runs = [summary(inp.trials[k]) for k in keys]
    # The held-out eval loss judges; an entropy warning on a final (templated data collapses entropy at
    # any dropout) stays in the evidence for the person who judges the samples before a merge.
    warned = [f for k in keys for f in rule_rows(inp.trials[k], ENTROPY_RULES)]
    if len(keys) > 1:
        shown = ", ".join(f"{r['trial']} {score(r):.4g} ({r['state']})" for r in runs)
        why = f"{why}; of the finals ({shown}) {won} ended lowest" if why else f"{won} ended lowest ({shown})"
    return Outcome(
        "done",
        sop=SOP_FINAL,
        candidate=won,
        patch=dict(specs[keys.index(won)].patch),
        evidence=[*chosen, *runs, *warned],
        reason=(f"{why}; " if why else "")
        + ("final run" if won == "final" else "the runner-up's final run")
        + f" finished at step {s['steps']}: loss {s.get('loss_start') or 0:.3g} -> "
        f"{s.get('loss_end') or 0:.3g}, verdict {s['verdict']}",
        extra={"merge_command": f"cockpit merge {t.run_dir}", "final_trial": won},
    )
