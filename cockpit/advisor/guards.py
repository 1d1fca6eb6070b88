"""The trainer-side guards: the same SOP bounds, checked on one logged step, with no cockpit attached.

Called by the trainer at every logging step, so it must be cheap: a few float checks and, for the
windowed guards (the SOP's stop list: grad_norm over the danger bound for several steps in a row, a
sudden loss jump), a median of the last ten losses held in a small ring buffer.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from statistics import median
from typing import Any

from cockpit.advisor.jump_window import jump_window
from cockpit.config import GuardConfig
from cockpit.thresholds import Thresholds


@dataclass(frozen=True)
class GuardDecision:
    rule: str
    severity: str
    message: str
    action: str  # "stop" | "pause" | "warn"
    evidence: dict[str, Any] = field(default_factory=dict)


def _bad(x: Any) -> bool:
    return isinstance(x, (int, float)) and not math.isfinite(x)


class GuardWindow:
    """What the windowed guards remember between logged steps: the advisor's rules, one step at a time."""

    def __init__(self, mixed: bool = False, clipping: bool = False) -> None:
        """`mixed`: the run mixes general rows into its batches (data.general_mix): see `loss_jump`.
        `clipping`: max_grad_norm is on, so one grad_norm over the explosion bound moved the adapter by a
        clipped step only: see `explosion`."""
        self.mixed = mixed
        self.clipping = clipping
        self.spike: tuple[int, float] | None = None  # an isolated spike waiting for the next logged step
        self.losses: deque[float] = deque(maxlen=jump_window(mixed)[0])  # the loss_jump rule's reference
        self.over: list[tuple[int, float]] = []  # the current run of steps over grad_norm_danger
        self.large: list[tuple[int, float]] = []  # the current run of steps with an update over the danger band

    def large_update(self, step: int, ratio: Any, th: Thresholds, action: str) -> GuardDecision | None:
        """The stop list's "abnormally large weight updates": ||dW||/||W|| over update_ratio_danger for
        grad_norm_danger_steps logged steps in a row (one step alone can be Adam's first steps)."""
        over = isinstance(ratio, (int, float)) and ratio > th.update_ratio_danger
        return _run_decision(
            self.large,
            step,
            ratio,
            over,
            th.grad_norm_danger_steps,
            "update_large",
            "each optimizer step moved the adapter by over {bound:.0%} of its norm for {n} logged "
            "steps in a row (steps {first}-{last}, max {peak:.0%}): abnormally large updates",
            th.update_ratio_danger,
            action,
        )

    def explosion(self, step: int, loss: Any, grad_norm: Any, th: Thresholds, action: str) -> GuardDecision | None:
        """grad_norm over the explosion bound. The stop list speaks of sustained or harmful spikes: with
        clipping on, one spike is only a warning while the next logged step shows whether it was one
        (grad_norm back under the danger bound, the loss no jump over the last losses' median). A second
        reading over the danger bound, or a loss jump, makes it an explosion, acted on as `on_explosion`."""
        over = isinstance(grad_norm, (int, float)) and grad_norm > th.grad_norm_explosion
        spike, self.spike = self.spike, None
        if spike is not None:
            hot = isinstance(grad_norm, (int, float)) and grad_norm > th.grad_norm_danger
            ref = median(self.losses) if self.losses else None
            jumped = isinstance(loss, (int, float)) and ref and loss > th.loss_jump_ratio * ref
            if not hot and not jumped:
                return None
            return _explosion(
                step,
                grad_norm,
                th,
                action,
                f"after grad_norm {spike[1]:.3g} at step {spike[0]}, "
                + (f"grad_norm {grad_norm:.3g} at step {step}: sustained" if hot else f"loss {loss:.4g} jumped"),
                spike,
            )
        if not over:
            return None
        if not self.clipping:
            return _explosion(step, grad_norm, th, action)
        self.spike = (step, float(grad_norm))
        return GuardDecision(
            "grad_norm_spike",
            "warn",
            f"grad_norm {grad_norm:.3g} at step {step} is over the explosion bound {th.grad_norm_explosion:g}; "
            "clipping capped the update: an explosion only if the next logged step is over "
            f"{th.grad_norm_danger:g} or the loss jumps",
            "warn",
            {"step": step, "grad_norm": grad_norm},
        )

    def precursor(self, step: int, grad_norm: Any, th: Thresholds, action: str) -> GuardDecision | None:
        over = isinstance(grad_norm, (int, float)) and th.grad_norm_danger < grad_norm <= th.grad_norm_explosion
        return _run_decision(
            self.over,
            step,
            grad_norm,
            over,
            th.grad_norm_danger_steps,
            "grad_norm_precursor",
            "grad_norm over {bound:g} for {n} logged steps in a row (steps {first}-{last}, max "
            "{peak:.3g}): explosion precursor",
            th.grad_norm_danger,
            action,
        )

    def loss_jump(self, step: int, loss: Any, th: Thresholds, action: str) -> GuardDecision | None:
        """Loss over loss_jump_ratio x the median of the last 10 logged (see `jump_window` for a run with
        a general mix)."""
        if not isinstance(loss, (int, float)) or not math.isfinite(loss):
            return None
        decision = None
        if len(self.losses) >= jump_window(self.mixed)[1]:
            ref = max(self.losses) if self.mixed else median(self.losses)
            if ref > 0 and loss > th.loss_jump_ratio * ref and loss - ref > 0.5:
                of = "highest" if self.mixed else "median"
                decision = GuardDecision(
                    "loss_jump",
                    "danger",
                    f"loss jumped to {loss:.4g} at step {step} ({of} of the last "
                    f"{len(self.losses)} logged: {ref:.4g}; bound x{th.loss_jump_ratio:g})",
                    action,
                    {
                        "step": step,
                        "loss": float(loss),
                        "reference": ref,
                        "ratio": th.loss_jump_ratio,
                        "recent": list(self.losses),
                    },
                )
        self.losses.append(float(loss))
        return decision


