"""The SOP's signals as rules: each a small pure function of the run's series, config and thresholds.

A rule returns zero or more findings with evidence (steps and values). Rules reason in *logged points*
(an HF log may log every 500 steps) and use steps only where the SOP speaks in steps (collapse within
200 steps). Registered in `RULES`, in the SOP's order of signals.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from cockpit.advisor import actions
from cockpit.advisor.context import Context, median
from cockpit.advisor.types import Finding


@dataclass(frozen=True)
class Rule:
    id: str
    signal: str
    doc: str
    check: Callable[[Context], list[Finding]]
    sop: str = ""
    """The line of the SOP (or of its companion notes) the rule encodes, in English."""
    severity: str = ""
    """The severities it can give, as the README table shows them."""
    action: str = ""
    """What it advises, as the README table shows it."""


RULES: list[Rule] = []

FLAT_MIN_POINTS = 8
"""Fewest logged losses the flat rule reads: with fewer, noise and a real plateau look alike."""


def rule(id: str, signal: str, *, sop: str = "", severity: str = "", action: str = ""):
    def deco(fn: Callable[[Context], list[Finding]]) -> Callable[[Context], list[Finding]]:
        RULES.append(Rule(id, signal, (fn.__doc__ or "").strip(), fn, sop, severity, action))
        return fn

    return deco


def _fmt(x: float) -> str:
    return f"{x:.3g}"


def _nonfinite(ctx: Context, key: str) -> list[int]:
    return ctx.history.nonfinite.get(key, [])


# ---- loss ------------------------------------------------------------------------------------------

@rule("loss_nonfinite", "loss",
      sop="Step 6: loss NaN or violent swings: stop the run",
      severity="critical", action="stop (live); next run lr x0.5")
def loss_nonfinite(ctx: Context) -> list[Finding]:
    """NaN or inf loss: stop (SOP)."""
    bad = _nonfinite(ctx, "loss")
    if not bad:
        return []
    return [Finding("loss_nonfinite", "critical", f"loss is NaN/inf at {len(bad)} logged step(s)",
                    {"steps": bad[:20]}, bad[0], bad[-1], actions.stop())]


@rule("loss_jump", "loss",
      sop="Step 6 explosion checklist: loss suddenly jumps up, or NaN",
      severity="danger", action="lr x0.5")
def loss_jump(ctx: Context) -> list[Finding]:
    """A sudden jump: loss over jump_ratio x the median of the points before it."""
    steps, vals = ctx.arrays("loss")
    th = ctx.thresholds
    hits = [(int(steps[i]), float(vals[i]), ref) for i, ref in _loss_jumps(vals, th.loss_jump_ratio)]
    if not hits:
        return []
    s, v, ref = hits[-1]
    return [Finding("loss_jump", "danger", f"loss jumped to {_fmt(v)} at step {s} (recent median {_fmt(ref)})",
                    {"steps": [h[0] for h in hits][:20], "values": [h[1] for h in hits][:20]},
                    hits[0][0], s, actions.lr_half())]


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


@rule("loss_collapse", "loss",
      sop="Step 3 train/loss: to 0 within 200 steps means lr too high (Step 0: small templated data converges at once)",
      severity="danger", action="lr x0.5")
def loss_collapse(ctx: Context) -> list[Finding]:
    """Loss to ~0 within the first loss_collapse_steps steps: lr too high, or templated data."""
    if not ctx.language_model_loss:
        return []
    steps, vals = ctx.arrays("loss")
    th = ctx.thresholds
    for s, v in zip(*_early(steps, vals, th.loss_collapse_steps)):
        if 0 <= v < th.loss_collapse:
            return [Finding("loss_collapse", "danger",
                            f"loss fell to {_fmt(v)} by step {s} (under {th.loss_collapse} within "
                            f"{th.loss_collapse_steps} steps): lr too high, or the data is templated",
                            {"steps": [s], "values": [v], "first_loss": float(vals[0])}, s, s, actions.lr_half())]
    return []


def _early(steps: np.ndarray, vals: np.ndarray, last_step: int) -> tuple[list[int], list[float]]:
    """The points logged before the first step over last_step, as lists."""
    over = np.flatnonzero(steps > last_step)
    n = int(over[0]) if len(over) else len(steps)
    return steps[:n].tolist(), vals[:n].tolist()


@rule("loss_flat", "loss",
      sop="Step 3 train/loss: barely moves means lr too low",
      severity="warn", action="lr x2")
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
    a, b = median(win[:third]), median(win[-third:])
    if a <= 0.1:
        return []  # near zero is the collapse rule's business
    rel = (a - b) / abs(a)
    if n >= 2 * w:
        long_a = median(vals[-2 * w:][: 2 * w // 4])
        if long_a > 0 and (long_a - b) / long_a >= th.loss_flat_rel:
            return []  # declining over the longer window: slow, not flat (loss_slow's business)
    if abs(rel) < th.loss_flat_rel:
        return [Finding("loss_flat", "warn",
                        f"loss flat at ~{_fmt(b)} over the last {w} logged steps ({rel:+.1%}): lr too low?",
                        {"steps": [steps[-w], steps[-1]], "values": [a, b]}, steps[-w], steps[-1],
                        actions.lr_double())]
    return []


@rule("loss_slow", "loss",
      sop="Step 5 alpha: loss falls slowly, raise alpha",
      severity="warn", action="lora_alpha x2")
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
    a, b = median(win[:q]), median(win[-q:])
    if a <= 0.1:
        return []
    rel = (a - b) / a
    if th.loss_flat_rel <= rel < 2.5 * th.loss_flat_rel and b > 0.5:
        return [Finding("loss_slow", "warn", f"loss falling slowly ({_fmt(a)} -> {_fmt(b)}, {rel:.1%} over "
                        f"{w} logged steps): consider raising lora_alpha",
                        {"steps": [steps[-w], steps[-1]], "values": [a, b]}, steps[-w], steps[-1],
                        actions.alpha_up(ctx.config))]
    return []


# ---- grad_norm -------------------------------------------------------------------------------------

@rule("grad_norm_nonfinite", "grad_norm",
      sop="Step 6 checklist: NaN means stop the run at once (Step 3: an explosion usually ends in NaN)",
      severity="critical", action="stop (live); next run lr x0.5")
def grad_norm_nonfinite(ctx: Context) -> list[Finding]:
    """NaN or inf grad_norm: the update would poison the adapter."""
    bad = _nonfinite(ctx, "grad_norm")
    if not bad:
        return []
    return [Finding("grad_norm_nonfinite", "critical", f"grad_norm is NaN/inf at {len(bad)} logged step(s)",
                    {"steps": bad[:20]}, bad[0], bad[-1], actions.stop())]


@rule("grad_norm_explosion", "grad_norm",
      sop="Step 3 LoRA bands: over 50 is an explosion; remedy lr x0.5, then clipping, then alpha, never r first",
      severity="critical", action="lr x0.5")
def grad_norm_explosion(ctx: Context) -> list[Finding]:
    """grad_norm over the explosion bound (SOP: 50): stop, lr x0.5, resume from the last good checkpoint."""
    steps, vals = ctx.arrays("grad_norm")
    th = ctx.thresholds
    over = np.flatnonzero(vals > th.grad_norm_explosion)
    hits = list(zip(steps[over].tolist(), vals[over].tolist()))
    if not hits:
        return []
    peak = max(hits, key=lambda h: h[1])
    return [Finding("grad_norm_explosion", "critical",
                    f"grad_norm {_fmt(peak[1])} at step {peak[0]} (over {th.grad_norm_explosion:g}, "
                    f"{len(hits)} logged step(s)): explosion",
                    {"steps": [h[0] for h in hits][:20], "values": [h[1] for h in hits][:20]},
                    hits[0][0], hits[-1][0], actions.lr_half())]


@rule("grad_norm_precursor", "grad_norm",
      sop="Step 6 checklist: grad_norm over 10 for several steps in a row",
      severity="danger", action="lr x0.5")
def grad_norm_precursor(ctx: Context) -> list[Finding]:
    """grad_norm over the danger bound (SOP: 10) for several consecutive logged steps: explosion precursor."""
    steps, g = ctx.arrays("grad_norm")
    th = ctx.thresholds
    runs = [list(zip(steps[a:b].tolist(), g[a:b].tolist()))
            for a, b in _true_runs((g > th.grad_norm_danger) & (g <= th.grad_norm_explosion))
            if b - a >= th.grad_norm_danger_steps]
    if not runs:
        return []
    last = runs[-1]
    return [Finding("grad_norm_precursor", "danger",
                    f"grad_norm over {th.grad_norm_danger:g} for {len(last)} logged steps in a row "
                    f"(steps {last[0][0]}-{last[-1][0]}, max {_fmt(max(v for _, v in last))}): explosion precursor",
                    {"steps": [s for s, _ in last][:20], "values": [v for _, v in last][:20], "runs": len(runs)},
                    runs[0][0][0], last[-1][0], actions.lr_half())]


def _true_runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) of each maximal run of True in mask."""
    edges = np.diff(np.concatenate(([0], mask.astype(np.int8), [0])))
    return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist()))


