"""The SOP's danger bands: one plain dataclass that the config, the advisor, the guards, the report and
the sparkline colours all read.

It is a stdlib dataclass, not a pydantic model, so that reading a log (`diagnose`, `report`, `replay`)
never imports pydantic (~0.2 s of their start-up). Pydantic still validates it inside `RunConfig`: it
reads the bounds from each field's metadata and calls `__post_init__`, so a bad value in a config file
gets the same error, naming field, file and line, as every other section.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any


class ThresholdError(ValueError):
    """A threshold out of its bounds or out of order; `field` names the one to fix."""

    def __init__(self, name: str, message: str):
        super().__init__(message)
        self.field = name


@dataclass(frozen=True)
class Thresholds:
    __pydantic_config__ = {"extra": "forbid"}  # typos in a config's `thresholds:` are errors

    grad_norm_low: float = field(default=0.1, metadata={"ge": 0.0})
    """Below this for long: not learning / overfit (SOP: normal 0.1-5)."""
    grad_norm_high: float = field(default=5.0, metadata={"gt": 0.0})
    """Top of the normal band."""
    grad_norm_danger: float = field(default=10.0, metadata={"gt": 0.0})
    """Over this for several steps: explosion precursor."""
    grad_norm_danger_steps: int = field(default=3, metadata={"ge": 1})
    """How many consecutive logged steps over grad_norm_danger make a precursor."""
    grad_norm_explosion: float = field(default=50.0, metadata={"gt": 0.0})
    """Over this: explosion, the guard stops the run."""
    loss_collapse: float = field(default=0.05, metadata={"ge": 0.0})
    """Loss under this ..."""
    loss_collapse_steps: int = field(default=200, metadata={"ge": 1})
    """... within this many steps means lr too high or templated data."""
    loss_jump_ratio: float = field(default=3.0, metadata={"gt": 1.0})
    """Loss over this multiple of its recent median: a sudden jump."""
    loss_flat_rel: float = field(default=0.02, metadata={"ge": 0.0})
    """Relative loss change under this over the flat window: flat (lr too low)."""
    flat_window: int = field(default=50, metadata={"ge": 5})
    """Logged steps looked at for flat loss / flat entropy."""
    entropy_collapse_ratio: float = field(default=0.3, metadata={"gt": 0.0, "lt": 1.0})
    """Entropy falling to this share of its start within the window: collapse (overfitting)."""
    memory_danger: float = field(default=0.90, metadata={"gt": 0.0, "le": 1.0})
    """Share of device memory in use above which the SOP says cut batch / checkpoint activations."""
    memory_warn: float = field(default=0.80, metadata={"gt": 0.0, "le": 1.0})
    """Share of device memory in use above which headroom is thin (SOP: keep 10-20% free)."""
    eval_gap_ratio: float = field(default=1.5, metadata={"gt": 1.0})
    """Eval loss over this multiple of train loss while train keeps falling: diverging."""
    update_ratio_warn: float = field(default=0.05, metadata={"gt": 0.0})
    """One optimizer step moving the adapter by more than this share of its norm: large (bench/README.md)."""
    update_ratio_danger: float = field(default=0.2, metadata={"gt": 0.0})
    """... by more than this, for grad_norm_danger_steps logged steps in a row: abnormally large (stop list)."""
    pad_share_warn: float = field(default=0.3, metadata={"gt": 0.0, "le": 1.0})
    """Padding over this share of the batch positions: group by length or pack."""
    data_wait_warn: float = field(default=0.2, metadata={"gt": 0.0, "le": 1.0})
    """Waiting for the data loader over this share of the step time: more data loader workers."""
    general_rise_warn: float = field(default=0.1, metadata={"gt": 0.0})
    """general_eval_loss risen by this share over the base model's while the task improves: forgetting."""
    general_rise_danger: float = field(default=0.3, metadata={"gt": 0.0})
    """... by this share: the fine-tune costs the model much of what it knew (mix general data in)."""

    def __post_init__(self) -> None:
        # Pydantic has checked types and bounds already when it built this from a config; a reader that
        # builds it from a log's dict has not, so the bounds are checked here too (cheap).
        for f in fields(self):
            _check_bounds(f.name, getattr(self, f.name), f.type, f.metadata)
        bands = ("grad_norm_low", "grad_norm_high", "grad_norm_danger", "grad_norm_explosion")
        for lower, upper in zip(bands, bands[1:]):
            if not getattr(self, lower) < getattr(self, upper):
                raise ThresholdError(
                    upper,
                    f"grad_norm bands must rise: {' < '.join(bands)} "
                    f"({lower}={getattr(self, lower)!r}, {upper}={getattr(self, upper)!r})",
                )
        if self.update_ratio_warn >= self.update_ratio_danger:
            raise ThresholdError("update_ratio_warn", "update_ratio_warn must be under update_ratio_danger")
        if self.general_rise_warn >= self.general_rise_danger:
            raise ThresholdError("general_rise_warn", "general_rise_warn must be under general_rise_danger")
        if self.memory_warn > self.memory_danger:
            raise ThresholdError("memory_warn", "memory_warn must not exceed memory_danger")

    @classmethod
    def from_config(cls, config: dict[str, Any] | None) -> Thresholds:
        """The thresholds a logged run's config holds; the defaults when it holds none, or odd ones (a
        foreign or older log must not stop a diagnosis)."""
        raw = (config or {}).get("thresholds") if isinstance(config, dict) else None
        if not isinstance(raw, dict) or not raw:
            return cls()
        names = {f.name for f in fields(cls)}
        try:
            return cls(**{k: v for k, v in raw.items() if k in names})
        except (TypeError, ValueError):
            return cls()


_OPS = {
    "ge": (lambda v, b: v >= b, ">="),
    "gt": (lambda v, b: v > b, ">"),
    "le": (lambda v, b: v <= b, "<="),
    "lt": (lambda v, b: v < b, "<"),
}


def _check_bounds(name: str, value: Any, annotation: Any, bounds: Any) -> None:
    want_int = annotation in (int, "int")
    ok_type = isinstance(value, int) if want_int else isinstance(value, (int, float))
    if isinstance(value, bool) or not ok_type or (not want_int and not math.isfinite(value)):
        raise ThresholdError(name, f"{name} must be {'an integer' if want_int else 'a finite number'} (got {value!r})")
    for op, bound in bounds.items():
        test, sign = _OPS[op]
        if not test(value, bound):
            raise ThresholdError(name, f"{name} must be {sign} {bound} (got {value!r})")
