"""What a report says, computed once from a History; the renderers only lay it out."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cockpit.durations import span
from cockpit.history import History
from cockpit.logs.columns import finite
from cockpit.report.charts import Chart, run_charts
from cockpit.report.eval_summary import eval_summary
from cockpit.report.samples import SampleRow, sample_rows
from cockpit.report.units import fmt_value
from cockpit.thresholds import Thresholds


@dataclass
class Report:
    title: str
    source: str
    summary: list[tuple[str, str]]
    charts: list[Chart]
    missing: list[str]
    timeline: list[dict[str, Any]]
    actions: list[tuple[int, str, str]]
    verdict: str
    next_action: str | None
    skipped_lines: int
    samples: list[SampleRow] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """How the log was read, when there is something to say (foreign lines, steps out of order)."""


def _fmt_t(t: float | None) -> str:
    return datetime.fromtimestamp(t).strftime("%Y-%m-%d %H:%M:%S") if t else "-"


def action_label(kind: str, label: str) -> str:
    """A mark's label without its kind repeated: the table already has a kind column ("state: finished",
    not "state: state finished")."""
    return label[len(kind) :].strip() if label.startswith(kind + " ") else label


def build_report(h: History, log, width: int = 100) -> Report:
    cfg = h.config
    th = Thresholds.from_config(cfg)
    rs = h.run_started or {}
    loss_steps, losses = finite(h.steps, h.series["loss"])
    from cockpit.run_kind import RunKind

    summary = [
        ("kind", RunKind.of(h).label),
        ("steps", f"{h.step}" + (f" / {h.total_steps}" if h.total_steps else "")),
        ("logged points", str(len(h))),
        ("state", h.state),
    ]
    if h.first_event_t:
        took = h.last_event_t - h.first_event_t if h.last_event_t else None
        summary += [("started", _fmt_t(h.first_event_t)), ("duration", span(took))]
    if len(losses):
        b = int(losses.argmin())
        summary += [
            ("first loss", f"{losses[0]:.4g} (step {loss_steps[0]})"),
            ("best loss", f"{losses[b]:.4g} (step {loss_steps[b]})"),
            ("final loss", f"{losses[-1]:.4g} (step {loss_steps[-1]})"),
        ]
    ev = h.eval_series.get("eval_loss")
    if ev:
        fin = [(s, v) for s, v in zip(h.eval_steps, ev) if math.isfinite(v)]
        if fin:
            b = min(fin, key=lambda p: p[1])
            summary += [("best eval_loss", f"{b[1]:.4g} (step {b[0]})"), ("final eval_loss", f"{fin[-1][1]:.4g}")]
    summary += eval_summary(h)
    _, mem = finite(h.steps, h.series["mem_used"])
    peak = float(mem.max()) if len(mem) else None
    if peak:
        summary.append(("peak memory", f"{peak / 2**30:.2f} GiB ({'VRAM' if h.mem_kind == 'vram' else 'process RAM'})"))
    _, tps = finite(h.steps, h.series["tokens_per_s"])
    if len(tps):
        summary.append(("mean throughput", f"{float(tps.mean()):,.0f} tokens/s"))
    toks = h.last("num_tokens")
    if toks == toks:
        summary.append(("tokens seen", f"{toks:,.0f}"))
    if rs.get("trainable_params"):
        tot = rs.get("total_params")
        summary.append(("trainable params", f"{rs['trainable_params']:,}" + (f" of {tot:,}" if tot else "")))
    if rs.get("device"):
        summary.append(("device", f"{rs['device']}" + (f" x{h.world_size}" if h.world_size > 1 else "")))
    from cockpit.advisor import advise
    from cockpit.advisor.diagnose import timeline

    lr = h.last("learning_rate")
    if lr == lr:
        summary.append(("final lr", fmt_value(lr, "lr")))
    adv = advise(h)
    tl = timeline(h, final=adv.findings)
    charts, missing = run_charts(h, th, tl)
    acts = [
        (m.step, m.kind, action_label(m.kind, m.label))
        for m in h.marks
        if m.kind in ("ack", "guard", "checkpoint", "merge", "state")
    ]
    nxt = f"{adv.next_action.label}: {adv.next_action.description}" if adv.next_action else None
    if nxt and adv.next_action.config_patch and h.script is not None:  # a user's script: their names
        from cockpit.own.user_terms import in_user_terms

        nxt += f" (a new run of your script with {in_user_terms(adv.next_action.config_patch, h.script)})"
    return Report(
        log.title,
        str(log.source),
        summary,
        charts,
        missing,
        tl,
        acts,
        adv.verdict,
        nxt,
        log.stats.bad,
        samples=sample_rows(h.samples),
        notes=list(log.stats.notes),
    )