@rule("grad_norm_high", "grad_norm",
      sop="Step 3 LoRA bands: normal 0.1-5",
      severity="warn", action="lr x0.5")
def grad_norm_high(ctx: Context) -> list[Finding]:
    """Recent grad_norm above the normal band (SOP: 0.1-5)."""
    steps, vals = ctx.tail("grad_norm", 10)
    th = ctx.thresholds
    w = min(10, len(vals))
    if w < 3:
        return []
    m = median(vals[-w:])
    if th.grad_norm_high < m <= th.grad_norm_danger:
        return [Finding("grad_norm_high", "warn", f"grad_norm median {_fmt(m)} over the last {w} logged steps "
                        f"(normal {th.grad_norm_low:g}-{th.grad_norm_high:g}): lr on the high side",
                        {"steps": [steps[-w], steps[-1]], "median": m}, steps[-w], steps[-1], actions.lr_half())]
    return []


@rule("grad_norm_sawtooth", "grad_norm",
      sop="Step 3 grad_norm: large saw-tooth swings mean lr on the high side",
      severity="warn", action="lr x0.5")
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
        return [Finding("grad_norm_sawtooth", "warn",
                        f"grad_norm saw-tooths over the last {w} logged steps ({flips} direction changes, "
                        f"swings ~{amp:.0%} of its median): lr high",
                        {"steps": [steps[-w], steps[-1]], "flips": flips, "amplitude": amp},
                        steps[-w], steps[-1], actions.lr_half())]
    return []


