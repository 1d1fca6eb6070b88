"""Rules on the run around the signals: memory headroom, eval loss against train loss, clipping, and
whether the logged lr follows the configured schedule."""

from __future__ import annotations

import math

import numpy as np

from cockpit.advisor import actions
from cockpit.advisor.context import Context, median
from cockpit.advisor.registry import Hit, Rule, fmt, graded, hit_at, registrar

RULES: list[Rule] = []
rule = registrar(RULES)


@rule
def memory_high(ctx: Context) -> Hit | None:
    """Device memory over memory_danger (SOP: keep 10-20% free)."""
    steps, used = ctx.tail("mem_used", 1)
    _, total = ctx.tail("mem_total", 1)
    if not used or not total or ctx.history.mem_kind != "vram":
        return None
    share = used[-1] / total[-1] if total[-1] else 0
    sev = graded(share, ctx.thresholds.memory_warn, ctx.thresholds.memory_danger)
    if sev is None:
        return None
    message = f"GPU memory {share:.0%} used (keep 10-20% free): smaller batch, gradient checkpointing"
    return hit_at(message, actions.memory_down(ctx.config), [steps[-1]], severity=sev, share=share)


@rule
def eval_diverging(ctx: Context) -> Hit | None:
    """Eval loss rising while train loss falls, or far above it: overfitting."""
    h = ctx.history
    ev = [v for v in h.eval_series.get("eval_loss", []) if math.isfinite(v)]
    es = [s for s, v in zip(h.eval_steps, h.eval_series.get("eval_loss", [])) if math.isfinite(v)]
    ls, lv = ctx.tail("loss", 15)
    if len(ev) < 2 or not lv or ctx.train_rise is not None:
        return None  # train rising too is divergence (causes.py), not overfitting
    train_now = median(lv[-5:])
    rising = ev[-1] > ev[-2] * 1.02
    gap = train_now > 0 and ev[-1] > ctx.thresholds.eval_gap_ratio * train_now
    train_falling = len(lv) > 10 and median(lv[-5:]) < median(lv[-15:-5])
    if not ((rising and train_falling) or (gap and rising)):
        return None
    message = (
        f"eval_loss {'rising' if rising else 'high'} ({fmt(ev[-2])} -> {fmt(ev[-1])}) while train "
        f"loss is {fmt(train_now)}: overfitting"
    )
    return hit_at(message, actions.dropout_up(ctx.config), es[-2:], ev[-2:], severity="danger" if gap else "warn")


@rule
def clipping_off(ctx: Context) -> Hit | None:
    """max_grad_norm 0: clipping off, which the SOP forbids."""
    mgn = ctx.training.get("max_grad_norm")
    if not (ctx.is_ours and mgn is not None and float(mgn) <= 0):
        return None
    message = "max_grad_norm is 0: gradient clipping is off (the SOP requires it)"
    return Hit(message, {"max_grad_norm": mgn}, None, None, actions.clipping_on())  # the config has no step


@rule
def lr_schedule(ctx: Context) -> Hit | None:
    """The logged lr is not what the configured schedule should give (before any operator change)."""
    from cockpit.advisor.schedule import expected_lrs

    st, got = ctx.arrays("learning_rate")
    total = ctx.history.total_steps
    if not ctx.is_ours or not total or len(got) < 5:
        return None
    cut = min(ctx.lr_change_steps, default=None)
    if cut is not None:
        st, got = st[st < cut], got[st < cut]
    exp = expected_lrs(ctx.training, st, total)
    if exp is None:
        return None
    off = np.flatnonzero(np.abs(got - exp) > 0.1 * np.maximum(exp, 1e-12) + 1e-12)
    bad = [(int(st[j]), float(got[j]), float(exp[j])) for j in off[:40]] + (
        [(int(st[off[-1]]), float(got[off[-1]]), float(exp[off[-1]]))] if len(off) > 40 else []
    )
    if len(bad) < 3:
        return None
    s, v, e = bad[0]
    message = f"learning rate {v:.3g} at step {s}, the schedule ({ctx.training.get('lr_scheduler_type')}) says {e:.3g}"
    steps, logged, expected = map(list, zip(*bad))
    return hit_at(message, None, steps, logged, expected=expected[:20])
