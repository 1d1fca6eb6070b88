"""Terminal and Markdown renderings of a report (plotext text charts)."""

from __future__ import annotations

import re

from cockpit.report.charts import Band, Chart, mark_groups
from cockpit.report.model import Report
from cockpit.report.units import fmt_value, round_y_axis, step_axis
from cockpit.severity import ICON

ANSI = re.compile(r"\x1b\[[0-9;]*m")

MARKERS = ("braille", "•", "x", "+", "o", "*", "#", "%")
"""One marker per run, so overlaid runs read apart without colour (Markdown and pipes lose it)."""
SINGLE_RUN_MARKERS = ("braille", "o", "x", "+", "*", "#", "%")
"""One run's lines in their order (train, eval, general eval, ...): one marker each."""
MARKER_SHOWN = {"braille": "⠶"}
"""How the legend writes a marker that plotext draws as dots."""


def chart_text(c: Chart, width: int, height: int = 12, smoothed: bool = False, per_run: bool = False) -> str:
    """The chart drawn with plotext. `smoothed`: draw each train line's EMA instead of its raw values
    (several runs' raw lines on one text chart are unreadable). `per_run`: a marker and a legend entry
    per run even when only one run has this metric (a comparison)."""
    import plotext as plt

    plt.clear_figure()
    plt.plotsize(width, height)
    plt.theme("clear")
    plt.title(c.title)
    values: list[float] = []
    many = per_run or len({ln.run for ln in c.lines}) > 1
    legend: list[tuple[str, str]] = []
    own = iter(SINGLE_RUN_MARKERS)
    for ln in c.lines:
        ys = ln.smooth if smoothed and ln.smooth else ln.values
        pts = [(s, y) for s, y in zip(ln.steps, ys) if y == y and (y > 0 or not c.log_y)]
        if not pts:
            continue
        # A marker per run in a comparison; in one run's chart a marker per line (eval and general eval
        # loss both drew `o` and read as one series).
        marker = MARKERS[ln.run % len(MARKERS)] if many else next(own, "*")
        # Beside a train curve, evaluations are points; on their own chart (a comparison) a line per run.
        draw = plt.scatter if ln.kind == "eval" and not per_run else plt.plot
        draw([p[0] for p in pts], [p[1] for p in pts], marker=marker)
        if (many or len(c.lines) > 1) and (MARKER_SHOWN.get(marker, marker), ln.name) not in legend:
            legend.append((MARKER_SHOWN.get(marker, marker), ln.name))
        values += [p[1] for p in pts]
    if not values:
        return ANSI.sub("", plt.build())
    lo, hi = min(values), max(values)
    hlines = _visible_bands(c, hi)
    for y in hlines:
        plt.hline(y)
    lo, hi = min([lo, *hlines]), max([hi, *hlines])
    round_y_axis(plt, lo, hi, c.log_y, c.unit, target=max(3, height // 3))
    steps = [s for ln in c.lines for s in ln.steps]
    s0, s1 = c.x_range or (min(steps), max(steps))
    if c.x_range:
        plt.xlim(s0, s1)
    step_axis(plt, s0, s1, target=max(3, width // 14))
    for s in _mark_steps(c):
        plt.vline(s)
    plt.xlabel("step")
    text = ANSI.sub("", plt.build())
    # The legend goes under the chart: plotext's, in the top-left corner, hid the data it named (a study's
    # 60-step trials sat right under it).
    return text.rstrip("\n") + ("\n  " + "   ".join(f"{sym} {name}" for sym, name in legend) if legend else "")


def _visible_bands(c: Chart, top: float) -> list[float]:
    """The band lines worth drawing: those up to twice the highest value (an explosion bound of 50 would
    squash a run that never passed 2)."""
    return [y for y in sorted({b.lo for b in c.bands}) if y <= top * 2]


def _mark_steps(c: Chart) -> list[int]:
    return sorted({m.step for m in c.marks})[:40]


def caption(c: Chart, smoothed: bool = False) -> str:
    """What the lines on a text chart are: band lines by the cockpit's names with their values, markers
    with their steps."""
    parts = []
    top = max((v for ln in c.lines for v in ln.values), default=0.0)
    edges = _visible_bands(c, top)
    if edges:
        parts.append("horizontal lines: " + ", ".join(_at(b, c.unit) for b in c.bands if b.lo in edges))
    hidden = [b for b in c.bands if b.lo not in edges]
    if hidden:
        parts.append("off the chart: " + ", ".join(_at(b, c.unit) for b in hidden))
    if c.marks:
        parts.append("vertical lines: " + "; ".join(f"step {s} {label}" for s, _, label in mark_groups(c.marks)))
    if smoothed:
        parts.append("lines are smoothed (EMA)")
    return "\n".join("  " + p for p in parts)


def _at(b: Band, unit: str | None) -> str:
    return f"{b.name} at {fmt_value(b.lo, unit)}"


def _sections(r: Report, width: int):
    yield "title", f"Report: {r.title}"
    yield "p", f"source: {r.source}" + (f"  ({r.skipped_lines} unreadable line(s) skipped)" if r.skipped_lines else "")
    for note in r.notes:
        yield "p", f"note: {note}"
    yield "h", "Summary"
    yield "table", [(k, v) for k, v in r.summary]
    yield "p", f"verdict: {r.verdict}"
    if r.next_action:
        yield "p", f"next action: {r.next_action}"
    yield "h", "Charts"
    for c in r.charts:
        yield "chart", (chart_text(c, width), caption(c))
    if r.missing:
        yield "p", "not in this log: " + ", ".join(r.missing)
    yield "h", "Findings timeline"
    if r.timeline:
        yield (
            "table",
            [
                (
                    f"{ICON[f['severity']]} {f['severity']}",
                    f"steps {f['first_step']}-{f['last_step']}  {f['rule']}: {f['message']}",
                )
                for f in r.timeline
            ],
        )
    else:
        yield "p", "none: no SOP rule fired"
    yield "h", "Operator actions and trainer decisions"
    if r.actions:
        yield "table", [(f"step {s}", f"{kind}: {label}") for s, kind, label in r.actions]
    else:
        yield "p", "none recorded"
    if r.samples:
        yield "h", "Samples (first and last generation of each prompt)"
        for row in r.samples:
            yield "p", ("general prompt (forgetting): " if row.general else "prompt: ") + row.prompt
            gens = [row.first] + ([row.last] if row.last else [])
            yield "table", [(f"step {step}", repr(text)) for step, text in gens]


def render_text(r: Report, width: int = 100) -> str:
    return layout_text(_sections(r, width), width)


def render_markdown(r: Report, width: int = 100) -> str:
    return layout_markdown(_sections(r, width))


def layout_text(sections, width: int) -> str:
    out = []
    for kind, body in sections:
        if kind == "title":
            out.append(body)
            out.append("=" * min(width, len(body)))
        elif kind == "h":
            out.append("")
            out.append(body)
            out.append("-" * len(body))
        elif kind == "p":
            out.append(body)
        elif kind == "table":
            w = max((len(k) for k, _ in body), default=0)
            out.extend(f"  {k:<{w}}  {v}" for k, v in body)
        elif kind == "chart":
            out.append(body[0])
            if body[1]:
                out.append(body[1])
            out.append("")
    return "\n".join(out)


def layout_markdown(sections) -> str:
    out = []
    for kind, body in sections:
        if kind == "title":
            out.append(f"# {body}\n")
        elif kind == "h":
            out.append(f"\n## {body}\n")
        elif kind == "p":
            out.append(body + "\n")
        elif kind == "table":
            out.append("| | |\n|---|---|")
            out.extend(f"| {k} | {str(v).replace('|', '/')} |" for k, v in body)
            out.append("")
        elif kind == "chart":
            out.append("```text\n" + body[0] + "\n```")
            if body[1]:  # the caption's lines as a list: Markdown would run them into one paragraph
                out.append("\n".join(f"- {ln.strip()}" for ln in body[1].splitlines() if ln.strip()) + "\n")
    return "\n".join(out)
