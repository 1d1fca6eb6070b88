"""The metrics the cockpit and the report chart, in the order they show them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Metric:
    key: str
    """The field of a `metrics` event."""
    title: str
    """Its name on a chart."""
    short: str
    """Its name where room is short (a cockpit panel's title)."""


CHARTED = (
    Metric("loss", "loss", "loss"),
    Metric("grad_norm", "grad_norm", "grad_norm"),
    Metric("update_ratio", "update size", "update"),
    Metric("entropy", "entropy", "entropy"),
    Metric("mem_used", "memory", "memory"),
    Metric("learning_rate", "learning rate", "lr"),
    Metric("tokens_per_s", "tokens/s", "tokens/s"),
)
"""The stability signals first (loss, grad_norm, the update size, entropy: the SOP reads them); then what the
run costs and how fast it goes."""
