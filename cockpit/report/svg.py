"""One chart as inline SVG: y ticks in human units, log or linear axis, shaded danger bands, findings
shaded over their steps, labelled markers, the raw line faint under its EMA. No scripts, no fonts
fetched: the page stays readable offline and in any browser."""

from __future__ import annotations

import math
from html import escape
from typing import Any

from cockpit.report.charts import Chart, Line, mark_groups
from cockpit.report.units import fmt_tick, fmt_value, linear_ticks, log_step, log_ticks

SEVERITY_COLOR = {"ok": "#2e9e44", "warn": "#d7a700", "danger": "#e05a00", "critical": "#b00000"}
MARK_COLOR = {"ack": "#3b6fd6", "guard": "#b00000", "checkpoint": "#4a7f3a", "merge": "#7b3fb0"}
RUN_COLORS = ("#1f4e9a", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")
EVAL_COLOR = "#e07b00"
GENERAL_EVAL_COLOR = "#7b3fb0"
"""The general set's eval loss (forgetting) beside the task's, on one run's loss chart."""


def _eval_color(ln: Line) -> str:
    return GENERAL_EVAL_COLOR if ln.name == "general eval loss" else EVAL_COLOR


MAX_LABELLED_MARKS = 16
HALO = 'stroke="#fff" stroke-width="3" paint-order="stroke"'
"""A white outline under label text, so a label stays readable where it crosses a line or a shade."""


class Frame:
    """The plot area and the data -> pixel mapping of one chart."""

    def __init__(self, c: Chart, w: int, h: int, left: int = 70, right: int = 110, top: int = 50, bottom: int = 36):
        self.x0, self.x1, self.y0, self.y1 = left, w - right, top, h - bottom
        ys = [v for ln in c.lines for v in (*ln.values, *(ln.smooth or ())) if math.isfinite(v)]
        if c.log_y:
            ys = [v for v in ys if v > 0]
        ys = ys or [1.0]
        lo, hi = min(ys), max(ys)
        # Band edges up to twice the data: an explosion bound of 50 would squash a grad_norm that stays
        # under 2. Memory shows its bands whatever the use: how far from the device's limit is the point.
        edges = [
            e
            for b in c.bands
            for e in (b.lo, b.hi)
            if math.isfinite(e) and (c.key == "mem_used" or lo / 2 <= e <= hi * 2)
        ]
        lo, hi = min([lo, *edges]), max([hi, *edges])
        if c.log_y:
            lo = max(lo, hi * 1e-6)  # a value of 1e-30 would spread 30 decades over the axis
            self.lo, self.hi, self.ticks = log_ticks(lo, hi)
            self.labels = [fmt_tick(t, c.unit, log_step(t)) for t in self.ticks]
        else:
            self.lo, self.hi, self.ticks = linear_ticks(lo, hi)
            spacing = self.ticks[1] - self.ticks[0] if len(self.ticks) > 1 else 1.0
            self.labels = [fmt_tick(t, c.unit, spacing) for t in self.ticks]
        self.log = c.log_y
        steps = [s for ln in c.lines for s in ln.steps]
        self.s0, self.s1 = c.x_range or (min(steps), max(steps))
        if self.s1 <= self.s0:
            self.s1 = self.s0 + 1
        _, _, self.xticks = linear_ticks(self.s0, self.s1, target=8)
        self.xticks = [t for t in self.xticks if self.s0 <= t <= self.s1 and t == int(t)]

    def x(self, step: float) -> float:
        return self.x0 + (step - self.s0) / (self.s1 - self.s0) * (self.x1 - self.x0)

    def y(self, v: float) -> float:
        if self.log:
            a, b, v = math.log10(self.lo), math.log10(self.hi), math.log10(max(v, self.lo))
        else:
            a, b = self.lo, self.hi
        frac = (v - a) / (b - a) if b > a else 0.5
        return self.y1 - min(1.0, max(0.0, frac)) * (self.y1 - self.y0)


def svg_chart(c: Chart, w: int = 860, h: int = 280, names: dict[int, str] | None = None) -> str:
    """`names`: the run each line index belongs to, for a comparison's legend (one colour per run)."""
    if not any(ln.steps for ln in c.lines):
        return ""
    f = Frame(c, w, h)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" '
        f'aria-label="{escape(c.title)}" font-family="system-ui,sans-serif">',
        f'<rect x="0" y="0" width="{w}" height="{h}" fill="#ffffff"/>',
    ]
    out += _bands(c, f) + _grid(c, f) + _spans(c, f) + _marks(c, f)
    for ln in c.lines:
        out += _line(ln, f, len({x.run for x in c.lines}) > 1)
    out.append(f'<rect x="{f.x0}" y="{f.y0}" width="{f.x1 - f.x0}" height="{f.y1 - f.y0}" fill="none" stroke="#999"/>')
    out.append(f'<text x="{f.x0}" y="16" font-size="14" font-weight="600">{escape(c.title)}</text>')
    out += _legend(c, f, w, names)
    out.append("</svg>")
    return "".join(out)


