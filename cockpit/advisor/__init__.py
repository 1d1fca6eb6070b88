"""The SOP advisor: pure functions from a run's history (+ config) to stage, findings, next action.

    advice = advise(history, config)

No torch, no textual: the trainer's guards, the cockpit, diagnose and report all call it.
"""

from __future__ import annotations

from typing import Any

from cockpit.advisor import actions
from cockpit.advisor.causes import fold
from cockpit.advisor.context import Context, median
from cockpit.advisor.rules import RULES
from cockpit.advisor.stage import STAGES, infer_stage, needs
from cockpit.advisor.types import Action, Advice, Finding
from cockpit.config_patch import patch_to_set_args
from cockpit.history import History
from cockpit.severity import RANK, SEVERITIES, worst

__all__ = ["advise", "Advice", "Finding", "Action", "SEVERITIES", "RULES", "patch_to_set_args", "evaluate"]

# The SOP's order on gradient trouble: lr x0.5 first, then clipping, then alpha; never r.
GRADIENT_RULES = (
    "divergence",
    "loss_diverged",
    "grad_norm_explosion",
    "grad_norm_precursor",
    "grad_norm_sawtooth",
    "grad_norm_high",
    "loss_jump",
    "loss_oscillating",
    "grad_norm_rising_alpha",
)
LR_WILD = 1e-2
"""An lr over this is not halved but set back into the SOP's range (lr_out_of_range's action)."""
# Findings whose own action comes next (when no gradient trouble is as severe), in this order.
OWN_ACTION_RULES = (
    "clipping_off",
    "eval_above_best",
    "loss_collapse",
    "memory_high",
    "entropy_collapse",
    "eval_diverging",
    "forgetting",
    "fake_learning",
    "lr_out_of_range",
    "method_lr_high",
    "memorisation",
    "rl_no_reward_signal",
    "rl_kl_runaway",
    "rl_entropy_collapse",
    "rl_completions_clipped",
    "rl_length_hacking",
    "rl_reward_flat",
    "preference_margin_exploding",
    "preference_chosen_falling",
    "preference_loss_collapse",
    "preference_accuracy_saturated",
)


def evaluate(history: History, config: Any = None) -> tuple[Context, list[Finding]]:
    ctx = Context.build(history, config)
    findings: list[Finding] = []
    for r in RULES:
        findings.extend(r.check(ctx))
    findings = fold(findings)
    findings.sort(key=lambda f: (-RANK[f.severity], -(f.last_step or 0)))
    return ctx, findings


def advise(history: History, config: Any = None) -> Advice:
    ctx, findings = evaluate(history, config)
    stage = infer_stage(ctx, findings)
    action = next_action(ctx, findings, stage)
    stage_needs = needs(stage, findings, script=history.script is not None)
    if ctx.kind.method in ("preference", "rl"):  # the SOP's stage needs are SFT's: only "clear: ..." holds
        stage_needs = [n for n in stage_needs if n.startswith("clear:")]
    if action is not None and action.id == "final_run" and not final_run_earned(ctx, findings, stage_needs):
        action = None  # the panel then shows what the stage still needs, which is the next step
    return Advice(stage, STAGES[stage], stage_needs, findings, action, verdict(ctx, findings, stage))


def final_run_earned(ctx: Context, findings: list[Finding], stage_needs: list[str]) -> bool:
    """A final run is proposed only by a run that met the SOP's conditions at its end: finished (not at
    step 150 of 3,000, where the run may itself be the long run), no finding standing, and nothing the
    stage's "needs" line still asks to clear."""
    return ctx.history.state == "finished" and not findings and not any(n.startswith("clear:") for n in stage_needs)


def next_action(ctx: Context, findings: list[Finding], stage: int) -> Action | None:
    """One action at a time, in the SOP's priority order."""
    rules = {f.rule: f for f in findings}
    live = not ctx.history.finished and ctx.history.state not in ("unknown",) and ctx.is_ours
    for cause in ("broken_setup", "numeric_failure"):  # no further step helps: stop, then fix the cause
        if cause in rules:
            return actions.stop() if live else rules[cause].action
    if "loss_nonfinite" in rules or "grad_norm_nonfinite" in rules:
        return actions.stop() if live else actions.lr_half_next(ctx.config)
    gradient = [r for r in GRADIENT_RULES if r in rules]
    other = [r for r in OWN_ACTION_RULES if r in rules and rules[r].action is not None]
    if gradient and max(RANK[rules[r].severity] for r in gradient) < max(
        (RANK[rules[r].severity] for r in other), default=-1
    ):
        gradient = []  # a graver finding of another kind leads (the headline names it): its action first
    if gradient:
        if "clipping_off" in rules:
            return rules["clipping_off"].action
        if ctx.lr_halved and "grad_norm_rising_alpha" not in rules:
            # lr already halved and the trouble stands: the SOP's next step is a lower alpha, not r.
            return actions.alpha_down(ctx.config)
        if "grad_norm_rising_alpha" in rules and ctx.lr_halved:
            return rules["grad_norm_rising_alpha"].action
        wild = rules.get("lr_out_of_range")
        if wild is not None and wild.action is not None and wild.evidence.get("peak", 0) > LR_WILD:
            return wild.action  # halving an lr of 5 leaves 2.5: back into the SOP's range instead
        return actions.lr_half() if live else actions.lr_half_next(ctx.config)
    if other:  # the gravest leads (the headline names it), ties in the SOP's order above
        a = rules[max(other, key=lambda r: (RANK[rules[r].severity], -other.index(r)))].action
        return a if (a.command is None or live) else (actions.lr_half_next(ctx.config) if a.id == "lr_half" else a)
    if "loss_flat" in rules or "entropy_flat" in rules:
        if _structure_ready(ctx):
            return actions.structure_up(ctx.config)
        return actions.lr_double() if live else actions.lr_double_next(ctx.config)
    if "loss_slow" in rules:
        if _structure_ready(ctx):
            return actions.structure_up(ctx.config)
        return rules["loss_slow"].action
    if "too_few_points" in rules:
        return rules["too_few_points"].action
    if ctx.is_ours and len(ctx.history) >= 20 and not findings and 6 <= stage < 8:
        # Only from the stability check on: before it, what the stage still needs (an lr sweep, dropout,
        # alpha) is the next step, and the panel lists it; a final run is not yet earned.
        return actions.final_run()
    return None


