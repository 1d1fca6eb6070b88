"""The report's charts as data: lines (raw and smoothed), shaded danger bands, shaded findings, labelled
marks. Built once from a History (or several, for a comparison); the text and HTML renderers only draw."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cockpit.bands import ranges
from cockpit.history import History
from cockpit.logs.columns import finite
from cockpit.logs.downsample import minmax_points
from cockpit.logs.foreign import not_in_format
from cockpit.report.units import UNIT_OF, scale_for
from cockpit.thresholds import Thresholds

MAX_POINTS = 400
MARK_KINDS = ("ack", "guard", "checkpoint", "merge")
"""Events drawn as labelled vertical markers: operator actions, guards, checkpoints, merges."""


@dataclass
class Line:
    """One curve: a metric of one run, already in display units (memory in GiB)."""

    name: str
    steps: list[int]
    values: list[float]
    smooth: list[float] | None = None
    """An EMA over the raw values at the same steps; drawn bold over the faint raw line."""
    kind: str = "train"
    """train | eval (eval points are sparse: drawn as dots joined by a dashed line)."""
    run: int = 0
    """Which run it belongs to (a colour per run in a comparison)."""


@dataclass
class Band:
    """A shaded y range from one of the cockpit's band lines to the next (grad_norm, memory); `name` is
    the line's at its low edge."""

    lo: float
    hi: float
    name: str
    severity: str  # ok | warn | danger | critical


@dataclass
class Mark:
    step: int
    kind: str  # ack | guard | checkpoint | merge
    label: str


@dataclass
class Span:
    """A finding shaded over the steps it spans."""

    first: int
    last: int
    severity: str
    label: str


@dataclass
class Chart:
    key: str
    title: str
    unit: str | None
    lines: list[Line]
    bands: list[Band] = field(default_factory=list)
    marks: list[Mark] = field(default_factory=list)
    spans: list[Span] = field(default_factory=list)
    log_y: bool = False
    x_range: tuple[int, int] | None = None
    """Steps the x axis spans when not its own lines' (a comparison's charts share one axis)."""


def ema(values: Sequence[float], span: float) -> list[float]:
    """Exponential moving average, debiased at the start (as TensorBoard's smoothing) so the first
    points are not pulled towards zero; non-finite values are skipped (the average carried over them),
    not propagated; NaN before the first finite value."""
    v = np.asarray(values, dtype=np.float64)
    ok = np.isfinite(v)
    fin = v[ok]
    smoothed = ema_at(fin, span, np.arange(len(fin)))
    last = np.cumsum(ok) - 1  # the finite value at or before each point
    return np.where(last >= 0, smoothed[np.maximum(last, 0)] if len(fin) else 0.0, np.nan).tolist()


EMA_CHUNK_DECADES = 100
"""How far the decay may fall within one chunk of `ema_at` (to 1e-100): its inverse stays far from
float64's overflow, and a chunk still holds thousands of points at the spans a report uses."""


def ema_at(x: np.ndarray, span: float, at: np.ndarray) -> np.ndarray:
    """The debiased EMA of the finite values `x`, at the sorted positions `at` only. Vectorised: a run's
    100,000 points in a Python loop cost more than the rest of its charts. With d = 1 - alpha, the
    average after point i is alpha * sum_{j<=i} d^(i-j) x_j, and its weight 1 - d^(i+1); the sum is a
    cumulative sum of x_j d^-j, taken in chunks short enough for d^-j to stay finite."""
    alpha = 2.0 / (span + 1.0)
    d = 1.0 - alpha
    at = np.asarray(at, dtype=np.int64)
    if d <= 0.0 or not len(x):
        return x[at]
    out = np.empty(len(at))
    chunk = min(len(x), max(1, int(EMA_CHUNK_DECADES / -math.log10(d))))
    decays = d ** np.arange(1, chunk + 1)
    grow = 1.0 / decays
    acc = 0.0  # the undebiased average before the chunk
    for start in range(0, len(x), chunk):
        seg = x[start : start + chunk]
        sums = np.cumsum(seg * grow[: len(seg)])
        lo, hi = np.searchsorted(at, (start, start + len(seg)))
        i = at[lo:hi] - start
        out[lo:hi] = decays[i] * (acc + alpha * sums[i])
        acc = float(decays[len(seg) - 1] * (acc + alpha * sums[-1]))
    return out / (1.0 - d ** (at + 1.0))


