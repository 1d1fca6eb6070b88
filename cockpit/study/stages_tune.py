"""Stages 4 and 5: dropout (raised when entropy collapses or learning is fake) and alpha (from the loss's
pace, grad_norm's trend and, where only a person can tell, the samples' rigidity). Where those signals
say nothing, which on short trials is the rule, one trial each way measures the knob instead (when the
run budget leaves room). One knob at a time, each trial compared with the candidate it would replace;
a tie within the noise keeps the carried value (cockpit.study.compare)."""

from __future__ import annotations

import math

from cockpit.study.compare import measured, pick
from cockpit.study.outcomes import choose, unless_yes
from cockpit.study.signals import ENTROPY_RULES, gradient_trouble, rule_rows, score, series_ends, summary
from cockpit.study.types import Outcome, Question, StageInput, TrialSpec

SOP_DROPOUT = (
    "Step 4: entropy falling fast to very low is overfitting, low entropy with low loss is fake "
    "learning: raise lora_dropout to 0.1 (0.2 as the rescue); compare entropy and eval loss"
)
SOP_ALPHA = (
    "Step 5 alpha (lr and dropout stable): loss falls slowly -> raise alpha; loss low but outputs "
    "rigid -> lower; grad_norm rising -> lower"
)
DROPOUTS = (0.1, 0.2)
LOW_LOSS = 0.3
"""A final train loss under this makes the samples, not the loss, the judge of alpha (SOP: rigid outputs)."""


def _num(x) -> float:
    """A summary's number for a message: NaN where the trial had too few points to give one."""
    return float(x) if isinstance(x, (int, float)) else math.nan


def _dropout_key(d: float) -> str:
    return f"dropout-{d:g}"


def affordable(inp: StageInput, trials: int) -> bool:
    """Room for `trials` more runs and the final one under --max-runs."""
    return inp.runs_left is None or inp.runs_left >= trials + 1


def explore(
    inp: StageInput, knob: str, values: list[float], key, sop: str, evidence: list, what: str
) -> Outcome | None:
    """One trial per value of `knob` (a dotted key), then the best of them and the candidate, a tie to the
    candidate. None when there is nothing to try or no room for it."""
    c = inp.candidate
    values = [v for v in dict.fromkeys(values)]
    if not values or not affordable(inp, sum(key(v) not in inp.trials for v in values)):
        return None
    missing = [v for v in values if key(v) not in inp.trials]
    if missing:
        return Outcome(
            "run",
            sop=sop,
            evidence=evidence,
            trials=[
                TrialSpec(key(v), {knob: v}, f"{what} {v:g}: the signals are unclear, a trial decides") for v in missing
            ],
        )
    rows = [measured(c)] + [measured(inp.trials[key(v)]) for v in values]
    evidence = [*evidence, *rows]
    if not any(r["usable"] for r in rows):  # e.g. every trial flat: none measured better than the carried value
        verdicts = ", ".join(f"{r['trial']} {r['verdict']}" for r in rows)
        return Outcome(
            "done", sop=sop, evidence=evidence, reason=f"{what} stays: no trial could be judged ({verdicts})"
        )
    chosen, why = pick(rows, c.key)
    if chosen["trial"] == c.key:
        return Outcome("done", sop=sop, evidence=evidence, reason=f"{what} stays: {why}")
    return choose(inp.trials[chosen["trial"]], sop=sop, evidence=evidence, reason=f"{what}: {why}")


def dropout_values(inp: StageInput) -> list[float]:
    """One up (the data check's prediction where it raised dropout, else 0.1 or double) and one down
    (none below 0, half above 0.05)."""
    d = inp.config.lora.lora_dropout
    said = ((inp.audit or {}).get("config_patch") or {}).get("lora.lora_dropout")
    up = said if isinstance(said, (int, float)) and said > d else (0.1 if d < 0.1 else min(0.3, round(2 * d, 3)))
    down = None if d <= 0 else (0.0 if d <= 0.05 else round(d / 2, 3))
    return [v for v in (up, down) if v is not None]


