"""A comparison as one self-contained HTML page: runs table with verdicts, config difference, overlaid
inline-SVG charts (one colour per run)."""

from __future__ import annotations

from html import escape as e

from cockpit.compare.model import NUMBER_COLUMNS, CompareReport
from cockpit.compare.study_rows import STATE_ICON
from cockpit.report.html import page
from cockpit.report.svg import RUN_COLORS, SEVERITY_COLOR, svg_chart

VERDICT_SEVERITY = {
    "good": "ok",
    "too_low": "warn",
    "too_short": "warn",
    "rising": "danger",
    "too_high": "danger",
    "failed": "critical",
}
"""A sweep verdict's colour, as the severity it amounts to."""


def _swatch(i: int) -> str:
    color = RUN_COLORS[i % len(RUN_COLORS)]
    return f'<i style="display:inline-block;width:14px;height:4px;margin:0 6px 3px 0;background:{color}"></i>'


def _verdict(v: str | None) -> str:
    if not v:
        return "-"
    color = SEVERITY_COLOR.get(VERDICT_SEVERITY.get(v.split()[0], ""), "#222")
    return f'<b style="color:{color}">{e(v)}</b>'


def _stages(r: CompareReport) -> str:
    """A study's stages: what each decided, why, from which runs (nothing for other comparisons)."""
    if not r.stages:
        return ""
    head = "<tr><th>stage</th><th>state</th><th>decision</th><th>why</th><th>runs</th></tr>"
    rows = "".join(
        f"<tr><td class=name>{x.stage} {e(x.name)}</td><td class=name>{STATE_ICON.get(x.state, '')} {e(x.state)}</td>"
        f"<td>{e(x.decision)}</td><td>{e(x.why)}</td><td>{e(x.runs)}</td></tr>"
        for x in r.stages
    )
    return f"<h2>Study: the SOP's stages</h2><p>state: {e(r.study_state)}</p><table>{head}{rows}</table>"


def render_html(r: CompareReport) -> str:
    groups = len({x.group for x in r.runs}) > 1  # one sweep's trials: its name is the title already
    verdicts = any(x.verdict for x in r.runs)
    columns = (
        "run",
        *(("from",) if groups else ()),
        *(("verdict",) if verdicts else ()),
        "state",
        "steps",
        *NUMBER_COLUMNS,
    )
    head = "".join(f"<th>{e(h)}</th>" for h in columns)
    rows = "".join(
        f"<tr class=run><td class=name>{_swatch(i)}{e(x.label)}</td>"
        + (f"<td class=name>{e(x.group or '-')}</td>" if groups else "")
        + (f"<td class=name title='{e(x.reason or '')}'>{_verdict(x.verdict)}</td>" if verdicts else "")
        + f"<td>{e(x.state)}</td><td class=num>{e(x.steps)}</td>"
        + "".join(f"<td class=num>{e(x.numbers[k])}</td>" for k in NUMBER_COLUMNS)
        + f"</tr><tr class=sub><td></td><td colspan={len(columns) - 1}>advisor: {e(x.advisor)}"
        + (f" &nbsp;·&nbsp; sweep: {e(x.reason)}" if x.reason else "")
        + "</td></tr>"
        for i, x in enumerate(r.runs)
    )
    if r.diff:
        dh = "<tr><th>key</th>" + "".join(f"<th>{_swatch(i)}{e(x.label)}</th>" for i, x in enumerate(r.runs)) + "</tr>"
        diff = (
            "<table>"
            + dh
            + "".join(
                f"<tr><th>{e(k)}</th>" + "".join(f"<td>{e(v)}</td>" for v in vals) + "</tr>" for k, vals in r.diff
            )
            + "</table>"
        )
    else:
        diff = "<p>none: every run has the same config (or the logs record none)</p>"
    notes = "".join(f"<p>skipped: {e(n)}</p>" for n in r.notes)
    charts = "".join(f"<figure>{svg_chart(c, names=r.names)}</figure>" for c in r.charts)
    missing = f"<p>no run logged: {e(', '.join(r.missing))}</p>" if r.missing else ""
    body = (
        f"<h1>Compare: {e(r.title)}</h1><h2>Runs ({len(r.runs)})</h2><table>{head}{rows}</table>{notes}"
        f"{_stages(r)}"
        f"<h2>Config difference</h2>{diff}<h2>Charts</h2>"
        "<p>One colour per run. Thick lines are smoothed (EMA) over the faint raw values; eval loss is dashed "
        "with a dot at each evaluation. grad_norm's shades are the cockpit's bands, each from its line up: "
        f"normal max, danger (the explosion precursor), explosion.</p>{charts}{missing}"
    )
    return page(f"Compare: {r.title}", body)
