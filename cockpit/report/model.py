"""What a report says, computed once from a History; the renderers only lay it out."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cockpit.columns import finite, minmax_points
from cockpit.history import History
from cockpit.thresholds import Thresholds

CHARTS = (("loss", "loss"), ("grad_norm", "grad_norm"), ("entropy", "entropy"), ("learning_rate", "learning rate"),
          ("mem_used", "memory"), ("tokens_per_s", "tokens/s"))
MAX_POINTS = 400


@dataclass
class Chart:
    key: str
    title: str
    steps: list[int]
    values: list[float]
    bands: list[tuple[float, str]] = field(default_factory=list)
    marks: list[int] = field(default_factory=list)


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


def _fmt_t(t: float | None) -> str:
    return datetime.fromtimestamp(t).strftime("%Y-%m-%d %H:%M:%S") if t else "-"


def _dur(a: float | None, b: float | None) -> str:
    if not a or not b:
        return "-"
    s = int(b - a)
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}h{m:02d}m{s:02d}s" if h else f"{m}m{s:02d}s"


def build_report(h: History, log, width: int = 100) -> Report:
    cfg = h.config
    th = Thresholds.from_config(cfg)
    rs = h.run_started or {}
    mark_steps = [m.step for m in h.marks if m.kind in ("ack", "guard", "checkpoint", "merge")]
    charts, missing = [], []
    for key, title in CHARTS:
        if not h.has(key):
            missing.append(title)
            continue
        s, v = minmax_points(h.steps, h.series[key], MAX_POINTS)
        bands: list[tuple[float, str]] = []
        if key == "grad_norm":
            bands = [(th.grad_norm_high, "normal max"), (th.grad_norm_danger, "danger"),
                     (th.grad_norm_explosion, "explosion")]
        elif key == "mem_used":
            tot = h.last("mem_total")
            if tot == tot and h.mem_kind == "vram":
                bands = [(tot * th.memory_warn, "warn"), (tot * th.memory_danger, "danger")]
            if h.mem_kind != "vram":
                title = "memory (process RAM)"
        charts.append(Chart(key, title, s, v, bands, mark_steps))
    from cockpit.report.eval_charts import eval_charts, eval_summary  # eval_loss, general_eval_loss

    charts.extend(eval_charts(h))
    loss_steps, losses = finite(h.steps, h.series["loss"])
    summary = [("steps", f"{h.step}" + (f" / {h.total_steps}" if h.total_steps else "")),
               ("logged points", str(len(h))), ("state", h.state)]
    if h.first_event_t:
        summary += [("started", _fmt_t(h.first_event_t)), ("duration", _dur(h.first_event_t, h.last_event_t))]
    if len(losses):
        b = int(losses.argmin())
        summary += [("first loss", f"{losses[0]:.4g} (step {loss_steps[0]})"),
                    ("best loss", f"{losses[b]:.4g} (step {loss_steps[b]})"),
                    ("final loss", f"{losses[-1]:.4g} (step {loss_steps[-1]})")]
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
        summary.append(("mean tokens/s", f"{float(tps.mean()):,.0f}"))
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

    adv = advise(h)
    tl = timeline(h, final=adv.findings)
    acts = [(m.step, m.kind, m.label) for m in h.marks if m.kind in ("ack", "guard", "checkpoint", "merge", "state")]
    nxt = f"{adv.next_action.label}: {adv.next_action.description}" if adv.next_action else None
    return Report(log.title, str(log.source), summary, charts, missing, tl, acts, adv.verdict, nxt, log.stats.bad)
