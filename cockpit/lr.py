"""The one rule for learning-rate values typed by a person: `1e-4` sets, `x0.5` / `*2` scales.

Shared by `cockpit ctl`, the cockpit's lr input, sweeps and the trainer's ack. Plain Python: the cockpit
imports it, and must not pay for pydantic.
"""

from __future__ import annotations

import math

MIN_LR = 1e-8
"""Below this a LoRA update is lost in fp32 rounding of the weights: a typo (1e-300 for 1e-3), not a choice."""


def parse_lr(text: str) -> tuple[str, float]:
    """Parse an lr command value: `1e-4` (set) or `x0.5` / `*2` (scale). Raises ValueError with a reason."""
    s = str(text).strip().lower()
    mode = "set"
    if s[:1] in ("x", "*"):
        mode, s = "scale", s[1:].strip()
    try:
        v = float(s)
    except ValueError:
        raise ValueError(f"'{text}' is not a number") from None
    check_lr_value(mode, v)
    return mode, v


def check_lr_value(mode: str, v: float) -> None:
    """The one rule for lr values, shared by the CLI, the cockpit's input and the trainer's ack."""
    if math.isnan(v) or math.isinf(v):
        raise ValueError(f"{v} is not a finite number")
    if v <= 0:
        raise ValueError(f"{'factor' if mode == 'scale' else 'learning rate'} must be positive (got {v:g})")
    if mode == "set" and v < MIN_LR:
        raise ValueError(f"learning rate {v:g} is too small to train anything (under {MIN_LR:g})")
    if mode == "set" and v > 1.0:
        raise ValueError(f"learning rate {v:g} is absurd for LoRA (over 1.0)")
    if mode == "scale" and not (1e-3 <= v <= 100):
        raise ValueError(f"factor {v:g} is out of range (0.001 .. 100)")
