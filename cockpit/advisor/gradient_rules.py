"""Rules on grad_norm: NaN, explosion and its precursor, the normal band, saw-teeth, vanishing, and a
rise that a large alpha explains."""

from __future__ import annotations

import numpy as np

from cockpit.advisor import actions
from cockpit.advisor.context import Context, median, window_ends
from cockpit.advisor.registry import SOP, Rule, fmt, nonfinite_rule, over_window, registrar
from cockpit.advisor.types import Finding

RULES: list[Rule] = []
rule = registrar(RULES)


RULES.append(nonfinite_rule("grad_norm", "grad_norm NaN: stop the run at once (an explosion usually ends in NaN)"))


@rule(
    "grad_norm_explosion",
    "grad_norm",
    sop=SOP + "gradient-trouble-the-order-of-remedies",
    sop_line="grad_norm over 50 is an explosion: lr x0.5, then clipping, then alpha; never r first",
    severity="critical",
    action="lr x0.5",
)
def grad_norm_explosion(ctx: Context) -> list[Finding]:
    """grad_norm over the explosion bound (SOP: 50): stop, lr x0.5, resume from the last good checkpoint."""
    steps, vals = ctx.arrays("grad_norm")
    th = ctx.thresholds
    over = np.flatnonzero(vals > th.grad_norm_explosion)
    hits = list(zip(steps[over].tolist(), vals[over].tolist()))
    if not hits:
        return []
    peak = max(hits, key=lambda h: h[1])
    return [
        Finding(
            "grad_norm_explosion",
            "critical",
            f"grad_norm {fmt(peak[1])} at step {peak[0]} (over {th.grad_norm_explosion:g}, "
            f"{len(hits)} logged step(s)): explosion",
            {"steps": [h[0] for h in hits][:20], "values": [h[1] for h in hits][:20]},
            hits[0][0],
            hits[-1][0],
            actions.lr_half(),
        )
    ]


@rule(
    "grad_norm_precursor",
    "grad_norm",
    sop=SOP + "the-stop-list",
    sop_line="grad_norm over 10 for several logged steps in a row: stop the run",
    severity="danger",
    action="lr x0.5",
)
def grad_norm_precursor(ctx: Context) -> list[Finding]:
    """grad_norm over the danger bound (SOP: 10) for several consecutive logged steps: explosion precursor."""
    steps, g = ctx.arrays("grad_norm")
    th = ctx.thresholds
    runs = [
        list(zip(steps[a:b].tolist(), g[a:b].tolist()))
        for a, b in _true_runs((g > th.grad_norm_danger) & (g <= th.grad_norm_explosion))
        if b - a >= th.grad_norm_danger_steps
    ]
    if not runs:
        return []
    last = runs[-1]
    return [
        Finding(
            "grad_norm_precursor",
            "danger",
            f"grad_norm over {th.grad_norm_danger:g} for {len(last)} logged steps in a row "
            f"(steps {last[0][0]}-{last[-1][0]}, max {fmt(max(v for _, v in last))}): explosion precursor",
            {"steps": [s for s, _ in last][:20], "values": [v for _, v in last][:20], "runs": len(runs)},
            runs[0][0][0],
            last[-1][0],
            actions.lr_half(),
        )
    ]