def smooth_span(n: int) -> float:
    """How many points the EMA averages: a twentieth of the run, between 1 (no smoothing: under 40
    points every one is worth seeing) and 50."""
    return float(min(50, max(1, n // 20)))


def line_for(h: History, key: str, name: str, run: int = 0, smooth: bool = True) -> Line | None:
    """A metric's line: finite points, the EMA computed on all of them, then at most MAX_POINTS kept
    (min and max of each bucket, so a spike survives); None when the run never logged it."""
    st, v = finite(h.steps, h.series[key])
    if not len(v):
        return None
    v = v / scale_for(key)
    span = smooth_span(len(v))
    keep, _ = minmax_points(np.arange(len(v)), v, MAX_POINTS)  # the positions of the points drawn
    sm = ema_at(v, span, keep).tolist() if smooth and span > 1 else None
    return Line(name, st[keep].tolist(), v[keep].tolist(), sm, "train", run)


def eval_line(h: History, key: str = "eval_loss", run: int = 0) -> Line | None:
    ev = h.eval_series.get(key)
    if not ev:
        return None
    st, v = finite(h.eval_steps, ev)
    if not len(v):
        return None
    s_out, v_out = minmax_points(st, v, MAX_POINTS)
    return Line(key, s_out, v_out, None, "eval", run)


def bands_of(key: str, th: Thresholds, total: float | None = None) -> list[Band]:
    """The ranges the cockpit's charts draw lines at (`cockpit.bands`), shaded, in display units."""
    return [Band(lo, hi, name, severity) for lo, hi, name, severity in ranges(key, th, total)]


def grad_norm_bands(th: Thresholds) -> list[Band]:
    return bands_of("grad_norm", th)


def memory_bands(h: History, th: Thresholds) -> list[Band]:
    """Against the device's memory only: a process's RAM has no limit worth a line."""
    total = h.last("mem_total")
    if h.mem_kind != "vram" or not total == total or not total:
        return []
    return bands_of("mem_used", th, total / scale_for("mem_used"))


def marks_of(h: History) -> list[Mark]:
    return [Mark(m.step, m.kind, short_label(m.kind, m.label, m.event)) for m in h.marks if m.kind in MARK_KINDS]


MARK_RANK = ("guard", "ack", "merge", "checkpoint")
"""Several marks on one step share one line, coloured by the weightiest (a guard over its checkpoint)."""


def mark_groups(marks: list[Mark]) -> list[tuple[int, str, str]]:
    """(step, kind, label) per step that has marks, in step order."""
    by_step: dict[int, list[Mark]] = {}
    for m in marks:
        by_step.setdefault(m.step, []).append(m)
    out = []
    for step, ms in sorted(by_step.items()):
        kind = min((m.kind for m in ms), key=lambda k: MARK_RANK.index(k) if k in MARK_RANK else len(MARK_RANK))
        # `save` is acked "checkpoint at step N" and then its checkpoint is marked: say it once
        labels = [m.label for m in ms if not (m.kind == "ack" and m.label.startswith("checkpoint at"))]
        out.append((step, kind, " · ".join(dict.fromkeys(labels or [ms[0].label]))))
    return out


def short_label(kind: str, label: str, ev: dict[str, Any]) -> str:
    """A marker's label, short enough to sit above a chart: `lr 2e-4 -> 1e-4`, `ckpt 50`, `guard: rule`."""
    if kind == "checkpoint":
        return f"ckpt {ev.get('step', '')}".strip()
    if kind == "guard":
        return f"guard {ev.get('rule') or ''}".strip()
    if kind == "ack":
        if ev.get("ok") and ev.get("change"):
            return str(ev["change"])
        return f"{ev.get('cmd', 'command')}{'' if ev.get('ok') else ' refused'}"
    return label[:40]


CHART_OF_RULE = (
    ("grad_norm", "grad_norm"),
    ("update", "grad_norm"),
    ("entropy", "entropy"),
    ("fake_learning", "entropy"),
    ("memory", "mem_used"),
    ("lr", "learning_rate"),
    ("warmup", "learning_rate"),
    ("data_", "tokens_per_s"),
    ("padding", "tokens_per_s"),
)
"""The chart a finding is shaded on: the metric its rule reads (rule id prefixes); the rest go on the loss."""


def chart_of_rule(rule: str) -> str:
    return next((key for prefix, key in CHART_OF_RULE if rule.startswith(prefix)), "loss")


def spans_of(timeline: list[dict[str, Any]], key: str) -> list[Span]:
    """The findings a chart shades: warn and worse whose rule reads its metric, over first..last step."""
    out = []
    for f in timeline:
        if chart_of_rule(str(f.get("rule", ""))) != key:
            continue
        if f.get("severity") in ("warn", "danger", "critical") and f.get("first_step") is not None:
            last = f.get("last_step") if f.get("last_step") is not None else f["first_step"]
            out.append(Span(int(f["first_step"]), int(last), f["severity"], str(f.get("rule", ""))))
    return out


TITLES = {
    "loss": "loss (train, eval)",
    "grad_norm": "grad_norm (log scale)",
    "entropy": "entropy",
    "learning_rate": "learning rate",
    "mem_used": "memory, GiB",
    "tokens_per_s": "throughput, tokens/s",
}


LINE_NAMES = {"loss": "train loss", "mem_used": "memory", "tokens_per_s": "tokens/s", "learning_rate": "lr"}
SMOOTHED = ("loss", "grad_norm", "entropy", "tokens_per_s")
"""Noisy metrics get an EMA; lr and memory are drawn as they are (a step change must stay a step)."""


def run_charts(h: History, th: Thresholds, timeline: list[dict[str, Any]]) -> tuple[list[Chart], list[str]]:
    """One run's charts and the metrics its log does not have."""
    marks = marks_of(h)
    charts, missing = [], []
    for key, title in TITLES.items():
        line = line_for(h, key, LINE_NAMES.get(key, key), smooth=key in SMOOTHED)
        lines = [line] if line else []
        if key == "loss":
            ev = eval_line(h)
            if ev:
                ev.name = "eval loss"
                lines.append(ev)
            general = eval_line(h, "general_eval_loss")  # forgetting: the loss on the general set
            if general:
                general.name = "general eval loss"
                lines.append(general)
            title = "loss (train, eval)" if ev else "loss (train)"
            if general:
                title = title[:-1] + ", general eval)"
        if not lines:
            name = LINE_NAMES.get(key, key).replace("train loss", "loss").replace("lr", "learning rate")
            why = not_in_format(h, key)
            missing.append(f"{name} ({why})" if why else name)
            continue
        bands: list[Band] = []
        if key == "grad_norm":
            bands = grad_norm_bands(th)
        elif key == "mem_used":
            bands = memory_bands(h, th)
            if h.mem_kind != "vram":
                title = "memory (process RAM), GiB"
        log_y = key == "grad_norm" and all(v > 0 for ln in lines for v in ln.values)
        charts.append(
            Chart(
                key,
                title if log_y or key != "grad_norm" else "grad_norm",
                UNIT_OF.get(key),
                lines,
                bands,
                marks,
                spans_of(timeline, key),
                log_y,
            )
        )
    return charts, missing
