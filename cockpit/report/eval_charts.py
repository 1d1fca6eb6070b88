"""The report's evaluation charts: eval_loss, and general_eval_loss against the base model's value."""

from __future__ import annotations

from cockpit.general.reading import KEY, general_loss, points
from cockpit.report.model import Chart


def eval_charts(h) -> list[Chart]:
    charts = []
    steps, vals = points(h, "eval_loss")
    if vals:
        charts.append(Chart("eval_loss", "eval loss (task)", steps, vals))
    g = general_loss(h)
    if g is not None:
        steps, vals = points(h, KEY)
        # the band is the base model's value: a line above it is what the fine-tune cost outside the task
        charts.append(Chart(KEY, "general eval loss (forgetting)", steps, vals, [(g.ref, "base model")]))
    return charts


def eval_summary(h) -> list[tuple[str, str]]:
    g = general_loss(h)
    if g is None:
        return []
    return [("general eval loss", f"{g.ref:.4g} (step {g.ref_step}) -> {g.now:.4g} (step {g.step}), "
                                  f"{g.rise:+.0%}")]
