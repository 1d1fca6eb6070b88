"""Root causes: rules that name why a run misbehaves, and fold the symptoms they explain under them.

A symptom rule reads one signal (loss near 0: lr too high). Read alone it can point the wrong way: a loss
of exactly 0 with a gradient of exactly 0 from the first log is no learning at all, and a zero loss with
NaN gradients is an overflow. These rules read the signals together; `fold` then moves the symptom
findings under the cause (`Finding.folded`), so the operator gets one diagnosis and one action.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from cockpit.advisor import actions
from cockpit.advisor.context import Context, median
from cockpit.advisor.loss_rules import FLAT_MIN_POINTS
from cockpit.advisor.registry import Hit, Rule, hit_at, registrar
from cockpit.advisor.types import Finding
from cockpit.severity import worst

RULES: list[Rule] = []
rule = registrar(RULES)

ZERO = 1e-8
"""A logged loss or grad_norm at or under this is 0 (HF rounds the loss to 4 decimals)."""

EXPLAINS: dict[str, tuple[str, ...]] = {
    "broken_setup": (
        "loss_collapse",
        "loss_flat",
        "loss_slow",
        "grad_norm_vanishing",
        "entropy_flat",
        "entropy_collapse",
        "fake_learning",
        "too_few_points",
    ),
    "numeric_failure": (
        "loss_collapse",
        "loss_nonfinite",
        "grad_norm_nonfinite",
        "loss_flat",
        "loss_slow",
        "loss_jump",
        "grad_norm_vanishing",
        "fake_learning",
        "too_few_points",
    ),
    "divergence": (
        "eval_diverging",
        "eval_above_best",
        "loss_slow",
        "loss_flat",
        "entropy_flat",
        "loss_jump",
        "grad_norm_high",
        "grad_norm_precursor",
        "grad_norm_sawtooth",
        "grad_norm_explosion",
        "grad_norm_rising_alpha",
    ),
    "eval_above_best": ("eval_diverging", "loss_flat", "loss_slow", "grad_norm_vanishing"),
    # A run that ended inside its warm-up never ran at its lr: a flat or slow loss there says nothing of it.
    "warmup_unfinished": ("loss_flat", "loss_slow", "entropy_flat"),
    # A loss that does not move is the SOP's "lr too low"; a high but steady grad_norm beside it says the
    # steps are too small to act on the gradient, not that the lr is high (that moves the loss).
    "loss_flat": ("grad_norm_high",),
}
"""Root cause -> the symptom rules whose advice it makes moot. Earlier roots win a symptom."""


def fold(findings: list[Finding]) -> list[Finding]:
    """Move each explained finding under its root; the root takes the worst severity among them, so
    `worst`, the verdict and the exit code stay what the symptoms alone would give."""
    present = {f.rule for f in findings}
    owner: dict[str, str] = {}
    for root, explained in EXPLAINS.items():
        if root in present and root not in owner:
            for r in explained:
                if r in present and r not in owner:
                    owner[r] = root
    if not owner:
        return findings
    out = []
    for f in findings:
        if f.rule in owner:
            continue
        kids = tuple(g for g in findings if owner.get(g.rule) == f.rule)
        if kids:
            sev = worst([f.severity, *(k.severity for k in kids)])
            f = replace(f, severity=sev, folded=kids)
        out.append(f)
    return out


def _rows(ctx: Context, key: str) -> np.ndarray:
    return np.asarray(ctx.history.series.get(key, ()), dtype=np.float64)


@rule
def broken_setup(ctx: Context) -> Hit | None:
    """Loss exactly 0 and grad_norm exactly 0 from the first log: nothing carries loss (every label
    masked, empty answers) or the loss reaches no trainable weight. No lr helps."""
    loss, gn = _rows(ctx, "loss"), _rows(ctx, "grad_norm")
    rows = np.flatnonzero(~np.isnan(loss))
    if not len(rows):
        return None
    nan_grad = set(ctx.history.nonfinite.get("grad_norm", ()))
    steps = ctx.history.steps
    zero = 0
    for i in rows.tolist():
        g = gn[i] if i < len(gn) else np.nan
        if not (0 <= loss[i] <= ZERO) or steps[i] in nan_grad or (not np.isnan(g) and g > ZERO):
            break
        zero += 1
    if not zero:
        return None
    first, last = int(steps[rows[0]]), int(steps[rows[zero - 1]])
    grads = "and grad_norm 0 " if np.any(gn[rows[:zero]] == 0) else ""
    message = (
        f"loss 0 {grads}from the first log ({zero} logged step(s), steps {first}-{last}): nothing "
        "trains (labels all masked, empty answers, or the loss reaches no adapter weight); no lr helps"
    )
    return hit_at(message, actions.check_data(), [first, last], logged=zero)


@rule
def numeric_failure(ctx: Context) -> Hit | None:
    """Loss 0 logged together with a NaN/inf grad_norm: the step overflowed (fp16), it did not learn."""
    bad = ctx.history.nonfinite.get("grad_norm", [])
    if not bad:
        return None
    loss, lr = _rows(ctx, "loss"), _rows(ctx, "learning_rate")
    index = {s: i for i, s in enumerate(ctx.history.steps)}
    hit = [s for s in bad if s in index and 0 <= loss[index[s]] <= ZERO]
    if not hit:
        return None
    lrs = [lr[index[s]] for s in hit if index[s] < len(lr) and np.isfinite(lr[index[s]])]
    top = max(lrs) if lrs else None
    small = top is not None and top <= actions.LR_SMALL
    at = f", lr {top:.2g}" if top is not None else ""
    message = (
        f"loss 0 with grad_norm NaN/inf at {len(hit)} logged step(s) (steps {hit[0]}-{hit[-1]}{at}): a "
        "numeric failure (overflow), not learning" + ("; an lr this small is not the suspect" if small else "")
    )
    return hit_at(message, actions.switch_precision(ctx.config, top), hit, lr=top)


@rule
def divergence(ctx: Context) -> Hit | None:
    """Train loss and eval loss both rising: the optimisation diverges (lr), which is not overfitting."""
    rise, up = ctx.train_rise, ctx.eval_rise
    if rise is None or up is None:
        return None
    es, ev = ctx.eval_loss
    b = up[0]
    _, g = ctx.arrays("grad_norm")
    grad = f", grad_norm up to {float(g.max()):.3g}" if len(g) and g.max() > ctx.thresholds.grad_norm_high else ""
    low, now = rise
    message = (
        f"train loss and eval_loss both rising (train {low:.3g} -> {now:.3g}, eval {ev[b]:.3g} at step "
        f"{es[b]} -> {ev[-1]:.3g}{grad}): divergence, not overfitting: lr too high"
    )
    # danger: fold() makes it critical when an explosion it explains is
    return hit_at(message, actions.lr_half(), [es[b], es[-1]], [ev[b], ev[-1]], severity="danger", train=[low, now])


@rule
def eval_above_best(ctx: Context) -> Hit | None:
    """eval_loss now well above its lowest point while train loss does not rise: overfitting, and the
    best adapter is an earlier checkpoint, not the last."""
    if ctx.eval_rise is None or ctx.train_rise is not None:
        return None
    es, ev = ctx.eval_loss
    b, p = ctx.eval_rise
    best, last = ev[b], ev[-1]
    _, lv = ctx.tail("loss", 5)
    train = f" while train loss is {median(lv):.3g}" if lv else ""
    message = (
        f"eval_loss ended {last / best - 1:.0%} above its best ({best:.3g} at step {es[b]}; peak "
        f"{ev[p]:.3g} at step {es[p]}; last {last:.3g} at step {es[-1]}){train}: overfitting"
    )
    return hit_at(message, actions.keep_best(ctx.config, es[b]), [es[b], es[p], es[-1]], [best, ev[p], last])


@rule
def too_few_points(ctx: Context) -> Hit | None:
    """A finished run with fewer logged losses than the flat rule reads, and the loss barely moved: whether
    it is flat cannot be told from so few points."""
    if not ctx.history.finished or not ctx.language_model_loss:
        return None
    steps, vals = ctx.arrays("loss")
    n = len(vals)
    if n < 2 or n >= FLAT_MIN_POINTS or vals[0] <= 0:
        return None
    rel = float(vals[-1] - vals[0]) / float(vals[0])
    if abs(rel) >= 5 * ctx.thresholds.loss_flat_rel:
        return None  # it clearly moved: the other rules judge it
    _, lrs = ctx.arrays("learning_rate")
    warming = len(lrs) >= 2 and lrs[-1] > lrs[-2] * 1.01
    message = (
        f"only {n} logged steps, loss {vals[0]:.3g} -> {vals[-1]:.3g} ({rel:+.1%})"
        + (", lr still warming up at the end" if warming else "")
        + f": too few points to judge whether it is flat (the flat rule reads {FLAT_MIN_POINTS})"
    )
    ends = [int(steps[0]), int(steps[-1])]
    return hit_at(message, actions.log_more(ctx.history.step), ends, [float(vals[0]), float(vals[-1])], logged=n)