def _true_runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) of each maximal run of True in mask."""
    edges = np.diff(np.concatenate(([0], mask.astype(np.int8), [0])))
    return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist()))


@rule(
    "grad_norm_high",
    "grad_norm",
    sop=SOP + "signal-gradient-norm",
    sop_line="grad_norm normal band for LoRA: 0.1-5",
    severity="warn",
    action="lr x0.5",
)
def grad_norm_high(ctx: Context) -> list[Finding]:
    """Recent grad_norm above the normal band (SOP: 0.1-5)."""
    steps, vals = ctx.tail("grad_norm", 10)
    th = ctx.thresholds
    w = min(10, len(vals))
    if w < 3:
        return []
    m = median(vals[-w:])
    if th.grad_norm_high < m <= th.grad_norm_danger:
        return over_window(
            "grad_norm_high",
            "warn",
            f"grad_norm median {fmt(m)} over the last {w} logged steps "
            f"(normal {th.grad_norm_low:g}-{th.grad_norm_high:g}): lr on the high side",
            steps,
            w,
            actions.lr_half(),
            median=m,
        )
    return []


@rule(
    "grad_norm_sawtooth",
    "grad_norm",
    sop=SOP + "signal-gradient-norm",
    sop_line="large saw-tooth swings of grad_norm: lr on the high side",
    severity="warn",
    action="lr x0.5",
)
def grad_norm_sawtooth(ctx: Context) -> list[Finding]:
    """grad_norm alternating up and down by a large factor: lr high."""
    steps, vals = ctx.tail("grad_norm", 30)
    w = min(30, len(vals))
    if w < 10:
        return []
    win = vals[-w:]
    d = [b - a for a, b in zip(win, win[1:])]
    flips = sum(1 for a, b in zip(d, d[1:]) if a * b < 0)
    m = median(win)
    amp = median([abs(x) for x in d]) / m if m > 0 else 0
    if flips >= 0.7 * (len(d) - 1) and amp > 0.6:
        return over_window(
            "grad_norm_sawtooth",
            "warn",
            f"grad_norm saw-tooths over the last {w} logged steps ({flips} direction changes, "
            f"swings ~{amp:.0%} of its median): lr high",
            steps,
            w,
            actions.lr_half(),
            flips=flips,
            amplitude=amp,
        )
    return []


@rule(
    "grad_norm_vanishing",
    "grad_norm",
    sop=SOP + "signal-gradient-norm",
    sop_line="grad_norm near 0 for long: not learning, or the data is memorised",
    severity="warn",
    action="(none: read with the loss)",
)
def grad_norm_vanishing(ctx: Context) -> list[Finding]:
    """grad_norm near 0 for long: not learning, or memorised."""
    th = ctx.thresholds
    w = th.flat_window
    steps, vals = ctx.tail("grad_norm", w)
    if len(vals) < w and ctx.history.finished and len(vals) >= 3 and max(vals) < th.grad_norm_low:
        # A finished run shorter than the window: under the band at every log of it is "for long".
        return over_window(
            "grad_norm_vanishing",
            "warn",
            f"grad_norm under {th.grad_norm_low:g} at all {len(vals)} logged steps of the finished "
            "run: not learning, or the data is memorised",
            steps,
            len(steps),
            None,
            max=max(vals),
        )
    if len(vals) < w:
        return []
    if max(vals[-w:]) < th.grad_norm_low:
        return over_window(
            "grad_norm_vanishing",
            "warn",
            f"grad_norm under {th.grad_norm_low:g} for the last {w} logged steps: not learning, "
            "or the data is memorised",
            steps,
            w,
            None,
            max=max(vals[-w:]),
        )
    return []


@rule(
    "grad_norm_rising_alpha",
    "alpha",
    sop=SOP + "stage-5-alpha",
    sop_line="grad_norm grows: lower alpha (a large alpha amplifies gradients)",
    severity="warn",
    action="lower lora_alpha",
)
def grad_norm_rising_alpha(ctx: Context) -> list[Finding]:
    """grad_norm trending up with a large alpha/r: lower alpha (after lr x0.5 and clipping)."""
    steps, vals = ctx.arrays("grad_norm")
    if len(vals) < 20 or not ctx.is_ours:
        return []
    r = ctx.lora.get("r", 8)
    alpha = ctx.lora.get("lora_alpha") or 2 * r
    third = len(vals) // 3
    a, b = window_ends(vals, third)
    if a > 0 and b > 1.5 * a and b > ctx.thresholds.grad_norm_high and alpha > 2 * r:
        return [
            Finding(
                "grad_norm_rising_alpha",
                "warn",
                f"grad_norm rising ({fmt(a)} -> {fmt(b)}) with lora_alpha {alpha:g} > 2r: lower alpha",
                {"steps": [int(steps[0]), int(steps[-1])], "values": [a, b], "alpha": alpha, "r": r},
                int(steps[third]),
                int(steps[-1]),
                actions.alpha_down(ctx.config),
            )
        ]
    return []
