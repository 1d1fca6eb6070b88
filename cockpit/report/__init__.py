"""`cockpit report PATH [--out FILE.md|FILE.html]`: a post-run report.

Charts (plotext, text) of loss with eval loss, grad_norm on a log axis with its danger bands, entropy,
lr, memory, tokens/s; the summary numbers; the advisor's findings timeline; the operator's actions.
On a sweep or study directory: its runs overlaid (`cockpit.compare`). Printed to the terminal,
and saved as Markdown (text charts in fenced blocks) or self-contained HTML (inline SVG, no network).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from cockpit.report.model import build_report


def main(path: str, out: str | None = None, preload=None) -> int:
    """`preload`: a `cockpit.preload.Preload` the CLI started before importing this module."""
    from cockpit.compare import is_multi_run_dir
    from cockpit.logs import LogError, load_history

    if is_multi_run_dir(Path(path)):  # a sweep or a study: its runs overlaid
        if preload is not None:
            preload.cancel()
        from cockpit.compare import main as compare_main

        return compare_main([path], out=out, min_runs=1)
    if out is not None and Path(out).suffix.lower() not in (".md", ".html", ".htm"):
        print(f"error: --out {out}: use a .md or .html file name", file=sys.stderr)
        return 2
    try:
        history, log = preload.result() if preload is not None else load_history(path)
    except (LogError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    width = min(120, max(60, shutil.get_terminal_size((100, 40)).columns))
    rep = build_report(history, log, width=width)
    from cockpit.report.text import render_text

    print(render_text(rep, width=width))
    if out:
        target = Path(out)
        try:
            if target.suffix.lower() == ".md":
                from cockpit.report.text import render_markdown

                target.write_text(render_markdown(rep, width=100))
            else:
                from cockpit.report.html import render_html

                target.write_text(render_html(rep))
        except OSError as e:
            print(f"error: cannot write {target}: {e}", file=sys.stderr)
            return 2
        print(f"\nsaved: {target}")
    return 0
