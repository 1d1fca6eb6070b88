"""Rules on the entropy of the model's predictions: a collapse (overfitting), a plateau (not learning),
and low entropy with low loss ("fake learning")."""

from __future__ import annotations

from cockpit.advisor import actions
from cockpit.advisor.context import Context, median, window_ends
from cockpit.advisor.loss_rules import early_points
from cockpit.advisor.registry import SOP, Rule, fmt, over_window, registrar
from cockpit.advisor.types import Finding

RULES: list[Rule] = []
rule = registrar(RULES)


@rule(
    "entropy_collapse",
    "entropy",
    sop=SOP + "signal-entropy",
    sop_line="entropy falls fast to a low value: overfitting, raise dropout",
    severity="danger",
    action="lora_dropout up",
)
def entropy_collapse(ctx: Context) -> list[Finding]:
    """Entropy falling fast to a small share of its start: overfitting, raise dropout."""
    steps, vals = ctx.arrays("entropy")
    th = ctx.thresholds
    if len(vals) < 5:
        return []
    start = median(vals[:3].tolist())
    for s, v in zip(*early_points(steps, vals, th.loss_collapse_steps)):
        if start > 0 and v < th.entropy_collapse_ratio * start:
            return [
                Finding(
                    "entropy_collapse",
                    "danger",
                    f"entropy fell from {fmt(start)} to {fmt(v)} by step {s}: overfitting, raise dropout",
                    {"steps": [int(steps[0]), s], "values": [start, v]},
                    s,
                    int(steps[-1]),
                    actions.dropout_up(ctx.config),
                )
            ]
    return []


@rule(
    "entropy_flat",
    "entropy",
    sop=SOP + "signal-entropy",
    sop_line="entropy hardly changes: not learning",
    severity="warn",
    action="lr x2",
)
def entropy_flat(ctx: Context) -> list[Finding]:
    """Entropy not moving while loss is not moving either: not learning."""
    th = ctx.thresholds
    w = th.flat_window
    es, ev = ctx.tail("entropy", w)
    ls, lv = ctx.tail("loss", w)
    if len(ev) < w or len(lv) < w or ctx.flat_by_schedule:
        return []
    a, b = window_ends(ev[-w:], w // 3)
    la, lb = window_ends(lv[-w:], w // 3)
    if a > 0 and abs(a - b) / a < th.loss_flat_rel and la > 0 and abs(la - lb) / la < th.loss_flat_rel:
        return over_window(
            "entropy_flat",
            "warn",
            f"entropy flat at ~{fmt(b)} and loss flat at ~{fmt(lb)}: nothing is being learned",
            es,
            w,
            actions.lr_double(),
            values=[a, b],
        )
    return []


@rule(
    "fake_learning",
    "entropy",
    sop=SOP + "signal-entropy",
    sop_line="low entropy with low loss is fake learning",
    severity="warn",
    action="lora_dropout up",
)
def fake_learning(ctx: Context) -> list[Finding]:
    """Low loss with low entropy: the model is certain of templated answers ("fake learning")."""
    _, lv = ctx.tail("loss", 5)
    es, ev = ctx.tail("entropy", 5)
    if len(lv) < 5 or len(ev) < 5:
        return []
    lo, eo = median(lv[-5:]), median(ev[-5:])
    if 0 <= lo < 0.1 and eo < 0.2:
        return over_window(
            "fake_learning",
            "warn",
            f"loss {fmt(lo)} with entropy {fmt(eo)}: outputs are likely templated; check samples",
            es,
            5,
            actions.dropout_up(ctx.config),
            loss=lo,
            entropy=eo,
        )
    return []
