"""Guards on evaluations: early stopping, and the SOP's overfitting signal.

    watch = EvalWatch(cfg.guards)
    watch.train_loss(loss)                 # at every logged step
    decision = watch.evaluated(step, metrics)   # at every evaluation: a GuardDecision, or None
    watch.is_best                          # this evaluation is the best so far: save it

Pure Python on a few floats per evaluation; the trainer's callback acts on the decision (a `guard`
event, stop or pause) and keeps the best checkpoint, which becomes the run's adapter when a guard here
stops the run.
"""

from __future__ import annotations

import math
from typing import Any

from cockpit.advisor.guards import GuardDecision


class EvalWatch:
    def __init__(self, guards):
        self.cfg = guards
        self.early = guards.early_stop
        self.best: float | None = None
        self.best_step: int | None = None
        self.is_best = False
        self.since_best = 0
        self._train: list[float] = []  # train losses logged since the last evaluation
        self.history: list[tuple[int, float, float | None]] = []  # (step, eval_loss, mean train loss)

    @property
    def active(self) -> bool:
        return self.early is not None or self.cfg.on_overfit != "off"

    def train_loss(self, loss: Any) -> None:
        if isinstance(loss, (int, float)) and math.isfinite(loss):
            self._train.append(float(loss))

    def evaluated(self, step: int, metrics: dict[str, Any]) -> GuardDecision | None:
        train = sum(self._train) / len(self._train) if self._train else None
        self._train = []
        ev_loss = metrics.get("eval_loss")
        if isinstance(ev_loss, (int, float)) and math.isfinite(ev_loss):
            self.history.append((step, float(ev_loss), train))
        return self._early(step, metrics) or self._overfit(step)

    def _early(self, step: int, metrics: dict[str, Any]) -> GuardDecision | None:
        """Patience counts evaluations without an improvement of more than min_delta."""
        self.is_best = False
        key = self.early.metric if self.early is not None else "eval_loss"
        value = metrics.get(key)
        if not isinstance(value, (int, float)) or not math.isfinite(value):
            return None
        sign = 1.0 if self.early is None or self.early.mode == "min" else -1.0
        delta = self.early.min_delta if self.early is not None else 0.0
        if self.best is None or sign * (self.best - value) > delta:
            self.best, self.best_step, self.is_best, self.since_best = float(value), step, True, 0
            return None
        self.since_best += 1
        if self.early is None or self.since_best < self.early.patience:
            return None
        return GuardDecision(
            "early_stop",
            "warn",
            f"{key} has not improved for {self.since_best} evaluations (best {self.best:.4g} at step "
            f"{self.best_step}, now {value:.4g}): stopping, the best checkpoint becomes the adapter",
            "stop",
            {
                "metric": key,
                "best": self.best,
                "best_step": self.best_step,
                "now": float(value),
                "step": step,
                "patience": self.early.patience,
                "min_delta": delta,
            },
        )

    def _overfit(self, step: int) -> GuardDecision | None:
        n = self.cfg.overfit_evals
        if self.cfg.on_overfit == "off" or len(self.history) < n:
            return None
        window = self.history[-n:]
        evals = [e for _, e, _ in window]
        trains = [t for _, _, t in window]
        rising = all(b > a for a, b in zip(evals, evals[1:]))
        if not rising or trains[0] is None or trains[-1] is None or not trains[-1] < trains[0]:
            return None
        first, last = window[0], window[-1]
        return GuardDecision(
            "overfit",
            "danger",
            f"eval loss rose {first[1]:.4g} -> {last[1]:.4g} over {n} evaluations (steps {first[0]}-{last[0]}) "
            f"while train loss fell {trains[0]:.4g} -> {trains[-1]:.4g}: overfitting (SOP: more dropout, fewer "
            f"steps; keep the best checkpoint)",
            self.cfg.on_overfit,
            {
                "steps": [s for s, _, _ in window],
                "eval_loss": evals,
                "train_loss": trains,
                "best_step": self.best_step,
                "step": step,
            },
        )
