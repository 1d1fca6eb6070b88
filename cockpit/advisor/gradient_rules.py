"""Rules on grad_norm: NaN, explosion and its precursor, the normal band, saw-teeth, vanishing, and a
rise that a large alpha explains."""

from __future__ import annotations

import numpy as np

from cockpit.advisor import actions
from cockpit.advisor.context import Context, median, window_ends
from cockpit.advisor.registry import Hit, Rule, fmt, hit_at, nonfinite_rule, over_window, registrar

RULES: list[Rule] = []
rule = registrar(RULES)


RULES.append(nonfinite_rule("grad_norm"))


@rule
def grad_norm_explosion(ctx: Context) -> Hit | None:
    """grad_norm over the explosion bound (SOP: 50): stop, lr x0.5, resume from the last good checkpoint."""
    steps, vals = ctx.arrays("grad_norm")
    th = ctx.thresholds
    over = vals > th.grad_norm_explosion
    at, big = steps[over].tolist(), vals[over].tolist()
    if not at:
        return None
    peak = big.index(max(big))
    message = (
        f"grad_norm {fmt(big[peak])} at step {at[peak]} (over {th.grad_norm_explosion:g}, "
        f"{len(at)} logged step(s)): explosion"
    )
    return hit_at(message, actions.lr_half(), at, big)


@rule
def grad_norm_precursor(ctx: Context) -> Hit | None:
    """grad_norm over the danger bound (SOP: 10) for several consecutive logged steps: explosion precursor."""
    steps, g = ctx.arrays("grad_norm")
    th = ctx.thresholds
    runs = [
        list(zip(steps[a:b].tolist(), g[a:b].tolist()))
        for a, b in _true_runs((g > th.grad_norm_danger) & (g <= th.grad_norm_explosion))
        if b - a >= th.grad_norm_danger_steps
    ]
    if not runs:
        return None
    last = runs[-1]
    message = (
        f"grad_norm over {th.grad_norm_danger:g} for {len(last)} logged steps in a row "
        f"(steps {last[0][0]}-{last[-1][0]}, max {fmt(max(v for _, v in last))}): explosion precursor"
    )
    evidence = {"steps": [s for s, _ in last][:20], "values": [v for _, v in last][:20], "runs": len(runs)}
    return Hit(message, evidence, runs[0][0][0], last[-1][0], actions.lr_half())  # spans every run, shows the last


def _true_runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) of each maximal run of True in mask."""
    edges = np.diff(np.concatenate(([0], mask.astype(np.int8), [0])))
    return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist()))


@rule
def grad_norm_high(ctx: Context) -> Hit | None:
    """Recent grad_norm above the normal band (SOP: 0.1-5)."""
    r = ctx.recent("grad_norm", 10)
    th = ctx.thresholds
    if r is None or not th.grad_norm_high < r.median <= th.grad_norm_danger:
        return None
    w = len(r.steps)
    message = (
        f"grad_norm median {fmt(r.median)} over the last {w} logged steps "
        f"(normal {th.grad_norm_low:g}-{th.grad_norm_high:g}): lr on the high side"
    )
    return over_window(message, actions.lr_half(), r.steps, w, median=r.median)


@rule
def grad_norm_sawtooth(ctx: Context) -> Hit | None:
    """grad_norm alternating up and down by a large factor: lr high."""
    steps, vals = ctx.tail("grad_norm", 30)
    w = min(30, len(vals))
    if w < 10:
        return None
    win = vals[-w:]
    d = [b - a for a, b in zip(win, win[1:])]
    flips = sum(1 for a, b in zip(d, d[1:]) if a * b < 0)
    m = median(win)
    amp = median([abs(x) for x in d]) / m if m > 0 else 0
    if not (flips >= 0.7 * (len(d) - 1) and amp > 0.6):
        return None
    message = (
        f"grad_norm saw-tooths over the last {w} logged steps ({flips} direction changes, "
        f"swings ~{amp:.0%} of its median): lr high"
    )
    return over_window(message, actions.lr_half(), steps, w, flips=flips, amplitude=amp)


@rule
def grad_norm_vanishing(ctx: Context) -> Hit | None:
    """grad_norm near 0 for long: not learning, or memorised."""
    th = ctx.thresholds
    w = th.flat_window
    steps, vals = ctx.tail("grad_norm", w)
    if len(vals) < w and ctx.history.finished and len(vals) >= 3 and max(vals) < th.grad_norm_low:
        # A finished run shorter than the window: under the band at every log of it is "for long".
        message = (
            f"grad_norm under {th.grad_norm_low:g} at all {len(vals)} logged steps of the finished "
            "run: not learning, or the data is memorised"
        )
        return over_window(message, None, steps, len(steps), max=max(vals))
    if len(vals) < w or not max(vals[-w:]) < th.grad_norm_low:
        return None
    message = (
        f"grad_norm under {th.grad_norm_low:g} for the last {w} logged steps: not learning, or the data is memorised"
    )
    return over_window(message, None, steps, w, max=max(vals[-w:]))


@rule
def grad_norm_rising_alpha(ctx: Context) -> Hit | None:
    """grad_norm trending up with a large alpha/r: lower alpha (after lr x0.5 and clipping)."""
    steps, vals = ctx.arrays("grad_norm")
    if len(vals) < 20 or not ctx.is_ours:
        return None
    r = ctx.lora.get("r", 8)
    alpha = ctx.lora.get("lora_alpha") or 2 * r
    third = len(vals) // 3
    a, b = window_ends(vals, third)
    if not (a > 0 and b > 1.5 * a and b > ctx.thresholds.grad_norm_high and alpha > 2 * r):
        return None
    message = f"grad_norm rising ({fmt(a)} -> {fmt(b)}) with lora_alpha {alpha:g} > 2r: lower alpha"
    evidence = {"steps": [int(steps[0]), int(steps[-1])], "values": [a, b], "alpha": alpha, "r": r}
    return Hit(message, evidence, int(steps[third]), int(steps[-1]), actions.alpha_down(ctx.config))