@rule("grad_norm_vanishing", "grad_norm",
      sop="Step 3 grad_norm: about 0 for long means not learning, or overfit",
      severity="warn", action="(none: read with the loss)")
def grad_norm_vanishing(ctx: Context) -> list[Finding]:
    """grad_norm near 0 for long: not learning, or memorised."""
    th = ctx.thresholds
    w = th.flat_window
    steps, vals = ctx.tail("grad_norm", w)
    if len(vals) < w and ctx.history.finished and len(vals) >= 3 and max(vals) < th.grad_norm_low:
        # A finished run shorter than the window: under the band at every log of it is "for long".
        return [Finding("grad_norm_vanishing", "warn",
                        f"grad_norm under {th.grad_norm_low:g} at all {len(vals)} logged steps of the finished "
                        "run: not learning, or the data is memorised",
                        {"steps": [steps[0], steps[-1]], "max": max(vals)}, steps[0], steps[-1], None)]
    if len(vals) < w:
        return []
    if max(vals[-w:]) < th.grad_norm_low:
        return [Finding("grad_norm_vanishing", "warn",
                        f"grad_norm under {th.grad_norm_low:g} for the last {w} logged steps: not learning, "
                        "or the data is memorised", {"steps": [steps[-w], steps[-1]], "max": max(vals[-w:])},
                        steps[-w], steps[-1], None)]
    return []


