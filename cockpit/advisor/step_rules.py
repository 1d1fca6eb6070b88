"""Rules on how a step goes, beyond the loss: the size of its update on the adapter, the time it waits
for data, the padding it carries, and the samples it produces (the monitoring notes' signals).

Joined into the advisor's RULES by cockpit.advisor.rules, after the rules on the signals.
"""

from __future__ import annotations

from cockpit.advisor import actions
from cockpit.advisor.context import Context, median
from cockpit.advisor.registry import SOP, Rule, registrar
from cockpit.advisor.types import Finding

RULES: list[Rule] = []
rule = registrar(RULES)

WINDOW = 20
"""Logged steps the step-time rules take a median over: one slow step is not a pattern."""


@rule(
    "update_large",
    "update",
    sop=SOP + "the-stop-list",
    sop_line="abnormally large weight updates: stop the run",
    severity="warn / danger",
    action="lr x0.5",
)
def update_large(ctx: Context) -> list[Finding]:
    """||dW|| / ||W|| of the adapter per optimizer step over the update band (median of the last steps)."""
    steps, vals = ctx.tail("update_ratio", WINDOW)
    if len(vals) < 3:
        return []
    th = ctx.thresholds
    m = median(vals)
    if m > th.update_ratio_danger:
        sev = "danger"
    elif m > th.update_ratio_warn:
        sev = "warn"
    else:
        return []
    return [
        Finding(
            "update_large",
            sev,
            f"each step moves the adapter by {m:.1%} of its norm (median of the last "
            f"{len(vals)} logged; band {th.update_ratio_warn:.0%} / {th.update_ratio_danger:.0%}): updates "
            "too large, lr too high",
            {"steps": steps, "values": vals},
            steps[0],
            steps[-1],
            actions.lr_half(),
        )
    ]


@rule(
    "padding_heavy",
    "step_time",
    sop=SOP + "signal-step-time",
    sop_line="step time swinging with sequence length: group by length, or pack",
    severity="warn",
    action="group_by_length (or packing)",
)
def padding_heavy(ctx: Context) -> list[Finding]:
    """Pad positions over pad_share_warn of the batches."""
    steps, vals = ctx.tail("pad_share", WINDOW)
    if len(vals) < 3 or median(vals) <= ctx.thresholds.pad_share_warn:
        return []
    m = median(vals)
    return [
        Finding(
            "padding_heavy",
            "warn",
            f"{m:.0%} of every batch is padding (median of the last {len(vals)} "
            "logged steps): group samples by length, or pack them",
            {"steps": steps, "values": vals},
            steps[0],
            steps[-1],
            actions.group_by_length(ctx.config),
        )
    ]


@rule(
    "data_starved",
    "step_time",
    sop=SOP + "signal-step-time",
    sop_line="steps waiting for their batch: more data loader workers",
    severity="warn",
    action="more data loader workers",
)
def data_starved(ctx: Context) -> list[Finding]:
    """Time spent waiting for the next batch over data_wait_warn of the step time."""
    steps, wait = ctx.tail("data_wait", WINDOW)
    _, step_time = ctx.tail("step_time", WINDOW)
    n = min(len(wait), len(step_time))
    if n < 3:
        return []
    share = median(wait[-n:]) / max(median(step_time[-n:]), 1e-9)
    if share <= ctx.thresholds.data_wait_warn:
        return []
    return [
        Finding(
            "data_starved",
            "warn",
            f"steps wait {share:.0%} of their time for the next batch (median of "
            f"the last {n} logged): the data loader is starved",
            {"steps": steps[-n:], "values": wait[-n:], "share": share},
            steps[-n],
            steps[-1],
            actions.more_workers(ctx.config),
        )
    ]


@rule(
    "samples_degenerate",
    "samples",
    sop=SOP + "signal-samples",
    sop_line="read the samples: instruction followed? garbage, repetition?",
    severity="warn / danger",
    action="lr x0.5 (repetition); check-data (garbage, template leakage)",
)
def samples_degenerate(ctx: Context) -> list[Finding]:
    """The latest samples repeat themselves, hold garbage or leak the template; worse than the first ones."""
    from cockpit.sample_signals import score_all

    samples = ctx.history.samples
    if not samples:
        return []
    scored = score_all(samples)
    last_step = samples[-1].get("step")
    latest = [(s, sc) for s, sc in scored if s.get("step") == last_step]
    bad = [(s, sc) for s, sc in latest if sc.bad]
    if not bad:
        return []
    first_step = samples[0].get("step")
    was_bad = [sc for s, sc in scored if s.get("step") == first_step and sc.bad]
    garbage = any(sc.garbage or sc.leakage for _, sc in bad)
    sev = "danger" if len(bad) == len(latest) and not was_bad else "warn"
    s, sc = bad[0]
    prompt = str(s.get("prompt", "")).replace("\n", " ")[:40]
    evidence = {
        "steps": [last_step],
        "prompt": s.get("prompt"),
        "completion": s.get("completion"),
        "what": sc.summary(),
        "bad": len(bad),
        "of": len(latest),
    }
    action = actions.check_data() if garbage else actions.lr_half()
    return [
        Finding(
            "samples_degenerate",
            sev,
            f"{len(bad)} of {len(latest)} samples at step {last_step} go wrong: {sc.summary()} (e.g. '{prompt}')",
            evidence,
            last_step if isinstance(last_step, int) else None,
            last_step if isinstance(last_step, int) else None,
            action,
        )
    ]
