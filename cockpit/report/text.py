"""Terminal and Markdown renderings of a report (plotext text charts)."""

from __future__ import annotations

import re

from cockpit.report.model import Chart, Report
from cockpit.severity import ICON

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def chart_text(c: Chart, width: int, height: int = 12) -> str:
    import plotext as plt

    plt.clear_figure()
    plt.plotsize(width, height)
    plt.theme("clear")
    plt.title(c.title)
    if c.steps:
        plt.plot(c.steps, c.values, marker="braille")
        top = max(c.values)
        for y, name in c.bands:
            if y <= top * 2:
                plt.hline(y)
        for s in sorted(set(c.marks))[:40]:
            plt.vline(s)
    plt.xlabel("step" + ("   (vertical lines: operator actions / guards)" if c.marks else ""))
    return ANSI.sub("", plt.build())


def _sections(r: Report, width: int):
    yield "title", f"Report: {r.title}"
    yield "p", f"source: {r.source}" + (f"  ({r.skipped_lines} unreadable line(s) skipped)" if r.skipped_lines else "")
    yield "h", "Summary"
    yield "table", [(k, v) for k, v in r.summary]
    yield "p", f"verdict: {r.verdict}"
    if r.next_action:
        yield "p", f"next action: {r.next_action}"
    yield "h", "Charts"
    for c in r.charts:
        band_note = ("  bands: " + ", ".join(f"{name} {y:.3g}" for y, name in c.bands)) if c.bands else ""
        yield "chart", (chart_text(c, width), band_note)
    if r.missing:
        yield "p", "not in this log: " + ", ".join(r.missing)
    yield "h", "Findings timeline"
    if r.timeline:
        yield "table", [(f"{ICON[f['severity']]} {f['severity']}",
                         f"steps {f['first_step']}-{f['last_step']}  {f['rule']}: {f['message']}") for f in r.timeline]
    else:
        yield "p", "none: no SOP rule fired"
    yield "h", "Operator actions and trainer decisions"
    if r.actions:
        yield "table", [(f"step {s}", f"{kind}: {label}") for s, kind, label in r.actions]
    else:
        yield "p", "none recorded"


def render_text(r: Report, width: int = 100) -> str:
    out = []
    for kind, body in _sections(r, width):
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
    return "\n".join(out)


def render_markdown(r: Report, width: int = 100) -> str:
    out = []
    for kind, body in _sections(r, width):
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
            if body[1]:
                out.append(body[1] + "\n")
    return "\n".join(out)
