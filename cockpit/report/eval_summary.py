"""The report's reading of general_eval_loss (forgetting): its line on the loss chart and its summary row."""

from __future__ import annotations

from cockpit.general.reading import general_loss


def eval_summary(h) -> list[tuple[str, str]]:
    """The general eval loss from the base model's value to the last, with the rise."""
    g = general_loss(h)
    if g is None:
        return []
    return [("general eval loss", f"{g.ref:.4g} (step {g.ref_step}) -> {g.now:.4g} (step {g.step}), {g.rise:+.0%}")]
