"""Rules on the entropy of the model's predictions: a collapse (overfitting), a plateau (not learning),
and low entropy with low loss ("fake learning")."""

from __future__ import annotations

from cockpit.advisor import actions
from cockpit.advisor.context import Context, median, window_ends
from cockpit.advisor.loss_rules import early_points
from cockpit.advisor.registry import Hit, Rule, fmt, over_window, registrar

RULES: list[Rule] = []
rule = registrar(RULES)


@rule
def entropy_collapse(ctx: Context) -> Hit | None:
    """Entropy falling fast to a small share of its start: overfitting, raise dropout."""
    steps, vals = ctx.arrays("entropy")
    th = ctx.thresholds
    if len(vals) < 5:
        return None
    start = median(vals[:3].tolist())
    for s, v in zip(*early_points(steps, vals, th.loss_collapse_steps)):
        if start > 0 and v < th.entropy_collapse_ratio * start:
            message = f"entropy fell from {fmt(start)} to {fmt(v)} by step {s}: overfitting, raise dropout"
            evidence = {"steps": [int(steps[0]), s], "values": [start, v]}
            return Hit(message, evidence, s, int(steps[-1]), actions.dropout_up(ctx.config))
    return None


@rule
def entropy_flat(ctx: Context) -> Hit | None:
    """Entropy not moving while loss is not moving either: not learning."""
    th = ctx.thresholds
    w = th.flat_window
    es, ev = ctx.tail("entropy", w)
    _, lv = ctx.tail("loss", w)
    if len(ev) < w or len(lv) < w or ctx.flat_by_schedule:
        return None
    a, b = window_ends(ev[-w:], w // 3)
    la, lb = window_ends(lv[-w:], w // 3)
    if not (a > 0 and abs(a - b) / a < th.loss_flat_rel and la > 0 and abs(la - lb) / la < th.loss_flat_rel):
        return None
    message = f"entropy flat at ~{fmt(b)} and loss flat at ~{fmt(lb)}: nothing is being learned"
    return over_window(message, actions.lr_double(), es, w, values=[a, b])


@rule
def fake_learning(ctx: Context) -> Hit | None:
    """Low loss with low entropy: the model is certain of templated answers ("fake learning")."""
    _, lv = ctx.tail("loss", 5)
    es, ev = ctx.tail("entropy", 5)
    if len(lv) < 5 or len(ev) < 5:
        return None
    lo, eo = median(lv[-5:]), median(ev[-5:])
    if not (0 <= lo < 0.1 and eo < 0.2):
        return None
    message = f"loss {fmt(lo)} with entropy {fmt(eo)}: outputs are likely templated; check samples"
    return over_window(message, actions.dropout_up(ctx.config), es, 5, loss=lo, entropy=eo)
