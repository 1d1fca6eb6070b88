"""The trainer-side guards: the same SOP bounds, checked on one logged step, with no cockpit attached.

Called by the trainer at every logging step, so it must be cheap: two float checks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

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


def check_step(step: int, loss: Any, grad_norm: Any, thresholds: Thresholds, guards: GuardConfig,
               recent: Any = None) -> GuardDecision | None:  # noqa: ARG001 - recent reserved for windowed guards
    if _bad(loss) or _bad(grad_norm):
        what = "loss" if _bad(loss) else "grad_norm"
        return GuardDecision(f"{what}_nonfinite", "critical", f"{what} is {loss if what == 'loss' else grad_norm} "
                             f"at step {step}", guards.on_nonfinite, {"step": step, "loss": loss,
                                                                       "grad_norm": grad_norm})
    if isinstance(grad_norm, (int, float)) and grad_norm > thresholds.grad_norm_explosion:
        return GuardDecision("grad_norm_explosion", "critical",
                             f"grad_norm {grad_norm:.3g} at step {step} is over the explosion bound "
                             f"{thresholds.grad_norm_explosion:g}", guards.on_explosion,
                             {"step": step, "grad_norm": grad_norm})
    return None
