"""The forgetting rule: the model loses general skill while it learns the task (the tuning notes'
troubleshooting entry "the model got dumber", whose remedy is to mix ~10% general data in).

The trainer measures `general_eval_loss` on the shipped general set at each evaluation, the base
model's value first (cockpit.trainer.general_eval). Joined into the advisor's RULES by
cockpit.advisor.rules, after the step rules.
"""

from __future__ import annotations

import math

from cockpit.advisor.context import Context, median
from cockpit.advisor.registry import Hit, Rule, graded, hit_at, registrar
from cockpit.advisor.types import Action

RULES: list[Rule] = []
rule = registrar(RULES)

GENERAL = "general_eval_loss"


def _finite(steps, values) -> tuple[list[int], list[float]]:
    pairs = [(int(s), float(v)) for s, v in zip(steps, values) if math.isfinite(v)]
    return [s for s, _ in pairs], [v for _, v in pairs]


def task_improving(ctx: Context) -> tuple[bool, dict]:
    """Whether the task is learned: eval_loss below its first value, or (one evaluation or none) the
    train loss falling from its first logged points to its last."""
    h = ctx.history
    es, ev = _finite(h.eval_steps, h.eval_series.get("eval_loss", []))
    if len(ev) >= 2:
        return ev[-1] < ev[0], {"eval_loss": [ev[0], ev[-1]], "eval_steps": [es[0], es[-1]]}
    _, loss = ctx.arrays("loss")
    if len(loss) < 10:
        return False, {}
    first, last = median(list(loss[:5])), median(list(loss[-5:]))
    return last < first, {"loss": [first, last]}


def general_replay(cfg: dict) -> Action:
    data = (cfg.get("data") or {}) if isinstance(cfg, dict) else {}
    mix = float(data.get("general_mix") or 0.0)
    new = 0.1 if mix < 0.1 else round(min(0.5, mix * 2), 3)
    return Action(
        "general_replay",
        f"data.general_mix {mix:g} -> {new:g}",
        "Mix general data into the next run's training rows (general replay, the tuning notes' remedy "
        "for forgetting); a lower lr also moves the model less.",
        config_patch={"data.general_mix": new},
    )


@rule
def forgetting(ctx: Context) -> Hit | None:
    """general_eval_loss risen over the base model's (the first measured) while the task improves."""
    h = ctx.history
    steps, vals = _finite(h.eval_steps, h.eval_series.get(GENERAL, []))
    if len(vals) < 2 or steps[-1] <= steps[0] or vals[0] <= 0:
        return None
    ref, now = vals[0], vals[-1]
    rise = now / ref - 1.0
    sev = graded(rise, ctx.thresholds.general_rise_warn, ctx.thresholds.general_rise_danger)
    if sev is None:
        return None
    improving, task = task_improving(ctx)
    if not improving:
        return None  # everything getting worse is divergence, not forgetting
    message = (
        f"general_eval_loss {ref:.3g} -> {now:.3g} (+{rise:.0%} over the base model's) while the task "
        "improves: the fine-tune costs general skill (forgetting)"
    )
    action = general_replay(ctx.config)
    return hit_at(message, action, [steps[0], steps[-1]], [ref, now], severity=sev, rise=rise, peak=max(vals), **task)
