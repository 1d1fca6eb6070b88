"""What every rule reads: the history's finite series, the config and the thresholds, computed once."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from cockpit.history import History
from cockpit.logs.columns import finite
from cockpit.run_kind import RunKind
from cockpit.thresholds import Thresholds

RISE_REL = 0.10
"""A loss more than this share above its own best has risen (eval over its minimum; train over its
lowest stretch): well over the few percent a fixed eval set or a chunk median drifts by noise."""
RISE_ABS = 0.01
"""...and by at least this much (nats per token): an eval loss of 2e-4 rising to 3e-4 is noise."""


def median(xs) -> float:
    """The median of a list or a numpy array (the same value either way), NaN when empty."""
    if len(xs) == 0:
        return float("nan")
    if isinstance(xs, np.ndarray):
        return float(np.median(xs))
    return statistics.median(xs)


def window_ends(vals, k: int) -> tuple[float, float]:
    """The medians of the first and of the last k values: where a window started and ended, robust to
    one odd point (how the flat, slow and rising rules tell a trend from noise)."""
    return median(vals[:k]), median(vals[-k:])


@dataclass(frozen=True)
class Recent:
    """The last few logged points of a metric, as the rules on its recent level read them."""

    steps: list[int]
    values: list[float]
    median: float


@dataclass
class Context:
    history: History
    config: dict[str, Any]
    thresholds: Thresholds
    _cache: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)

    @classmethod
    def build(cls, history: History, config: Any) -> Context:
        """`config`: a RunConfig, its dict, or None for the one the run logged."""
        if hasattr(config, "model_dump"):  # a RunConfig (not imported here: pydantic costs readers ~0.2 s)
            cfg = config.model_dump(mode="json")
        else:
            cfg = config or history.config or {}
        return cls(history, cfg, Thresholds.from_config(cfg))

    def arrays(self, key: str) -> tuple[np.ndarray, np.ndarray]:
        """(steps, values) of a metric as numpy arrays, NaN/inf dropped: what whole-run scans read."""
        if key not in self._cache:
            col = self.history.series.get(key)
            self._cache[key] = (
                finite(self.history.steps, col) if col is not None else (np.zeros(0, np.int64), np.zeros(0, np.float64))
            )
        return self._cache[key]

    def tail(self, key: str, n: int) -> tuple[list[int], list[float]]:
        """The last n finite (steps, values) as lists: what windowed rules read. Only the tail becomes
        Python objects (a 100,000-step run has a dozen series; converting them all cost diagnose 50 ms)."""
        st, v = self.arrays(key)
        return st[-n:].tolist(), v[-n:].tolist()

    def recent(self, key: str, n: int) -> Recent | None:
        """The last n finite points of a metric and their median; None with fewer than 3 (one odd step is
        not a pattern)."""
        steps, values = self.tail(key, n)
        return Recent(steps, values, median(values)) if len(values) >= 3 else None

    def count(self, key: str) -> int:
        """How many finite values a metric has."""
        return len(self.arrays(key)[1])

    def raw(self, key: str) -> tuple[Any, Any]:
        return self.history.steps, self.history.series.get(key, [])

    @property
    def training(self) -> dict[str, Any]:
        return self.config.get("training") or {}

    @property
    def lora(self) -> dict[str, Any]:
        return self.config.get("lora") or {}

    @cached_property
    def kind(self) -> RunKind:
        """What kind of run this is and which signals it logs: which rules apply."""
        return RunKind.of(self.history)

    @cached_property
    def language_model_loss(self) -> bool:
        """False for logs whose loss can go negative (DPO/GRPO/regression): LM-loss rules do not apply."""
        _, vals = self.arrays("loss")
        return not len(vals) or float(vals.min()) >= 0

    @cached_property
    def lr_annealed(self) -> bool:
        """The lr is in its schedule's tail (under a quarter of its peak): loss and entropy flatten there by
        design, so "flat" does not mean "lr too low"."""
        _, lrs = self.arrays("learning_rate")
        if not len(lrs):
            return False
        top = float(lrs.max())
        peak = self.training.get("learning_rate")  # a window of a long run may not hold the peak
        peak = top if not isinstance(peak, (int, float)) else max(float(peak), top)
        return peak > 0 and float(lrs[-1]) < 0.25 * peak

    @cached_property
    def flat_by_schedule(self) -> bool:
        """Loss flat now only because the lr has decayed: it fell over the run as a whole. A loss that
        never moved (flat from the first steps, lr decayed or not) is still flat."""
        if not self.lr_annealed:
            return False
        _, vals = self.arrays("loss")
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
        return [
            m.step
            for m in self.history.marks
            if m.kind == "ack" and m.event.get("ok") and m.event.get("cmd") in ("set_lr", "scale_lr")
        ]

    @cached_property
    def lr_halved(self) -> bool:
        return any(
            m.kind == "ack"
            and m.event.get("ok")
            and m.event.get("cmd") == "scale_lr"
            and (m.event.get("value") or 0.5) < 1
            for m in self.history.marks
        ) or bool(self.lr_change_steps)

    @cached_property
    def eval_loss(self) -> tuple[list[int], list[float]]:
        """(steps, values) of the finite eval_loss points."""
        h = self.history
        col = h.eval_series.get("eval_loss", [])
        pts = [(int(s), float(v)) for s, v in zip(h.eval_steps, col) if math.isfinite(v)]
        return [s for s, _ in pts], [v for _, v in pts]

    @cached_property
    def eval_rise(self) -> tuple[int, int] | None:
        """(index of the best, index of the peak after it) of eval_loss when its last point is over RISE_REL
        and RISE_ABS above its best, else None."""
        _, ev = self.eval_loss
        if len(ev) < 2:
            return None
        b = int(np.argmin(ev))
        if b == len(ev) - 1 or ev[b] <= 0 or ev[-1] <= ev[b] * (1 + RISE_REL) or ev[-1] - ev[b] < RISE_ABS:
            return None
        return b, b + int(np.argmax(ev[b:]))

    @cached_property
    def train_rise(self) -> tuple[float, float] | None:
        """(lowest, now) of the train loss, each a median of a chunk of k logged points (k = a tenth of
        the run, at least 3), when the last chunk is over RISE_REL above the lowest: the train loss is
        rising. Chunk medians, because a single noisy batch must not read as a rise. None otherwise."""
        _, vals = self.arrays("loss")
        k = max(3, len(vals) // 10)
        if len(vals) < 2 * k:
            return None
        now = float(np.median(vals[-k:]))
        body = vals[: len(vals) - k]
        body = body[len(body) % k :].reshape(-1, k)  # whole chunks, aligned to the end
        low = float(np.median(body, axis=1).min())
        return (low, now) if low > 0 and now > low * (1 + RISE_REL) else None