@rule("grad_norm_rising_alpha", "alpha",
      sop="Step 5 alpha: grad_norm growing, lower alpha (a large alpha amplifies gradients)",
      severity="warn", action="lower lora_alpha")
def grad_norm_rising_alpha(ctx: Context) -> list[Finding]:
    """grad_norm trending up with a large alpha/r: lower alpha (after lr x0.5 and clipping)."""
    steps, vals = ctx.arrays("grad_norm")
    if len(vals) < 20 or not ctx.is_ours:
        return []
    r = ctx.lora.get("r", 8)
    alpha = ctx.lora.get("lora_alpha") or 2 * r
    third = len(vals) // 3
    a, b = median(vals[:third]), median(vals[-third:])
    if a > 0 and b > 1.5 * a and b > ctx.thresholds.grad_norm_high and alpha > 2 * r:
        return [Finding("grad_norm_rising_alpha", "warn",
                        f"grad_norm rising ({_fmt(a)} -> {_fmt(b)}) with lora_alpha {alpha:g} > 2r: lower alpha",
                        {"steps": [int(steps[0]), int(steps[-1])], "values": [a, b], "alpha": alpha, "r": r},
                        int(steps[third]), int(steps[-1]), actions.alpha_down(ctx.config))]
    return []


# ---- entropy ---------------------------------------------------------------------------------------

@rule("entropy_collapse", "entropy",
      sop="Step 4 entropy: falls fast to very low means overfitting",
      severity="danger", action="lora_dropout up")
def entropy_collapse(ctx: Context) -> list[Finding]:
    """Entropy falling fast to a small share of its start: overfitting, raise dropout."""
    steps, vals = ctx.arrays("entropy")
    th = ctx.thresholds
    if len(vals) < 5:
        return []
    start = median(vals[:3].tolist())
    for s, v in zip(*_early(steps, vals, th.loss_collapse_steps)):
        if start > 0 and v < th.entropy_collapse_ratio * start:
            return [Finding("entropy_collapse", "danger",
                            f"entropy fell from {_fmt(start)} to {_fmt(v)} by step {s}: overfitting, raise dropout",
                            {"steps": [int(steps[0]), s], "values": [start, v]}, s, int(steps[-1]),
                            actions.dropout_up(ctx.config))]
    return []


@rule("entropy_flat", "entropy",
      sop="Step 4 entropy: almost unchanged means not learning",
      severity="warn", action="lr x2")