def _bands(c: Chart, f: Frame) -> list[str]:
    """Each range shaded, the line it starts at drawn and named as the cockpit's charts name it."""
    out = []
    for b in c.bands:
        top, bottom = min(b.hi, f.hi), max(b.lo, f.lo)
        if top <= bottom:
            continue
        ya, yb = f.y(top), f.y(bottom)
        color = SEVERITY_COLOR[b.severity]
        out.append(
            _tinted(
                f.x0, f"{ya:.1f}", f.x1 - f.x0, f"{yb - ya:.1f}", color, 0.13, f"{b.name} at {fmt_value(b.lo, c.unit)}"
            )
        )
        if b.lo >= f.lo:
            out.append(f'<line x1="{f.x0}" x2="{f.x1}" y1="{yb:.1f}" y2="{yb:.1f}" stroke="{color}" stroke-width="1"/>')
        out.append(_label(f.x1 + 6, f"{yb - 3:.1f}", 11, color, b.name))
    return out


def _grid(c: Chart, f: Frame) -> list[str]:
    out = []
    for t, label in zip(f.ticks, f.labels):
        y = f.y(t)
        out.append(
            f'<line x1="{f.x0}" x2="{f.x1}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e4e4e4"/>'
            f'<text x="{f.x0 - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end" fill="#444">'
            f"{escape(label)}</text>"
        )
    for s in f.xticks:
        x = f.x(s)
        out.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{f.y1}" y2="{f.y1 + 4}" stroke="#999"/>'
            f'<text x="{x:.1f}" y="{f.y1 + 16}" font-size="11" text-anchor="middle" fill="#444">{int(s)}</text>'
        )
    out.append(
        f'<text x="{(f.x0 + f.x1) / 2:.0f}" y="{f.y1 + 31}" font-size="11" text-anchor="middle" fill="#666">step</text>'
    )
    return out


def _spans(c: Chart, f: Frame) -> list[str]:
    out = []
    for i, sp in enumerate(c.spans):
        if sp.last < f.s0 or sp.first > f.s1:
            continue
        xa, xb = f.x(max(sp.first, f.s0)), f.x(min(sp.last, f.s1))
        xa, xb = (xa - 2, xb + 2) if xb - xa < 4 else (xa, xb)
        color = SEVERITY_COLOR[sp.severity]
        out.append(
            _tinted(
                f"{xa:.1f}",
                f.y0,
                f"{xb - xa:.1f}",
                f.y1 - f.y0,
                color,
                "0.10",
                f"{sp.label}: steps {sp.first}-{sp.last}",
            )
        )
        out.append(
            _label(f"{xa + 3:.1f}", f.y0 + 12 + 12 * (i % 3), 10, color, sp.label, f'font-style="italic" {HALO}')
        )
    return out


def _marks(c: Chart, f: Frame) -> list[str]:
    out = []
    for i, (step, kind, label) in enumerate(s for s in mark_groups(c.marks) if f.s0 <= s[0] <= f.s1):
        x, color = f.x(step), MARK_COLOR.get(kind, "#555")
        out.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{f.y0 - 4}" y2="{f.y1}" stroke="{color}" stroke-width="1.2" '
            f'stroke-dasharray="{"2 2" if kind == "checkpoint" else "5 3"}"><title>step {step}: '
            f"{escape(label)}</title></line>"
        )
        if i < MAX_LABELLED_MARKS:
            anchor = "end" if x > f.x1 - 80 else "start"
            out.append(
                _label(
                    f"{x + (-3 if anchor == 'end' else 3):.1f}",
                    f.y0 - 6 - 11 * (i % 2),
                    10,
                    color,
                    label,
                    f'text-anchor="{anchor}" {HALO}',
                )
            )
    return out


