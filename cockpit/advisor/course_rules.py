"""Rules on the course of a whole run, read from the loss and the lr alone, so that they hold on logs that
carry nothing else (older Trainer versions and LLaMA-Factory log no grad_norm): a loss that ends far
above where it started, a loss swinging by large factors, an lr no method would use, several epochs
memorising the data, and a run that ended inside its warm-up."""

from __future__ import annotations

import math

import numpy as np

from cockpit.advisor import actions
from cockpit.advisor.context import Context, median
from cockpit.advisor.registry import Hit, Rule, fmt, hit_at, over_window, registrar
from cockpit.advisor.types import Action

RULES: list[Rule] = []
rule = registrar(RULES)

DIVERGED_WARN = 1.5
"""The loss's recent level over this many times its start (and 0.5 above it) has diverged."""
DIVERGED_DANGER = 2.0
"""...over this many times: several times its start, the SOP's divergence, the run is wasted."""
FROZEN_POINTS = 4
"""This many last losses equal to 4 digits: the loss no longer moves at all (weights no longer change)."""
SWING_WARN = 1.5
"""The typical factor between consecutive logged losses over which the loss oscillates..."""
SWING_DANGER = 2.5
"""...and over which it oscillates violently."""
SWING_MIN_POINTS = 8
SWING_WINDOW = 50
LR_HIGH = 1e-3
"""No LoRA recipe goes over this (the SOP sweeps 5e-5..2e-4; full fine-tuning uses ~1e-5)."""
LR_INSANE = 0.1
"""An lr this large is a typo (a 5 for a 5e-5): every step throws the weights away."""
LR_LOW = 1e-7
"""Under this even full fine-tuning moves nothing in a run's length."""
MEMORISED = 0.1
"""A loss (nats per token) under this on the training data is below any held-out level a language
model reaches on real text: it recites its training rows."""
MEMO_EPOCHS = 3
"""Epochs over the same rows before the staircase is read (one or two epochs do not memorise)."""


