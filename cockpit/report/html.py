"""A self-contained HTML report: inline SVG charts drawn here (no scripts, no network)."""

from __future__ import annotations

from html import escape as e

from cockpit.report.model import Report
from cockpit.report.svg import MARK_COLOR, SEVERITY_COLOR, svg_chart
from cockpit.severity import ICON

STYLE = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222;padding:0 1em}
table{border-collapse:collapse}td,th{border-bottom:1px solid #eee;padding:3px 10px;text-align:left;vertical-align:top}
tr.critical td,tr.danger td{color:#b00000}tr.warn td{color:#8a6d00}figure{margin:1.2em 0}
.key span{display:inline-block;margin-right:1.2em}.sw{display:inline-block;width:14px;height:10px;margin-right:4px}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.name{white-space:nowrap}tr.run td{border-bottom:none}tr.sub td{color:#555;font-size:.9em;padding-bottom:6px}"""


def key_html() -> str:
    """The legend shared by every chart: what the shades and the vertical lines mean."""
    shades = [
        ("warn", "warn band (above normal max) / finding"),
        ("danger", "danger band / finding"),
        ("critical", "explosion / critical finding"),
    ]
    marks = [
        ("ack", "operator action (lr change, pause, ...)"),
        ("guard", "guard (the trainer acted)"),
        ("checkpoint", "checkpoint saved"),
        ("merge", "merge"),
    ]
    parts = [
        f'<span><i class="sw" style="background:{SEVERITY_COLOR[s]};opacity:.35"></i>{e(t)}</span>' for s, t in shades
    ]
    parts += [
        f'<span><i class="sw" style="border-left:2px dashed {MARK_COLOR[k]};width:2px"></i>{e(t)}</span>'
        for k, t in marks
    ]
    return (
        '<p class="key">' + "".join(parts) + "</p><p>Thick lines are smoothed (EMA) over the faint raw values; "
        "eval loss is dashed with a dot at each evaluation. Hover a marker or a shaded span for its details.</p>"
    )


def page(title: str, body: str) -> str:
    return (
        f'<!doctype html><html><head><meta charset="utf-8"><title>{e(title)}</title>'
        f"<style>{STYLE}</style></head><body>{body}</body></html>\n"
    )


def render_html(r: Report) -> str:
    rows = "".join(f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in r.summary)
    charts = "".join(f"<figure>{svg_chart(c)}</figure>" for c in r.charts)
    tl = (
        "".join(
            f"<tr class='{f['severity']}'><td>{ICON[f['severity']]} {e(f['severity'])}</td>"
            f"<td>{f['first_step']}-{f['last_step']}</td><td>{e(f['rule'])}</td><td>{e(f['message'])}</td></tr>"
            for f in r.timeline
        )
        or "<tr><td colspan=4>none: no SOP rule fired</td></tr>"
    )
    acts = (
        "".join(f"<tr><td class=num>{s}</td><td>{e(k)}</td><td>{e(lbl)}</td></tr>" for s, k, lbl in r.actions)
        or "<tr><td colspan=3>none recorded</td></tr>"
    )
    samples = "".join(
        f"<tr class=run><td colspan=2><b>{'general prompt (forgetting)' if row.general else 'prompt'}:</b> "
        f"<code>{e(row.prompt)}</code></td></tr>"
        + "".join(
            f"<tr class=sub><td class=num>step {step}</td><td><pre>{e(text)}</pre></td></tr>"
            for step, text in [row.first] + ([row.last] if row.last else [])
        )
        for row in r.samples
    )
    samples = (
        f"<h2>Samples</h2><p>first and last generation of each prompt</p><table>{samples}</table>" if samples else ""
    )
    missing = f"<p>not in this log: {e(', '.join(r.missing))}</p>" if r.missing else ""
    nxt = f"<p><b>next action:</b> {e(r.next_action)}</p>" if r.next_action else ""
    skipped = f" ({r.skipped_lines} unreadable line(s) skipped)" if r.skipped_lines else ""
    notes = "".join(f"<p>note: {e(n)}</p>" for n in r.notes)
    body = (
        f"<h1>Report: {e(r.title)}</h1><p>source: {e(r.source)}{e(skipped)}</p>{notes}"
        f"<h2>Summary</h2><table>{rows}</table><p><b>verdict:</b> {e(r.verdict)}</p>{nxt}"
        f"<h2>Charts</h2>{key_html()}{charts}{missing}"
        f"<h2>Findings timeline</h2><table><tr><th>severity</th><th>steps</th><th>rule</th><th>finding</th></tr>"
        f"{tl}</table><h2>Operator actions and trainer decisions</h2>"
        f"<table><tr><th>step</th><th>kind</th><th>what</th></tr>{acts}</table>{samples}"
    )
    return page(f"Report: {r.title}", body)
