"""Reading general_eval_loss back from a run's history: the base model's value, the latest, the rise.

Shared by the cockpit's loss panel, the report and replay; no torch, no textual.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

KEY = "general_eval_loss"


@dataclass(frozen=True)
class GeneralLoss:
    ref_step: int
    ref: float
    """The first measured value: the base model's when the run measured it before its first step."""
    step: int
    now: float

    @property
    def rise(self) -> float:
        """now / ref - 1: +0.25 is a general loss 25% above the base model's."""
        return self.now / self.ref - 1.0 if self.ref > 0 else 0.0


def points(h, key: str) -> tuple[list[int], list[float]]:
    """(steps, values) of one eval series, finite values only."""
    pairs = [(int(s), float(v)) for s, v in zip(h.eval_steps, h.eval_series.get(key, [])) if math.isfinite(v)]
    return [s for s, _ in pairs], [v for _, v in pairs]


def general_loss(h) -> GeneralLoss | None:
    steps, vals = points(h, KEY)
    if not vals:
        return None
    return GeneralLoss(steps[0], vals[0], steps[-1], vals[-1])


def eval_label(h) -> str:
    """`task 0.292  general 2.41 (+31%)`: the latest eval losses in a line, '' before any evaluation."""
    parts = []
    _, ev = points(h, "eval_loss")
    if ev:
        parts.append(f"task {ev[-1]:.3g}")
    g = general_loss(h)
    if g is not None:
        parts.append(f"general {g.now:.3g}" + (f" ({g.rise:+.0%})" if g.step > g.ref_step else ""))
    return "  ".join(parts)