def _start_and_now(vals: np.ndarray) -> tuple[float, float, int, int]:
    """(start, now, k0, k1): the median of the first k0 and of the last k1 logged losses, each a tenth of
    the run (the start at most 5 points: a loss falls fast at first)."""
    n = len(vals)
    k0 = min(5, max(1, n // 10))
    k1 = max(2, n // 10)
    return median(vals[:k0]), median(vals[-k1:]), k0, k1


@rule
def loss_diverged(ctx: Context) -> Hit | None:
    """The loss ends far above where it started: divergence, even with no grad_norm logged to show it."""
    if not ctx.language_model_loss:
        return None
    steps, vals = ctx.arrays("loss")
    if len(vals) < 3:
        return None
    start, now, _, k1 = _start_and_now(vals)
    if not (start > 0 and now > DIVERGED_WARN * start and now - start > 0.5):
        return None
    severity = "danger" if now >= DIVERGED_DANGER * start else "warn"
    tail = vals[-FROZEN_POINTS:]
    frozen = len(vals) >= FROZEN_POINTS + 2 and float(np.ptp(tail)) <= 1e-4 * max(abs(float(tail[-1])), 1e-12)
    peak = int(np.argmax(vals))
    message = f"loss {fmt(now)} now, {now / start:.1f}x its start ({fmt(start)}; peak {fmt(float(vals[peak]))} at step {int(steps[peak])})"
    if frozen:
        message += f", frozen at {fmt(float(tail[-1]))} for the last {FROZEN_POINTS} logged steps (the weights no longer change)"
    message += ": the run diverged, lr too high"
    return hit_at(
        message,
        actions.lr_half_next(ctx.config) if ctx.history.finished or not ctx.is_ours else actions.lr_half(),
        [int(steps[0]), int(steps[peak]), int(steps[-1])],
        [float(vals[0]), float(vals[peak]), float(vals[-1])],
        severity=severity,
        start=start,
        now=now,
        frozen=frozen,
        recent_points=k1,
    )


@rule
def loss_oscillating(ctx: Context) -> Hit | None:
    """The loss swings up and down by large factors from one logged step to the next: lr on the high side
    (what grad_norm's saw-tooth says, for a log without grad_norm)."""
    if not ctx.language_model_loss:
        return None
    steps, vals = ctx.tail("loss", SWING_WINDOW)
    if len(vals) < SWING_MIN_POINTS or min(vals) <= 0:
        return None
    logs = np.log(np.asarray(vals))
    d = np.diff(logs)
    turns = int(np.sum(np.sign(d[1:]) != np.sign(d[:-1])))
    swing = math.exp(float(np.median(np.abs(d))))
    if swing < SWING_WARN or turns < len(d) // 2 or max(vals) < 0.5:
        return None  # a small loss swinging between 0.01 and 0.03 is batches the model has memorised
    severity = "danger" if swing >= SWING_DANGER else "warn"
    message = (
        f"loss swings by x{swing:.1f} between logged steps ({turns} turns in {len(vals)} points, "
        f"{fmt(min(vals))}-{fmt(max(vals))}): lr too high"
    )
    return over_window(message, actions.lr_half(), steps, len(vals), severity=severity, swing=swing, turns=turns)


@rule
def lr_out_of_range(ctx: Context) -> Hit | None:
    """The peak lr the log shows lies outside any sane range for fine-tuning (read from the log, so it
    holds on a run of any tool); not judged while the run is still warming up."""
    steps, lrs = ctx.arrays("learning_rate")
    if len(lrs) < 2 or _warming_up(lrs):
        return None
    i = int(np.argmax(lrs))
    peak = float(lrs[i])
    if peak > LR_HIGH:
        severity = "danger" if peak >= LR_INSANE else "warn"
        message = f"learning rate peaks at {peak:.3g} (step {int(steps[i])}): far above any LoRA or full fine-tune (the SOP sweeps 5e-5 to 2e-4)"
        target = 2e-4
    elif 0 < peak < LR_LOW:
        severity, target = "warn", 5e-5
        message = f"learning rate peaks at {peak:.3g}: too small to move the weights in a run's length"
    else:
        return None
    return hit_at(message, _lr_to(target, peak), [int(steps[i])], [peak], severity=severity, peak=peak)


METHOD_LR_HIGH = 1e-4
"""A preference or RL lr over this is 100x TRL's default for DPO and GRPO (1e-6); LoRA runs of those
methods go to ~5e-5 at most."""
METHOD_LR_DANGER = 1e-3


@rule
def method_lr_high(ctx: Context) -> Hit | None:
    """A preference or RL run's peak lr far above what those methods use (TRL's default 1e-6)."""
    steps, lrs = ctx.arrays("learning_rate")
    if len(lrs) < 2 or _warming_up(lrs):
        return None
    i = int(np.argmax(lrs))
    peak = float(lrs[i])
    if peak <= METHOD_LR_HIGH:
        return None
    severity = "danger" if peak >= METHOD_LR_DANGER else "warn"
    message = (
        f"learning rate peaks at {peak:.3g} (step {int(steps[i])}) for {ctx.kind.label}: TRL's default is 1e-6, "
        f"LoRA runs of it stay under {METHOD_LR_HIGH:g}"
    )
    return hit_at(message, _lr_to(1e-5, peak), [int(steps[i])], [peak], severity=severity, peak=peak)


def _lr_to(target: float, now: float) -> Action:
    return Action(
        "lr_into_range",
        f"next run: learning_rate {target:g}",
        f"Set the learning rate to {target:g} for the next run (it peaked at {now:.3g}); then sweep it (SOP stage 3).",
        config_patch={"training.learning_rate": target},
    )


def _warming_up(lrs: np.ndarray) -> bool:
    """The lr rose from its first logged value to its last, never fell, and was still rising at the last
    point: the run ended inside its warm-up (its peak is not yet known). A warm-up to a constant lr has
    ended."""
    return len(lrs) >= 3 and bool(np.all(np.diff(lrs) >= 0)) and lrs[-1] > 1.2 * lrs[0] and lrs[-1] > lrs[-2]


@rule
def warmup_unfinished(ctx: Context) -> Hit | None:
    """The lr was still rising at the last logged step: the run is incomplete (or its warm-up is longer
    than the run), and what its lr does cannot be judged yet."""
    steps, lrs = ctx.arrays("learning_rate")
    if not _warming_up(lrs):
        return None
    where = f"lr {lrs[0]:.3g} -> {lrs[-1]:.3g}, still rising at step {int(steps[-1])}"
    if ctx.history.finished:
        message = f"the warm-up never ended ({where}): warm-up longer than the run; the lr is not judged"
    elif ctx.history.state in ("starting", "running", "paused"):
        message = f"still in its warm-up ({where}): the lr is not judged yet"
    else:
        message = f"stopped inside its warm-up ({where}): the run is incomplete; the lr is not judged"
    return hit_at(message, None, [int(steps[0]), int(steps[-1])], [float(lrs[0]), float(lrs[-1])])


def _epoch_medians(vals: np.ndarray, idx: np.ndarray) -> list[float]:
    """The median of the values of each epoch index 0, 1, ... that holds any, in epoch order (index -1,
    before the first epoch, left out): np.median's value (the middle one, or the mean of the middle two)
    of each group, all from one sort. A pass over the run per epoch took 8 s on a 1,000,000-step log of
    1,000 epochs, and a median per group 0.2 s of every `diagnose` of it."""
    keep = idx >= 0
    vals, idx = vals[keep], idx[keep]
    if not len(vals):
        return []
    order = np.lexsort((vals, idx))  # by epoch, each epoch's values in order
    v, i = vals[order], idx[order]
    starts = np.flatnonzero(np.r_[True, i[1:] != i[:-1]])
    sizes = np.diff(np.r_[starts, len(v)])
    low, high = v[starts + (sizes - 1) // 2], v[starts + sizes // 2]
    return [float(x) for x in np.where(sizes % 2, low, (low + high) / 2)]


@rule
def memorisation(ctx: Context) -> Hit | None:
    """Several epochs over the same rows, each a step down, ending far below any held-out level: the
    adapter memorises its data (no eval set here to show the overfit)."""
    if not ctx.language_model_loss or ctx.kind.has("eval"):
        return None  # with an eval set the eval rules see the overfit itself
    h = ctx.history
    loss = np.frombuffer(h.series["loss"], dtype=np.float64)
    ep = np.frombuffer(h.series["epoch"], dtype=np.float64)
    ok = np.isfinite(loss) & np.isfinite(ep)
    vals, ep, steps = loss[ok], ep[ok], np.asarray(h.steps, dtype=np.int64)[ok]
    if not len(vals) or float(ep[-1]) < MEMO_EPOCHS:
        return None
    # Epoch e holds the points logged in (e, e+1]: Trainer logs the epoch at the end of the step.
    idx = np.ceil(ep - 1e-6).astype(np.int64) - 1
    medians = _epoch_medians(vals, idx)
    if len(medians) < MEMO_EPOCHS:
        return None
    first, last = medians[0], medians[-1]
    downs = sum(b < a for a, b in zip(medians, medians[1:]))
    if not (last < MEMORISED and last <= 0.2 * first and downs >= 2 * (len(medians) - 1) // 3):
        return None
    under = next(i for i, m in enumerate(medians) if m < 3 * MEMORISED) + 1
    severity = "danger" if last < MEMORISED / 5 else "warn"
    shown = " / ".join(fmt(m) for m in medians[:6]) + (" ... " + fmt(last) if len(medians) > 6 else "")
    message = (
        f"loss by epoch {shown} over {float(ep[-1]):.3g} epochs: each epoch a step down to {fmt(last)}, far "
        f"below any held-out level: the data is memorised"
    )
    action = Action(
        "fewer_epochs",
        f"next run: num_train_epochs {under}",
        f"Train {under} epoch(s), not {float(ep[-1]):.3g} (the loss was under {3 * MEMORISED:g} by then), with an "
        "eval set held out; keep the checkpoint where eval loss is lowest.",
        config_patch={"training.num_train_epochs": under},
    )
    evidence = {"epoch_medians": medians[:20], "epochs": float(ep[-1])}
    return Hit(message, evidence, int(steps[0]), int(steps[-1]), action, severity)