def _structure_ready(ctx: Context) -> bool:
    """SOP: back to structure only when lr <= 5e-5, dropout >= 0.1, alpha <= 2r and grad_norm is stable."""
    t, lora = ctx.training, ctx.lora
    r = lora.get("r", 8)
    alpha = lora.get("lora_alpha") or 2 * r
    return (t.get("learning_rate") or 1) <= 5e-5 and (lora.get("lora_dropout") or 0) >= 0.1 and alpha <= 2 * r


def verdict(ctx: Context, findings: list[Finding], stage: int) -> str:
    if not len(ctx.history):
        return "no metrics logged yet"
    gravest = worst(f.severity for f in findings)
    if gravest == "critical":
        return "critical: " + findings[0].message
    if gravest == "danger":
        return "danger: " + findings[0].message
    if gravest == "warn":
        return "watch: " + findings[0].message
    n = len(ctx.history)
    if n < 5:
        # A finished run will not grow: "so far" would promise a judgement that never comes.
        return (
            f"finished: no finding in {n} logged step(s), too few to judge a trend"
            if ctx.history.finished
            else "healthy so far"
        )
    return _no_finding(ctx)


def _no_finding(ctx: Context) -> str:
    """What a run with no finding shows, claiming only what its numbers say."""
    if ctx.kind.method in ("preference", "rl"):
        return _no_finding_method(ctx)
    if not ctx.language_model_loss:
        return "no finding: the loss goes negative (not a language-model loss), so its rules do not apply"
    _, loss = ctx.arrays("loss")
    k = max(2, len(loss) // 10)
    falling = len(loss) >= 2 * k and median(loss[-k:]) < median(loss[:k])
    _, g = ctx.tail("grad_norm", 10)
    th = ctx.thresholds
    in_band = not g or th.grad_norm_low <= median(g) <= th.grad_norm_high
    if falling and in_band:
        return "healthy: loss declining, " + _grad_norm_in_band(g, th)
    parts = [
        "loss declining"
        if falling
        else (
            f"loss not declining ({median(loss[:k]):.3g} -> {median(loss[-k:]):.3g})"
            if len(loss) >= 2 * k
            else "loss sparse"
        )
    ]
    parts.append(
        _grad_norm_in_band(g, th)
        if in_band
        else f"grad_norm median {median(g):.3g} outside {th.grad_norm_low:g}-{th.grad_norm_high:g}"
    )
    return "no finding: " + ", ".join(parts)


def _no_finding_method(ctx: Context) -> str:
    """A preference or RL run with no finding: what its own headline signal did (its loss is not read)."""
    key = "rewards/accuracies" if ctx.kind.method == "preference" else ctx.kind.key(ctx.history, "reward")
    _, v = ctx.arrays(key)
    if len(v) < 2:
        return f"no finding ({ctx.kind.label}): no {key} logged to judge"
    k = max(1, len(v) // 4)
    first, last = median(v[:k]), median(v[-k:])
    return f"no finding ({ctx.kind.label}): {key} {first:.3g} -> {last:.3g}"


def _grad_norm_in_band(g: list[float], th) -> str:
    """Says what "in band" judged: the median of the last logs, not the latest value the grad_norm tile
    marks. The demo's tile showed ✖ 18.5 (one spike) beside a bare "grad_norm in band"; a peak over the
    band is named so the words and the chart agree."""
    if not g:
        return "no grad_norm logged"
    peak = max(g)
    spike = f", peak {peak:.3g}" if peak > th.grad_norm_high else ""
    return f"grad_norm median {median(g):.3g} (last {len(g)}) in band {th.grad_norm_low:g}-{th.grad_norm_high:g}{spike}"
