"""What every rule reads: the history's finite series, the config and the thresholds, computed once."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from cockpit.columns import finite
from cockpit.config import RunConfig, Thresholds
from cockpit.history import History


def finite_pairs(steps, values) -> tuple[list[int], list[float]]:
    """(steps, values) where the value is finite. One numpy pass: a 100,000-step log has a dozen series."""
    st, v = finite(steps, values)
    return st.tolist(), v.tolist()


def median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


@dataclass
class Context:
    history: History
    config: dict[str, Any]
    thresholds: Thresholds
    _cache: dict[str, tuple[list[int], list[float]]] = field(default_factory=dict)

    @classmethod
    def build(cls, history: History, config: RunConfig | dict[str, Any] | None) -> "Context":
        if isinstance(config, RunConfig):
            cfg = config.model_dump(mode="json")
        else:
            cfg = config or history.config or {}
        try:
            th = Thresholds.model_validate(cfg.get("thresholds") or {})
        except Exception:  # a foreign log's odd thresholds must not stop a diagnosis
            th = Thresholds()
        return cls(history, cfg, th)

    def series(self, key: str) -> tuple[list[int], list[float]]:
        """(steps, values) of a metric, NaN/inf dropped."""
        if key not in self._cache:
            col = self.history.series.get(key)
            self._cache[key] = finite_pairs(self.history.steps, col) if col is not None else ([], [])
        return self._cache[key]

    def raw(self, key: str) -> tuple[Any, Any]:
        return self.history.steps, self.history.series.get(key, [])

    @property
    def training(self) -> dict[str, Any]:
        return self.config.get("training") or {}

    @property
    def lora(self) -> dict[str, Any]:
        return self.config.get("lora") or {}

    @cached_property
    def language_model_loss(self) -> bool:
        """False for logs whose loss can go negative (DPO/GRPO/regression): LM-loss rules do not apply."""
        _, vals = self.series("loss")
        return not vals or min(vals) >= 0

    @cached_property
    def lr_annealed(self) -> bool:
        """The lr is in its schedule's tail (under a quarter of its peak): loss and entropy flatten there by
        design, so "flat" does not mean "lr too low"."""
        _, lrs = self.series("learning_rate")
        if not lrs:
            return False
        peak = self.training.get("learning_rate")  # a window of a long run may not hold the peak
        peak = max(lrs) if not isinstance(peak, (int, float)) else max(float(peak), max(lrs))
        return peak > 0 and lrs[-1] < 0.25 * peak

    @cached_property
    def flat_by_schedule(self) -> bool:
        """Loss flat now only because the lr has decayed: it fell over the run as a whole. A loss that
        never moved (flat from the first steps, lr decayed or not) is still flat."""
        if not self.lr_annealed:
            return False
        _, vals = self.series("loss")
        k = max(3, len(vals) // 10)
        if len(vals) < 2 * k:
            return False
        first, last = median(vals[:k]), median(vals[-k:])
        return first > 0 and (first - last) / first >= self.thresholds.loss_flat_rel

    @property
    def is_ours(self) -> bool:
        return bool(self.config.get("lora"))

    @cached_property
    def lr_change_steps(self) -> list[int]:
        """Steps where an operator (or the advisor) changed the lr: schedule checks restart there."""
        return [m.step for m in self.history.marks
                if m.kind == "ack" and m.event.get("ok") and m.event.get("cmd") in ("set_lr", "scale_lr")]

    @cached_property
    def lr_halved(self) -> bool:
        return any(m.kind == "ack" and m.event.get("ok") and m.event.get("cmd") == "scale_lr"
                   and (m.event.get("value") or 0.5) < 1 for m in self.history.marks) or bool(self.lr_change_steps)
