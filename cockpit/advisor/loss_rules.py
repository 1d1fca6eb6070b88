"""Rules on the loss: NaN, a sudden jump, a collapse to ~0, a plateau, a slow decline."""

from __future__ import annotations

import numpy as np

from cockpit.advisor import actions
from cockpit.advisor.context import Context, median, window_ends
from cockpit.advisor.registry import SOP, Rule, fmt, nonfinite_rule, over_window, registrar
from cockpit.advisor.types import Finding

RULES: list[Rule] = []
rule = registrar(RULES)

FLAT_MIN_POINTS = 8
"""Fewest logged losses the flat rule reads: with fewer, noise and a real plateau look alike."""


RULES.append(nonfinite_rule("loss", "loss NaN: stop the run"))


@rule(
    "loss_jump",
    "loss",
    sop=SOP + "the-stop-list",
    sop_line="the loss jumps up suddenly: stop the run",
    severity="danger",
    action="lr x0.5",
)
def loss_jump(ctx: Context) -> list[Finding]:
    """A sudden jump: loss over jump_ratio x the median of the points before it."""
    steps, vals = ctx.arrays("loss")
    th = ctx.thresholds
    hits = [(int(steps[i]), float(vals[i]), ref) for i, ref in _loss_jumps(vals, th.loss_jump_ratio)]
    if not hits:
        return []
    s, v, ref = hits[-1]
    return [
        Finding(
            "loss_jump",
            "danger",
            f"loss jumped to {fmt(v)} at step {s} (recent median {fmt(ref)})",
            {"steps": [h[0] for h in hits][:20], "values": [h[1] for h in hits][:20]},
            hits[0][0],
            s,
            actions.lr_half(),
        )
    ]


def _loss_jumps(vals: np.ndarray, ratio: float) -> list[tuple[int, float]]:
    """(index, reference) where vals[i] > ratio x the median of the up-to-10 points before it (i >= 5)
    and exceeds it by 0.5. Vectorised: the rule scans the whole run, and runs have 100,000 points."""
    out = []
    for i in range(5, min(10, len(vals))):
        ref = median(vals[:i])
        if ref > 0 and float(vals[i]) > ratio * ref and float(vals[i]) - ref > 0.5:
            out.append((i, ref))
    if len(vals) > 10:
        v = np.asarray(vals, dtype=np.float64)
        refs = np.median(np.lib.stride_tricks.sliding_window_view(v[:-1], 10), axis=1)  # refs[j] is for i = j+10
        cur = v[10:]
        idx = np.flatnonzero((refs > 0) & (cur > ratio * refs) & (cur - refs > 0.5))
        out.extend((int(j) + 10, float(refs[j])) for j in idx)
    return out


@rule(
    "loss_collapse",
    "loss",
    sop=SOP + "signal-loss",
    sop_line="loss to ~0 within 200 steps: lr too high (or small templated data, stage 0)",
    severity="danger",
    action="lr x0.5",
)
def loss_collapse(ctx: Context) -> list[Finding]:
    """Loss to ~0 within the first loss_collapse_steps steps: lr too high, or templated data."""
    if not ctx.language_model_loss:
        return []
    steps, vals = ctx.arrays("loss")
    th = ctx.thresholds
    for s, v in zip(*early_points(steps, vals, th.loss_collapse_steps)):
        if 0 <= v < th.loss_collapse:
            return [
                Finding(
                    "loss_collapse",
                    "danger",
                    f"loss fell to {fmt(v)} by step {s} (under {th.loss_collapse} within "
                    f"{th.loss_collapse_steps} steps): lr too high, or the data is templated",
                    {"steps": [s], "values": [v], "first_loss": float(vals[0])},
                    s,
                    s,
                    actions.lr_half(),
                )
            ]
    return []


def early_points(steps: np.ndarray, vals: np.ndarray, last_step: int) -> tuple[list[int], list[float]]:
    """The points logged before the first step over last_step, as lists."""
    over = np.flatnonzero(steps > last_step)
    n = int(over[0]) if len(over) else len(steps)
    return steps[:n].tolist(), vals[:n].tolist()


@rule(
    "loss_flat",
    "loss",
    sop=SOP + "signal-loss",
    sop_line="loss barely moves: lr too low",
    severity="warn",
    action="lr x2",
)
def loss_flat(ctx: Context) -> list[Finding]:
    """Loss not moving over the window: lr too low (or nothing is being learned)."""
    if not ctx.language_model_loss or ctx.flat_by_schedule:
        return []
    th = ctx.thresholds
    n = ctx.count("loss")
    steps, vals = ctx.tail("loss", 2 * th.flat_window)
    w = min(th.flat_window, n)
    if w < FLAT_MIN_POINTS or n < FLAT_MIN_POINTS:
        return []
    win = vals[-w:]
    third = max(2, w // 3)
    a, b = window_ends(win, third)
    if a <= 0.1:
        return []  # near zero is the collapse rule's business
    rel = (a - b) / abs(a)
    if n >= 2 * w:
        long_a = median(vals[-2 * w :][: 2 * w // 4])
        if long_a > 0 and (long_a - b) / long_a >= th.loss_flat_rel:
            return []  # declining over the longer window: slow, not flat (loss_slow's business)
    if abs(rel) < th.loss_flat_rel:
        return over_window(
            "loss_flat",
            "warn",
            f"loss flat at ~{fmt(b)} over the last {w} logged steps ({rel:+.1%}): lr too low?",
            steps,
            w,
            actions.lr_double(),
            values=[a, b],
        )
    return []


@rule(
    "loss_slow",
    "loss",
    sop=SOP + "stage-5-alpha",
    sop_line="the loss falls slowly: raise alpha",
    severity="warn",
    action="lora_alpha x2",
)
def loss_slow(ctx: Context) -> list[Finding]:
    """Loss falling, but slowly: raise alpha (SOP stage 5)."""
    if not ctx.language_model_loss or ctx.lr_annealed:
        return []
    th = ctx.thresholds
    if ctx.count("loss") < 2 * th.flat_window:
        return []
    w = th.flat_window * 2
    steps, vals = ctx.tail("loss", w)
    win = vals[-w:]
    q = max(2, w // 4)
    a, b = window_ends(win, q)
    if a <= 0.1:
        return []
    rel = (a - b) / a
    if th.loss_flat_rel <= rel < 2.5 * th.loss_flat_rel and b > 0.5:
        return over_window(
            "loss_slow",
            "warn",
            f"loss falling slowly ({fmt(a)} -> {fmt(b)}, {rel:.1%} over {w} logged steps): consider raising lora_alpha",
            steps,
            w,
            actions.alpha_up(ctx.config),
            values=[a, b],
        )
    return []
