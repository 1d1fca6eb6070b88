"""A comparison as terminal text and as Markdown: the runs table, the config difference, overlaid
plotext charts (a marker per run, smoothed lines)."""

from __future__ import annotations

import textwrap

from cockpit.compare.model import NUMBER_COLUMNS, CompareReport
from cockpit.compare.study_rows import STATE_ICON
from cockpit.report.text import caption, chart_text, layout_markdown, layout_text


def _run_grid(r: CompareReport) -> list[list[str]]:
    head = ["run", "from", "verdict", "state", "steps", *NUMBER_COLUMNS]
    rows = [
        [x.label, x.group or "-", x.verdict or "-", x.state, x.steps, *(x.numbers[k] for k in NUMBER_COLUMNS)]
        for x in r.runs
    ]
    if len({x.group for x in r.runs}) <= 1:  # one sweep's trials: its name is the title already
        head, rows = [h for h in head if h != "from"], [row[:1] + row[2:] for row in rows]
    if not any(x.verdict for x in r.runs):
        i = head.index("verdict")
        head, rows = head[:i] + head[i + 1 :], [row[:i] + row[i + 1 :] for row in rows]
    return [head, *rows]


def _sections(r: CompareReport, width: int):
    yield "title", f"Compare: {r.title}"
    yield "h", f"Runs ({len(r.runs)})"
    yield "grid", _run_grid(r)
    yield "p", ""
    yield "table", [(x.label, f"advisor: {x.advisor}" + (f"  sweep: {x.reason}" if x.reason else "")) for x in r.runs]
    for note in r.notes:
        yield "p", f"skipped: {note}"
    if r.stages:
        yield "h", "Study: the SOP's stages"
        yield "p", f"  state: {r.study_state}"
        yield "stages", r.stages
    yield "h", "Config difference"
    if r.diff:
        yield "grid", [["key", *(x.label for x in r.runs)], *([k, *vals] for k, vals in r.diff)]
    else:
        yield "p", "none: every run has the same config (or the logs record none)"
    yield "h", "Charts"
    for c in r.charts:
        note = caption(c)
        how = "one marker per run" + ("" if c.key == "eval_loss" else ", lines smoothed (EMA)")
        note = (note + "\n" if note else "") + f"  {how}; the legend is under the chart"
        yield "chart", (chart_text(c, width, smoothed=True, per_run=True), note)
    if r.missing:
        yield "p", "no run logged: " + ", ".join(r.missing)


def _grid_text(rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  " + "  ".join("-" * w for w in widths))
    return lines


def _grid_md(rows: list[list[str]]) -> str:
    esc = [[c.replace("|", "/") for c in row] for row in rows]
    out = ["| " + " | ".join(esc[0]) + " |", "|" + "---|" * len(esc[0])]
    return "\n".join(out + ["| " + " | ".join(row) + " |" for row in esc[1:]]) + "\n"


def render_text(r: CompareReport, width: int = 100) -> str:
    out = []
    for kind, body in _sections(r, width):
        if kind == "stages":
            out.append("\n".join(_stages_text(body, width)))
        else:
            out.append("\n".join(_grid_text(body)) if kind == "grid" else layout_text([(kind, body)], width))
    return "\n".join(out)


def render_markdown(r: CompareReport, width: int = 100) -> str:
    out = []
    for kind, body in _sections(r, width):
        if kind == "stages":
            body = [["stage", "state", "decision", "runs", "why"]] + [
                [f"{x.stage} {x.name}", f"{STATE_ICON.get(x.state, '')} {x.state}", x.decision, x.runs, x.why]
                for x in body
            ]
        out.append(_grid_md(body) if kind in ("grid", "stages") else layout_markdown([(kind, body)]))
    return "\n".join(out)


def _stages_text(stages, width: int) -> list[str]:
    """A stage a line (number, name, state, the decision it carried), its reason and runs wrapped under it:
    a reason runs to 120 characters, too long for a column."""
    lines = []
    name_w = max(len(f"{x.stage} {x.name}") for x in stages)
    for x in stages:
        lines.append(f"  {f'{x.stage} {x.name}':<{name_w}}  {STATE_ICON.get(x.state, ' ')} {x.state:<8} {x.decision}")
        for label, text in (("why", x.why), ("runs", x.runs if x.runs != "-" else "")):
            if text:
                lines += textwrap.wrap(f"{label}: {text}", width - 6, initial_indent=" " * 6, subsequent_indent=" " * 8)
    return lines
