"""What a comparison says, computed once: one row per run (its numbers and verdicts), the config keys
that differ, and the overlaid charts. The text and HTML renderers only lay it out."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

from cockpit.compare.diff import config_diff
from cockpit.compare.sources import RunSource
from cockpit.compare.study_rows import StageRow
from cockpit.history import History
from cockpit.metrics import CHARTED, Metric
from cockpit.report.charts import Chart, eval_line, grad_norm_bands, line_for
from cockpit.report.units import fmt_plain, fmt_value
from cockpit.thresholds import Thresholds

_CHARTED = {m.key: m for m in CHARTED}
METRICS = (
    replace(_CHARTED["loss"], title="train loss"),
    Metric("eval_loss", "eval loss", "eval loss"),
    replace(_CHARTED["grad_norm"], title="grad_norm (log scale)"),
    _CHARTED["entropy"],
)
"""The overlaid charts, in order (issue #18: loss, eval_loss, grad_norm, entropy): the cockpit's metrics
(cockpit.metrics), titled for a chart that holds several runs, and the evaluation loss, which the
cockpit shows in its run panel rather than as a chart of its own."""


@dataclass
class RunRow:
    label: str
    source: str
    group: str | None
    state: str
    steps: str
    verdict: str | None
    """The sweep's verdict on this trial, when it came from a sweep."""
    reason: str | None
    advisor: str
    """The advisor's one-line reading of the run (the same as `cockpit diagnose`)."""
    numbers: dict[str, str]
    """final loss, best eval_loss, max grad_norm, final entropy, peak lr: '-' when not logged."""


@dataclass
class CompareReport:
    title: str
    runs: list[RunRow]
    diff: list[tuple[str, list[str]]]
    charts: list[Chart]
    missing: list[str]
    notes: list[str]
    stages: list[StageRow] = field(default_factory=list)
    """A study's stages 0-8 (what each decided, from which runs), when the comparison is of one study."""
    study_state: str = ""

    @property
    def names(self) -> dict[int, str]:
        return {i: r.label for i, r in enumerate(self.runs)}


NUMBER_COLUMNS = ("final loss", "best eval_loss", "max grad_norm", "final entropy", "peak lr")


def _last_finite(xs) -> float | None:
    return next((x for x in reversed(xs) if math.isfinite(x)), None)


def _numbers(h: History) -> dict[str, str]:
    loss = _last_finite(h.series["loss"])
    ev = [v for v in h.eval_series.get("eval_loss", ()) if math.isfinite(v)]
    gn = [v for v in h.series["grad_norm"] if math.isfinite(v)]
    ent = _last_finite(h.series["entropy"])
    lrs = [v for v in h.series["learning_rate"] if math.isfinite(v)]
    return {
        "final loss": fmt_plain(loss) if loss is not None else "-",
        "best eval_loss": fmt_plain(min(ev)) if ev else "-",
        "max grad_norm": fmt_plain(max(gn)) if gn else "-",
        "final entropy": fmt_plain(ent) if ent is not None else "-",
        "peak lr": fmt_value(max(lrs), "lr") if lrs else "-",
    }


def build_compare(
    sources: list[RunSource], histories: list[History], kinds: list[str], notes: list[str], title: str
) -> CompareReport:
    """`kinds`: each log's format (events | trainer_state | ...); another tool's config is partial."""
    from cockpit.advisor import advise

    rows = []
    for src, h in zip(sources, histories):
        steps = f"{h.step}" + (f" / {h.total_steps}" if h.total_steps else "")
        rows.append(
            RunRow(
                src.label,
                str(src.path),
                src.group,
                h.state,
                steps,
                src.verdict,
                src.reason,
                advise(h).verdict,
                _numbers(h),
            )
        )
    configs: list[Any] = [h.config for h in histories]
    # A run that has not written its run_started yet (a trial starting now) has no config to tell: its
    # keys are unknown, as a Hugging Face log's are, not missing (every key would differ from it).
    diff = config_diff(configs, [k != "events" or not c for k, c in zip(kinds, configs)])
    charts, missing = overlay_charts(
        histories, [r.label for r in rows], Thresholds.from_config(configs[0] if configs else None)
    )
    return CompareReport(title, rows, diff, charts, missing, notes)


def overlay_charts(histories: list[History], labels: list[str], th: Thresholds) -> tuple[list[Chart], list[str]]:
    """Each metric of every run on one chart (a colour and a marker per run); eval loss as points."""
    charts, missing = [], []
    for metric in METRICS:
        key, title = metric.key, metric.title
        lines = []
        for i, h in enumerate(histories):
            ln = eval_line(h, key, run=i) if key == "eval_loss" else line_for(h, key, labels[i], run=i)
            if ln is not None:
                ln.name = labels[i]
                lines.append(ln)
        if not lines:
            missing.append(key)
            continue
        log_y = key == "grad_norm" and all(v > 0 for ln in lines for v in ln.values)
        bands = grad_norm_bands(th) if key == "grad_norm" else []
        charts.append(
            Chart(key, title if log_y or key != "grad_norm" else "grad_norm", None, lines, bands, log_y=log_y)
        )
    steps = [s for c in charts for ln in c.lines for s in ln.steps]
    for c in charts:  # one x axis for all: an eval every 15 steps lines up with the train curves
        c.x_range = (min(steps), max(steps)) if steps and max(steps) > min(steps) else None
    return charts, missing
