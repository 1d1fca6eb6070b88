"""Rules on how a step goes, beyond the loss: the size of its update on the adapter, the time it waits
for data, the padding it carries, and the samples it produces (the monitoring notes' signals).

Joined into the advisor's RULES by cockpit.advisor.rules, after the rules on the signals.
"""

from __future__ import annotations

import operator

from cockpit.advisor import actions
from cockpit.advisor.context import Context, median
from cockpit.advisor.registry import Hit, Rule, graded, hit_at, registrar

RULES: list[Rule] = []
rule = registrar(RULES)

WINDOW = 20
"""Logged steps the step-time rules take a median over: one slow step is not a pattern."""


@rule
def update_large(ctx: Context) -> Hit | None:
    """||dW|| / ||W|| of the adapter per optimizer step over the update band (median of the last steps)."""
    r = ctx.recent("update_ratio", WINDOW)
    if r is None:
        return None
    th = ctx.thresholds
    sev = graded(r.median, th.update_ratio_warn, th.update_ratio_danger, reached=operator.gt)
    if sev is None:
        return None
    message = (
        f"each step moves the adapter by {r.median:.1%} of its norm (median of the last {len(r.values)} logged; "
        f"band {th.update_ratio_warn:.0%} / {th.update_ratio_danger:.0%}): updates too large, lr too high"
    )
    return hit_at(message, actions.lr_half(), r.steps, r.values, severity=sev)


@rule
def padding_heavy(ctx: Context) -> Hit | None:
    """Pad positions over pad_share_warn of the batches."""
    r = ctx.recent("pad_share", WINDOW)
    if r is None or r.median <= ctx.thresholds.pad_share_warn:
        return None
    message = (
        f"{r.median:.0%} of every batch is padding (median of the last {len(r.values)} logged steps): "
        "group samples by length, or pack them"
    )
    return hit_at(message, actions.group_by_length(ctx.config), r.steps, r.values)


@rule
def data_starved(ctx: Context) -> Hit | None:
    """Time spent waiting for the next batch over data_wait_warn of the step time."""
    steps, wait = ctx.tail("data_wait", WINDOW)
    _, step_time = ctx.tail("step_time", WINDOW)
    n = min(len(wait), len(step_time))
    if n < 3:
        return None
    share = median(wait[-n:]) / max(median(step_time[-n:]), 1e-9)
    if share <= ctx.thresholds.data_wait_warn:
        return None
    message = (
        f"steps wait {share:.0%} of their time for the next batch (median of the last {n} logged): "
        "the data loader is starved"
    )
    return hit_at(message, actions.more_workers(ctx.config), steps[-n:], wait[-n:], share=share)


@rule
def samples_degenerate(ctx: Context) -> Hit | None:
    """The latest samples repeat themselves, hold garbage or leak the template; worse than the first ones."""
    from cockpit.sample_signals import score_all, shown

    samples = ctx.history.samples
    if not samples:
        return None
    scored = score_all(samples)
    last_step = samples[-1].get("step")
    latest = [(s, sc) for s, sc in scored if s.get("step") == last_step]
    bad = [(s, sc) for s, sc in latest if sc.bad]
    if not bad:
        return None
    first_step = samples[0].get("step")
    was_bad = [sc for s, sc in scored if s.get("step") == first_step and sc.bad]
    garbage = any(sc.garbage or sc.leakage for _, sc in bad)
    sev = "danger" if len(bad) == len(latest) and not was_bad else "warn"
    s, sc = bad[0]
    prompt = str(s.get("prompt", "")).replace("\n", " ")[:40]
    evidence = {
        "steps": [last_step],
        "prompt": shown(s, "prompt"),
        "completion": shown(s),
        "what": sc.summary(),
        "bad": len(bad),
        "of": len(latest),
    }
    action = actions.check_data() if garbage else actions.lr_half()
    message = f"{len(bad)} of {len(latest)} samples at step {last_step} go wrong: {sc.summary()} (e.g. '{prompt}')"
    at = last_step if isinstance(last_step, int) else None  # a sample logged without a step has no span
    return Hit(message, evidence, at, at, action, sev)