def _tinted(x: Any, y: Any, width: Any, height: Any, color: str, opacity: Any, title: str) -> str:
    """A translucent rectangle (a danger band, a finding's span) whose tooltip is `title`."""
    return (
        f'<rect x="{x}" y="{y}" width="{width}" height="{height}" fill="{color}" fill-opacity="{opacity}">'
        f"<title>{escape(title)}</title></rect>"
    )


def _label(x: Any, y: Any, size: int, color: str, text: str, attrs: str = "") -> str:
    """A small coloured text beside what it names; `attrs`: more SVG attributes (anchor, halo)."""
    more = f" {attrs}" if attrs else ""
    return f'<text x="{x}" y="{y}" font-size="{size}" fill="{color}"{more}>{escape(text)}</text>'


def _points(ln: Line, f: Frame, ys) -> str:
    return " ".join(
        f"{f.x(s):.1f},{f.y(v):.1f}" for s, v in zip(ln.steps, ys) if math.isfinite(v) and (v > 0 or not f.log)
    )


def _line(ln: Line, f: Frame, many: bool) -> list[str]:
    color = RUN_COLORS[ln.run % len(RUN_COLORS)] if many or ln.kind != "eval" else _eval_color(ln)
    if ln.kind == "eval":
        dots = "".join(
            f'<circle cx="{f.x(s):.1f}" cy="{f.y(v):.1f}" r="3" fill="{color}"/>'
            for s, v in zip(ln.steps, ln.values)
            if v > 0 or not f.log
        )
        return [
            f'<polyline fill="none" stroke="{color}" stroke-width="1.5" stroke-dasharray="6 3" '
            f'points="{_points(ln, f, ln.values)}"/>',
            dots,
        ]
    if ln.smooth is None:
        return [f'<polyline fill="none" stroke="{color}" stroke-width="1.6" points="{_points(ln, f, ln.values)}"/>']
    return [
        f'<polyline fill="none" stroke="{color}" stroke-opacity="0.4" stroke-width="1" '
        f'points="{_points(ln, f, ln.values)}"/>',
        f'<polyline fill="none" stroke="{color}" stroke-width="2.2" points="{_points(ln, f, ln.smooth)}"/>',
    ]


def _legend(c: Chart, f: Frame, w: int, names: dict[int, str] | None) -> list[str]:
    items: list[tuple[str, str, str]] = []  # (color, dash, text)
    many = len({ln.run for ln in c.lines}) > 1
    if many:
        for run in sorted({ln.run for ln in c.lines}):
            items.append((RUN_COLORS[run % len(RUN_COLORS)], "", (names or {}).get(run, f"run {run + 1}")))
        if any(ln.kind == "eval" for ln in c.lines):
            items.append(("#555", "6 3", "eval (dashed)"))
    else:
        for ln in c.lines:
            if ln.kind == "eval":
                items.append((_eval_color(ln), "6 3", ln.name))
            else:
                items.append((RUN_COLORS[0], "", f"{ln.name}, EMA over faint raw" if ln.smooth else ln.name))
    # Right-aligned on the title's row: the title is on the left, so they only meet when both are long.
    widths = [34 + 6.2 * len(text) for _, _, text in items]
    x = max(f.x0 + 20 + 9.5 * len(c.title), f.x1 - sum(widths))
    out = []
    for (color, dash, text), width in zip(items, widths):
        if x + width > w:
            break
        out.append(
            f'<line x1="{x:.0f}" x2="{x + 18:.0f}" y1="12" y2="12" stroke="{color}" stroke-width="2.5" '
            f'stroke-dasharray="{dash}"/><text x="{x + 22:.0f}" y="16" font-size="11">{escape(text)}</text>'
        )
        x += width
    return out
