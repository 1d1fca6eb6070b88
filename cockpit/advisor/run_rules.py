"""Rules on the run around the signals: memory headroom, eval loss against train loss, clipping, and
whether the logged lr follows the configured schedule."""

from __future__ import annotations

import math

import numpy as np

from cockpit.advisor import actions
from cockpit.advisor.context import Context, median
from cockpit.advisor.registry import SOP, Rule, fmt, registrar
from cockpit.advisor.types import Finding

RULES: list[Rule] = []
rule = registrar(RULES)


@rule(
    "memory_high",
    "memory",
    sop=SOP + "signal-memory",
    sop_line="keep 10-20% of GPU memory free; near the limit: smaller batch, gradient checkpointing",
    severity="warn / danger",
    action="halve the batch, gradient checkpointing",
)
def memory_high(ctx: Context) -> list[Finding]:
    """Device memory over memory_danger (SOP: keep 10-20% free)."""
    steps, used = ctx.tail("mem_used", 1)
    _, total = ctx.tail("mem_total", 1)
    if not used or not total or ctx.history.mem_kind != "vram":
        return []
    share = used[-1] / total[-1] if total[-1] else 0
    th = ctx.thresholds
    if share >= th.memory_danger:
        sev = "danger"
    elif share >= th.memory_warn:
        sev = "warn"
    else:
        return []
    return [
        Finding(
            "memory_high",
            sev,
            f"GPU memory {share:.0%} used (keep 10-20% free): smaller batch, gradient checkpointing",
            {"steps": [steps[-1]], "share": share},
            steps[-1],
            steps[-1],
            actions.memory_down(ctx.config),
        )
    ]


@rule(
    "eval_diverging",
    "eval",
    sop=SOP + "signal-eval-loss",
    sop_line="train loss falls while eval loss rises: overfitting, dropout 0.05-0.1",
    severity="warn / danger",
    action="lora_dropout up",
)
def eval_diverging(ctx: Context) -> list[Finding]:
    """Eval loss rising while train loss falls, or far above it: overfitting."""
    h = ctx.history
    ev = [v for v in h.eval_series.get("eval_loss", []) if math.isfinite(v)]
    es = [s for s, v in zip(h.eval_steps, h.eval_series.get("eval_loss", [])) if math.isfinite(v)]
    ls, lv = ctx.tail("loss", 15)
    if len(ev) < 2 or not lv or ctx.train_rise is not None:
        return []  # train rising too is divergence (causes.py), not overfitting
    train_now = median(lv[-5:])
    rising = ev[-1] > ev[-2] * 1.02
    gap = train_now > 0 and ev[-1] > ctx.thresholds.eval_gap_ratio * train_now
    train_falling = len(lv) > 10 and median(lv[-5:]) < median(lv[-15:-5])
    if (rising and train_falling) or (gap and rising):
        return [
            Finding(
                "eval_diverging",
                "warn" if not gap else "danger",
                f"eval_loss {'rising' if rising else 'high'} ({fmt(ev[-2])} -> {fmt(ev[-1])}) while train "
                f"loss is {fmt(train_now)}: overfitting",
                {"steps": es[-2:], "values": ev[-2:]},
                es[-2],
                es[-1],
                actions.dropout_up(ctx.config),
            )
        ]
    return []


@rule(
    "clipping_off",
    "config",
    sop=SOP + "stage-2-baseline-config",
    sop_line="max_grad_norm is always on: the first guard against an explosion",
    severity="warn",
    action="max_grad_norm 1.0",
)
def clipping_off(ctx: Context) -> list[Finding]:
    """max_grad_norm 0: clipping off, which the SOP forbids."""
    mgn = ctx.training.get("max_grad_norm")
    if ctx.is_ours and mgn is not None and float(mgn) <= 0:
        return [
            Finding(
                "clipping_off",
                "warn",
                "max_grad_norm is 0: gradient clipping is off (the SOP requires it)",
                {"max_grad_norm": mgn},
                None,
                None,
                actions.clipping_on(),
            )
        ]
    return []


@rule(
    "lr_schedule",
    "lr",
    sop=SOP + "stage-6-stability-check",
    sop_line="the lr follows the schedule; anything else is a scheduler error",
    severity="warn",
    action="(none: check the schedule)",
)
def lr_schedule(ctx: Context) -> list[Finding]:
    """The logged lr is not what the configured schedule should give (before any operator change)."""
    from cockpit.advisor.schedule import expected_lrs

    st, got = ctx.arrays("learning_rate")
    total = ctx.history.total_steps
    if not ctx.is_ours or not total or len(got) < 5:
        return []
    cut = min(ctx.lr_change_steps, default=None)
    if cut is not None:
        st, got = st[st < cut], got[st < cut]
    exp = expected_lrs(ctx.training, st, total)
    if exp is None:
        return []
    off = np.flatnonzero(np.abs(got - exp) > 0.1 * np.maximum(exp, 1e-12) + 1e-12)
    bad = [(int(st[j]), float(got[j]), float(exp[j])) for j in off[:40]] + (
        [(int(st[off[-1]]), float(got[off[-1]]), float(exp[off[-1]]))] if len(off) > 40 else []
    )
    if len(bad) >= 3:
        s, v, e = bad[0]
        return [
            Finding(
                "lr_schedule",
                "warn",
                f"learning rate {v:.3g} at step {s}, the schedule "
                f"({ctx.training.get('lr_scheduler_type')}) says {e:.3g}",
                {
                    "steps": [b[0] for b in bad][:20],
                    "values": [b[1] for b in bad][:20],
                    "expected": [b[2] for b in bad][:20],
                },
                bad[0][0],
                bad[-1][0],
                None,
            )
        ]
    return []
