"""Rules on the loss: NaN, a sudden jump, a collapse to ~0, a plateau, a slow decline."""

from __future__ import annotations

import numpy as np

from cockpit.advisor import actions
from cockpit.advisor.context import Context, median, window_ends
from cockpit.advisor.jump_window import jump_window
from cockpit.advisor.registry import Hit, Rule, fmt, hit_at, nonfinite_rule, over_window, registrar

RULES: list[Rule] = []
rule = registrar(RULES)

FLAT_MIN_POINTS = 8
"""Fewest logged losses the flat rule reads: with fewer, noise and a real plateau look alike."""


RULES.append(nonfinite_rule("loss"))


@rule
def loss_jump(ctx: Context) -> Hit | None:
    """A sudden jump: loss over jump_ratio x the median of the points before it (their highest when the
    run mixes general rows in: see GuardWindow.loss_jump)."""
    steps, vals = ctx.arrays("loss")
    th = ctx.thresholds
    mixed = float((ctx.config.get("data") or {}).get("general_mix") or 0) > 0
    jumps = [(int(steps[i]), float(vals[i]), ref) for i, ref in _loss_jumps(vals, th.loss_jump_ratio, mixed)]
    if not jumps:
        return None
    s, v, ref = jumps[-1]
    message = f"loss jumped to {fmt(v)} at step {s} (recent {'highest' if mixed else 'median'} {fmt(ref)})"
    return hit_at(message, actions.lr_half(), [j[0] for j in jumps], [j[1] for j in jumps])


def _loss_jumps(vals: np.ndarray, ratio: float, mixed: bool = False) -> list[tuple[int, float]]:
    """(index, reference) where vals[i] > ratio x the median (`mixed`: the highest) of the points before
    it in the guard's window (`jump_window`) and exceeds it by 0.5. Vectorised: the rule scans the whole
    run, and runs have 100,000 points."""
    n, start = jump_window(mixed)
    reference = (lambda w: float(np.max(w))) if mixed else median
    out = []
    for i in range(start, min(n, len(vals))):
        ref = reference(vals[:i])
        if ref > 0 and float(vals[i]) > ratio * ref and float(vals[i]) - ref > 0.5:
            out.append((i, ref))
    if len(vals) > n:
        v = np.asarray(vals, dtype=np.float64)
        windows = np.lib.stride_tricks.sliding_window_view(v[:-1], n)  # windows[j] is for i = j+n
        cur = v[n:]
        if mixed or ratio <= 0:
            at = np.arange(len(cur))
            refs = windows.max(axis=1) if mixed else np.median(windows, axis=1)
        else:
            # A median of every window copies them all (0.4 s a million points); a point over ratio x
            # its window's median and 0.5 above it is over ratio x the window's least and 0.5 above that
            # too, and the least needs no copy: medians only where that holds (NaN fails both).
            least = windows.min(axis=1)
            at = np.flatnonzero((cur > ratio * least) & (cur - least > 0.5))
            refs = np.median(windows[at], axis=1) if len(at) else np.empty(0)
        c = cur[at]
        ok = np.flatnonzero((refs > 0) & (c > ratio * refs) & (c - refs > 0.5))
        out.extend((int(at[j]) + n, float(refs[j])) for j in ok)
    return out


@rule
def loss_collapse(ctx: Context) -> Hit | None:
    """Loss to ~0 within the first loss_collapse_steps steps: lr too high, or templated data."""
    if not ctx.language_model_loss:
        return None
    steps, vals = ctx.arrays("loss")
    th = ctx.thresholds
    for s, v in zip(*early_points(steps, vals, th.loss_collapse_steps)):
        if 0 <= v < th.loss_collapse:
            message = (
                f"loss fell to {fmt(v)} by step {s} (under {th.loss_collapse} within "
                f"{th.loss_collapse_steps} steps): lr too high, or the data is templated"
            )
            return hit_at(message, actions.lr_half(), [s], [v], first_loss=float(vals[0]))
    return None


def early_points(steps: np.ndarray, vals: np.ndarray, last_step: int) -> tuple[list[int], list[float]]:
    """The points logged before the first step over last_step, as lists."""
    over = np.flatnonzero(steps > last_step)
    n = int(over[0]) if len(over) else len(steps)
    return steps[:n].tolist(), vals[:n].tolist()


@rule
def loss_flat(ctx: Context) -> Hit | None:
    """Loss not moving over the window: lr too low (or nothing is being learned)."""
    if not ctx.language_model_loss or ctx.flat_by_schedule:
        return None
    th = ctx.thresholds
    n = ctx.count("loss")
    steps, vals = ctx.tail("loss", 2 * th.flat_window)
    w = min(th.flat_window, n)
    if w < FLAT_MIN_POINTS or n < FLAT_MIN_POINTS:
        return None
    win = vals[-w:]
    third = max(2, w // 3)
    a, b = window_ends(win, third)
    if a <= 0.1:
        return None  # near zero is the collapse rule's business
    rel = (a - b) / abs(a)
    if window_ends_uncertainty(win, third) > th.loss_flat_rel * abs(a):
        return None  # this noise hides a fall of loss_flat_rel over so few points: too early to call it flat
    if n >= 2 * w:
        long_a = median(vals[-2 * w :][: 2 * w // 4])
        if long_a > 0 and (long_a - b) / long_a >= th.loss_flat_rel:
            return None  # declining over the longer window: slow, not flat (loss_slow's business)
    if not abs(rel) < th.loss_flat_rel:
        return None
    message = f"loss flat at ~{fmt(b)} over the last {w} logged steps ({rel:+.1%}): lr too low?"
    return over_window(message, actions.lr_double(), steps, w, values=[a, b])


def window_ends_uncertainty(vals, k: int) -> float:
    """The standard error of `window_ends`' difference: step-to-step noise (from first differences, robust
    to a trend and to one odd point) over two medians of k points each. The demo's loss at step 19 moves
    by ~6% a step; two medians of 6 points then differ by ~4% by chance alone, twice the 2% that "flat"
    means, so its 19 points cannot say flat (they said "lr too low? next: lr x2")."""
    d = np.diff(np.asarray(vals, dtype=np.float64))
    if len(d) < 2:
        return 0.0
    noise = 1.4826 * float(np.median(np.abs(d - np.median(d)))) / np.sqrt(2)
    return 1.2533 * noise * float(np.sqrt(2 / k))


@rule
def loss_slow(ctx: Context) -> Hit | None:
    """Loss falling, but slowly: raise alpha (SOP stage 5)."""
    if not ctx.language_model_loss or ctx.lr_annealed:
        return None
    th = ctx.thresholds
    if ctx.count("loss") < 2 * th.flat_window:
        return None
    w = th.flat_window * 2
    steps, vals = ctx.tail("loss", w)
    win = vals[-w:]
    q = max(2, w // 4)
    a, b = window_ends(win, q)
    if a <= 0.1:
        return None
    rel = (a - b) / a
    if not (th.loss_flat_rel <= rel < 2.5 * th.loss_flat_rel and b > 0.5):
        return None
    message = (
        f"loss falling slowly ({fmt(a)} -> {fmt(b)}, {rel:.1%} over {w} logged steps): consider raising lora_alpha"
    )
    return over_window(message, actions.alpha_up(ctx.config), steps, w, values=[a, b])