def decide_dropout(inp: StageInput) -> Outcome:
    c = inp.candidate
    if c is None:
        return Outcome("skipped", sop=SOP_DROPOUT, reason="no candidate trial to read entropy from")
    signs = rule_rows(c, ENTROPY_RULES)
    cs = summary(c)
    if not signs:
        ent = (
            f"entropy {cs['entropy_start']:.3g} -> {cs['entropy_end']:.3g}"
            if "entropy_start" in cs
            else "no entropy logged"
        )
        tried = explore(inp, "lora.lora_dropout", dropout_values(inp), _dropout_key, SOP_DROPOUT, [cs], "lora_dropout")
        if tried is not None:
            return tried
        return Outcome(
            "skipped",
            sop=SOP_DROPOUT,
            evidence=[cs],
            reason=f"{c.key}: {ent}, no entropy_collapse or fake_learning finding: dropout stays "
            f"{c.config.lora.lora_dropout:g}",
        )
    evidence = [cs, *signs]
    current = inp.config.lora.lora_dropout
    levels = [d for d in DROPOUTS if d > current + 1e-12]
    ran = []
    for d in levels:
        t = inp.trials.get(_dropout_key(d))
        if t is None:
            return Outcome(
                "run",
                sop=SOP_DROPOUT,
                evidence=evidence,
                trials=[
                    TrialSpec(
                        _dropout_key(d), {"lora.lora_dropout": d}, f"dropout {d:g}: {signs[0]['rule']} on {c.key}"
                    )
                ],
            )
        s = summary(t)
        left = rule_rows(t, ENTROPY_RULES)
        evidence += [s, *left]
        ran.append((t, s, left))
        if not left and not gradient_trouble(t):
            break  # resolved: the rescue level is not needed
    resolved = [(t, s) for t, s, left in ran if not left and not gradient_trouble(t)]
    if resolved:
        t, s = min(resolved, key=lambda ts: (score(ts[1]), -(ts[1].get("entropy_end") or 0)))
        return choose(
            t,
            sop=SOP_DROPOUT,
            evidence=evidence,
            reason=f"dropout {t.config.lora.lora_dropout:g} holds entropy "
            f"({s.get('entropy_start', math.nan):.3g} -> {s.get('entropy_end', math.nan):.3g}), "
            f"score {score(s):.4g}",
        )
    last = ran[-1][0] if ran else c
    q = Question(
        "dropout_unresolved",
        f"Entropy still collapses at dropout {last.config.lora.lora_dropout:g} "
        "(the data may be templated: see stage 0). Carry on with the dropout that measured best and judge by "
        "the samples?",
    )
    declined = "entropy collapses at every dropout tried"
    waiting = unless_yes(inp, q, sop=SOP_DROPOUT, evidence=evidence, declined=declined)
    if waiting is not None:
        return waiting
    # No dropout held entropy, so none earned a change by it: the one that measured best is kept, and a tie
    # goes to the carried value (the highest tried used to be kept: on SmolLM2, 0.2 where 0.05 did as well).
    rows = [measured(c)] + [measured(t) for t, _, _ in ran]
    evidence += rows
    if not any(r["usable"] for r in rows):
        return Outcome("done", sop=SOP_DROPOUT, evidence=evidence, reason=f"{declined}; dropout stays {current:g}")
    chosen, why = pick(rows, c.key)
    if chosen["trial"] == c.key:
        return Outcome("done", sop=SOP_DROPOUT, evidence=evidence, reason=f"{declined}; dropout stays: {why}")
    return choose(inp.trials[chosen["trial"]], sop=SOP_DROPOUT, evidence=evidence, reason=f"{declined}; dropout: {why}")