def entropy_flat(ctx: Context) -> list[Finding]:
    """Entropy not moving while loss is not moving either: not learning."""
    th = ctx.thresholds
    w = th.flat_window
    es, ev = ctx.tail("entropy", w)
    ls, lv = ctx.tail("loss", w)
    if len(ev) < w or len(lv) < w or ctx.flat_by_schedule:
        return []
    a, b = median(ev[-w:][: w // 3]), median(ev[-w:][-(w // 3):])
    la, lb = median(lv[-w:][: w // 3]), median(lv[-w:][-(w // 3):])
    if a > 0 and abs(a - b) / a < th.loss_flat_rel and la > 0 and abs(la - lb) / la < th.loss_flat_rel:
        return [Finding("entropy_flat", "warn", f"entropy flat at ~{_fmt(b)} and loss flat at ~{_fmt(lb)}: "
                        "nothing is being learned", {"steps": [es[-w], es[-1]], "values": [a, b]},
                        es[-w], es[-1], actions.lr_double())]
    return []


@rule("fake_learning", "entropy",
      sop="Step 4: low entropy with low loss is fake learning",
      severity="warn", action="lora_dropout up")
def fake_learning(ctx: Context) -> list[Finding]:
    """Low loss with low entropy: the model is certain of templated answers ("fake learning")."""
    _, lv = ctx.tail("loss", 5)
    es, ev = ctx.tail("entropy", 5)
    if len(lv) < 5 or len(ev) < 5:
        return []
    lo, eo = median(lv[-5:]), median(ev[-5:])
    if 0 <= lo < 0.1 and eo < 0.2:
        return [Finding("fake_learning", "warn", f"loss {_fmt(lo)} with entropy {_fmt(eo)}: outputs are likely "
                        "templated; check samples", {"steps": [es[-5], es[-1]], "loss": lo, "entropy": eo},
                        es[-5], es[-1], actions.dropout_up(ctx.config))]
    return []


# ---- memory, eval, config --------------------------------------------------------------------------

@rule("memory_high", "memory",
      sop="r/alpha note, monitoring: keep 10-20% of GPU memory free; troubleshooting note, OOM: smaller batch, "
          "gradient checkpointing",
      severity="warn / danger", action="halve the batch, gradient checkpointing")
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
    return [Finding("memory_high", sev, f"GPU memory {share:.0%} used (keep 10-20% free): smaller batch, "
                    "gradient checkpointing", {"steps": [steps[-1]], "share": share}, steps[-1], steps[-1],
                    actions.memory_down(ctx.config))]


@rule("eval_diverging", "eval",
      sop="r/alpha note, lora_dropout: train loss down but validation up is overfitting: try 0.05-0.1",
      severity="warn / danger", action="lora_dropout up")
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
        return [Finding("eval_diverging", "warn" if not gap else "danger",
                        f"eval_loss {'rising' if rising else 'high'} ({_fmt(ev[-2])} -> {_fmt(ev[-1])}) while train "
                        f"loss is {_fmt(train_now)}: overfitting", {"steps": es[-2:], "values": ev[-2:]},
                        es[-2], es[-1], actions.dropout_up(ctx.config))]
    return []


@rule("clipping_off", "config",
      sop="Step 2: max_grad_norm must be on, the first guard against explosion",
      severity="warn", action="max_grad_norm 1.0")
def clipping_off(ctx: Context) -> list[Finding]:
    """max_grad_norm 0: clipping off, which the SOP forbids."""
    mgn = ctx.training.get("max_grad_norm")
    if ctx.is_ours and mgn is not None and float(mgn) <= 0:
        return [Finding("clipping_off", "warn", "max_grad_norm is 0: gradient clipping is off (the SOP requires it)",
                        {"max_grad_norm": mgn}, None, None, actions.clipping_on())]
    return []


@rule("lr_schedule", "lr",
      sop="Step 6 table: lr stable, else a scheduler error",
      severity="warn", action="(none: check the schedule)")
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
    bad = [(int(st[j]), float(got[j]), float(exp[j])) for j in off[:40]] + \
        ([(int(st[off[-1]]), float(got[off[-1]]), float(exp[off[-1]]))] if len(off) > 40 else [])
    if len(bad) >= 3:
        s, v, e = bad[0]
        return [Finding("lr_schedule", "warn", f"learning rate {v:.3g} at step {s}, the schedule "
                        f"({ctx.training.get('lr_scheduler_type')}) says {e:.3g}",
                        {"steps": [b[0] for b in bad][:20], "values": [b[1] for b in bad][:20],
                         "expected": [b[2] for b in bad][:20]}, bad[0][0], bad[-1][0], None)]
    return []

from cockpit.advisor import step_rules  # noqa: E402,F401 - registers the step-time, update and sample rules
from cockpit.advisor import forgetting  # noqa: E402,F401 - registers the forgetting rule (general_eval_loss)
