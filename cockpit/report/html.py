"""A self-contained HTML report: inline SVG charts drawn here (no scripts, no network)."""

from __future__ import annotations

import html

from cockpit.report.model import Chart, Report
from cockpit.severity import ICON

BAND_COLOR = {"normal max": "#d7a700", "danger": "#d70000", "explosion": "#8b0000", "warn": "#d7a700"}


def svg_chart(c: Chart, w: int = 760, h: int = 180) -> str:
    if not c.steps:
        return ""
    pad = 40
    x0, x1 = min(c.steps), max(c.steps)
    ys = list(c.values)
    vis_bands = [(y, n) for y, n in c.bands if y <= max(ys) * 2]
    y0, y1 = min(ys + [b[0] for b in vis_bands]), max(ys + [b[0] for b in vis_bands])
    if y1 - y0 == 0:  # one value; or values so large (1e21) that +1 is lost in rounding: widen by their size
        y1 = y0 + max(1.0, abs(y0))

    def X(s):
        return pad + (s - x0) / max(1, x1 - x0) * (w - 2 * pad)

    def Y(v):
        return h - pad / 2 - (v - y0) / (y1 - y0) * (h - pad)

    pts = " ".join(f"{X(s):.1f},{Y(v):.1f}" for s, v in zip(c.steps, c.values))
    parts = [f'<svg viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" aria-label="{html.escape(c.title)}">',
             f'<rect x="0" y="0" width="{w}" height="{h}" fill="#fafafa" stroke="#ddd"/>']
    for y, name in vis_bands:
        parts.append(f'<line x1="{pad}" x2="{w - pad}" y1="{Y(y):.1f}" y2="{Y(y):.1f}" '
                     f'stroke="{BAND_COLOR.get(name, "#d70000")}" stroke-dasharray="6 4"/>'
                     f'<text x="{w - pad + 2}" y="{Y(y) + 4:.1f}" font-size="10">{html.escape(name)}</text>')
    for s in sorted(set(c.marks))[:60]:
        if x0 <= s <= x1:
            parts.append(f'<line x1="{X(s):.1f}" x2="{X(s):.1f}" y1="{pad / 2}" y2="{h - pad / 2}" stroke="#5f87d7" '
                         'stroke-opacity="0.5"/>')
    parts.append(f'<polyline fill="none" stroke="#1f4e9a" stroke-width="1.5" points="{pts}"/>')
    parts.append(f'<text x="{pad}" y="14" font-size="12" font-weight="bold">{html.escape(c.title)}</text>')
    parts.append(f'<text x="4" y="{Y(y1) + 4:.1f}" font-size="10">{y1:.3g}</text>'
                 f'<text x="4" y="{Y(y0):.1f}" font-size="10">{y0:.3g}</text>'
                 f'<text x="{pad}" y="{h - 2}" font-size="10">step {x0}</text>'
                 f'<text x="{w - pad - 60}" y="{h - 2}" font-size="10">step {x1}</text>')
    parts.append("</svg>")
    return "".join(parts)


def render_html(r: Report) -> str:
    e = html.escape
    rows = "".join(f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in r.summary)
    charts = "".join(f"<figure>{svg_chart(c)}</figure>" for c in r.charts)
    tl = "".join(f"<tr class='{f['severity']}'><td>{ICON[f['severity']]} {e(f['severity'])}</td>"
                 f"<td>{f['first_step']}-{f['last_step']}</td><td>{e(f['rule'])}</td><td>{e(f['message'])}</td></tr>"
                 for f in r.timeline) or "<tr><td colspan=4>none: no SOP rule fired</td></tr>"
    acts = "".join(f"<tr><td>{s}</td><td>{e(k)}</td><td>{e(lbl)}</td></tr>" for s, k, lbl in r.actions) or \
        "<tr><td colspan=3>none recorded</td></tr>"
    missing = f"<p>not in this log: {e(', '.join(r.missing))}</p>" if r.missing else ""
    nxt = f"<p><b>next action:</b> {e(r.next_action)}</p>" if r.next_action else ""
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>Report: {e(r.title)}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:900px;margin:2em auto;color:#222}}
table{{border-collapse:collapse}}td,th{{border-bottom:1px solid #eee;padding:2px 10px;text-align:left}}
tr.critical td,tr.danger td{{color:#b00000}}tr.warn td{{color:#8a6d00}}figure{{margin:1em 0}}</style></head><body>
<h1>Report: {e(r.title)}</h1><p>source: {e(r.source)}</p>
<h2>Summary</h2><table>{rows}</table><p><b>verdict:</b> {e(r.verdict)}</p>{nxt}
<h2>Charts</h2><p>Dashed lines: danger bands. Blue lines: operator actions, guards, checkpoints.</p>{charts}{missing}
<h2>Findings timeline</h2><table><tr><th>severity</th><th>steps</th><th>rule</th><th>finding</th></tr>{tl}</table>
<h2>Operator actions and trainer decisions</h2><table><tr><th>step</th><th>kind</th><th>what</th></tr>{acts}</table>
</body></html>
"""