def _run_decision(
    run: list[tuple[int, float]],
    step: int,
    value: Any,
    over: bool,
    length: int,
    rule: str,
    message: str,
    bound: float,
    action: str,
) -> GuardDecision | None:
    """Extend or end a run of logged steps over a bound; a decision once, when the run reaches `length`.
    `message` is formatted with the bound, the run's length n, its first and last step and its peak."""
    if not over:
        run.clear()
        return None
    run.append((step, float(value)))
    if len(run) != length:
        return None
    steps, values = [s for s, _ in run], [v for _, v in run]
    text = message.format(bound=bound, n=len(steps), first=steps[0], last=steps[-1], peak=max(values))
    return GuardDecision(rule, "danger", text, action, {"steps": steps, "values": values, "bound": bound})


def check_step(
    step: int,
    loss: Any,
    grad_norm: Any,
    thresholds: Thresholds,
    guards: GuardConfig,
    window: GuardWindow | None = None,
    update_ratio: Any = None,
) -> GuardDecision | None:
    if _bad(loss) or _bad(grad_norm):
        what = "loss" if _bad(loss) else "grad_norm"
        return GuardDecision(
            f"{what}_nonfinite",
            "critical",
            f"{what} is {loss if what == 'loss' else grad_norm} at step {step}",
            guards.on_nonfinite,
            {"step": step, "loss": loss, "grad_norm": grad_norm},
        )
    if window is None:
        over = isinstance(grad_norm, (int, float)) and grad_norm > thresholds.grad_norm_explosion
        return _explosion(step, grad_norm, thresholds, guards.on_explosion) if over else None
    # Every window sees every step, so that none misses a value when another fires.
    explosion = window.explosion(step, loss, grad_norm, thresholds, guards.on_explosion)
    jump = window.loss_jump(step, loss, thresholds, guards.on_loss_jump)
    precursor = window.precursor(step, grad_norm, thresholds, guards.on_precursor)
    large = window.large_update(step, update_ratio, thresholds, guards.on_large_update)
    if explosion is not None and explosion.rule == "grad_norm_explosion":
        return explosion
    for d in (jump, precursor, large):
        if d is not None and d.action != "off":
            return d
    return explosion


def _explosion(
    step: int, grad_norm: Any, th: Thresholds, action: str, why: str = "", spike: tuple[int, float] | None = None
) -> GuardDecision:
    evidence = {"step": step, "grad_norm": grad_norm, **({"spike": list(spike)} if spike else {})}
    text = f"grad_norm {grad_norm:.3g} at step {step} is over the explosion bound {th.grad_norm_explosion:g}"
    return GuardDecision("grad_norm_explosion", "critical", why or text, action, evidence)
