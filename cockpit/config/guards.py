"""The `guards:` section: what the trainer does by itself when a run goes wrong or stops improving."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from cockpit.config.section import Section


class EarlyStopConfig(Section):
    """Stop when an evaluation metric has stopped improving; the best checkpoint becomes the adapter."""

    metric: str = "eval_loss"
    """An `eval_*` key of the eval event (eval_loss, eval_mean_token_accuracy, ...)."""
    patience: int = Field(3, ge=1)
    """Evaluations in a row without an improvement before the run stops."""
    min_delta: float = Field(0.0, ge=0.0)
    """An improvement smaller than this does not count."""
    mode: Literal["min", "max"] = "min"
    """`min` for losses, `max` for accuracies."""


class GuardConfig(Section):
    """What the trainer does by itself, with or without a cockpit attached."""

    on_nonfinite: Literal["stop", "pause"] = "stop"
    """A NaN/inf loss or grad_norm: the step is skipped, then stop (SOP) or pause."""
    on_explosion: Literal["stop", "pause", "warn"] = "stop"
    """grad_norm over thresholds.grad_norm_explosion: stop (SOP), pause, or only warn."""
    on_precursor: Literal["stop", "pause", "warn", "off"] = "stop"
    """grad_norm over thresholds.grad_norm_danger for grad_norm_danger_steps logged steps in a row: the SOP's
    explosion precursor, on its stop list."""
    on_loss_jump: Literal["stop", "pause", "warn", "off"] = "stop"
    """loss over thresholds.loss_jump_ratio x the median of the last 10 logged losses: on the SOP's stop list."""
    on_large_update: Literal["stop", "pause", "warn", "off"] = "stop"
    """Each step moving the adapter by over thresholds.update_ratio_danger of its norm, for
    grad_norm_danger_steps logged steps in a row: the stop list's abnormally large updates."""
    early_stop: EarlyStopConfig | None = None
    """Early stopping on an eval metric (needs evaluations: training.eval_steps and eval data)."""
    on_overfit: Literal["stop", "pause", "warn", "off"] = "off"
    """The SOP's overfitting signal, eval loss rising while train loss falls over `overfit_evals`
    evaluations: stop (keeping the best checkpoint as the adapter), pause, warn, or off."""
    overfit_evals: int = Field(3, ge=2)
    """Evaluations in a row over which eval loss rises while train loss falls."""