def alpha_direction(inp: StageInput) -> tuple[str | None, list[dict], Question | None]:
    """("up" | "down" | None, the evidence, a question a person must answer first)."""
    c = inp.candidate
    cs = summary(c)
    th = c.config.thresholds
    rising = rule_rows(c, ("grad_norm_rising_alpha",))
    g = series_ends(c.history, "grad_norm")
    if not rising and g and g[1] > 1.5 * g[0] and g[1] > th.grad_norm_high:
        rising = [
            {
                "trial": c.key,
                "rule": "grad_norm_rising",
                "values": list(g),
                "first_step": None,
                "last_step": c.history.step,
                "message": f"grad_norm median {g[0]:.3g} -> {g[1]:.3g}",
            }
        ]
    if rising:
        return "down", [cs, *rising], None
    slow = rule_rows(c, ("loss_slow",))
    if slow:
        return "up", [cs, *slow], None
    end = cs.get("loss_end")
    if end is not None and end < LOW_LOSS:
        q = Question(
            "outputs_rigid",
            f"{c.key}'s loss fell to {end:.3g}: are its samples rigid (all alike, one "
            f"template)? `cockpit replay {c.run_dir}` shows them.",
            default="no",
        )
        answer = inp.answers.get(q.id)
        if answer is None:
            return None, [cs], q
        if answer == "yes":
            return "down", [cs, {"trial": c.key, "judged": "outputs rigid", "by": "a person"}], None
    return None, [cs], None


def decide_alpha(inp: StageInput) -> Outcome:
    c = inp.candidate
    if c is None:
        return Outcome("skipped", sop=SOP_ALPHA, reason="no candidate trial to read")
    direction, evidence, q = alpha_direction(inp)
    if q is not None:
        return Outcome("ask", sop=SOP_ALPHA, question=q, evidence=evidence)
    alpha = inp.config.lora.alpha
    if direction is None:
        cs = evidence[0]
        lora = inp.config.lora
        values = [v for v in (alpha * 2, alpha / 2, 2.0 * lora.r) if v != alpha]
        tried = explore(inp, "lora.lora_alpha", values, lambda v: f"alpha-{v:g}", SOP_ALPHA, evidence, "lora_alpha")
        if tried is not None:
            return tried
        return Outcome(
            "skipped",
            sop=SOP_ALPHA,
            evidence=evidence,
            reason=f"{c.key}: loss {_num(cs.get('loss_start')):.3g} -> {_num(cs.get('loss_end')):.3g} "
            f"not slow, grad_norm not rising, loss not low: lora_alpha stays {alpha:g}",
        )
    new = alpha * 2 if direction == "up" else alpha / 2
    key = f"alpha-{new:g}"
    t = inp.trials.get(key)
    if t is None:
        return Outcome(
            "run",
            sop=SOP_ALPHA,
            evidence=evidence,
            trials=[TrialSpec(key, {"lora.lora_alpha": new}, f"alpha {direction}: {alpha:g} -> {new:g}")],
        )
    cs, ts = evidence[0], summary(t)
    evidence.append(ts)
    trouble = gradient_trouble(t)
    # Down is for rigid outputs or rising gradients: it may cost a little loss; up must earn its place.
    better = score(ts) < score(cs) if direction == "up" else score(ts) <= score(cs) * 1.05
    if ts["verdict"] == "good" and not trouble and better:
        return choose(
            t,
            sop=SOP_ALPHA,
            evidence=evidence,
            reason=f"lora_alpha {new:g}: score {score(ts):.4g} vs {score(cs):.4g} at {alpha:g}",
        )
    why = (
        "gradient trouble"
        if trouble
        else (f"verdict {ts['verdict']}" if ts["verdict"] != "good" else f"score {score(ts):.4g} vs {score(cs):.4g}")
    )
    return Outcome(
        "done",
        sop=SOP_ALPHA,
        patch={},
        evidence=evidence + trouble,
        reason=f"lora_alpha stays {alpha:g}: the {new:g} trial was not better ({why})",
    )
