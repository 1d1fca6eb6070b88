"""`cockpit report PATH [--out FILE.md|FILE.html]`: a post-run report.

Charts (plotext, text) of loss with eval loss, grad_norm on a log axis with its danger bands, entropy,
lr, memory, tokens/s; the summary numbers; the advisor's findings timeline; the operator's actions.
On a sweep or study directory: its runs overlaid (`cockpit.compare`). Printed to the terminal,
and saved as Markdown (text charts in fenced blocks) or self-contained HTML (inline SVG, no network).
"""

from __future__ import annotations

import sys
from pathlib import Path

from cockpit.report.model import build_report
from cockpit.report.output import bad_out, show_and_save, terminal_width


def main(path: str, out: str | None = None, preload=None) -> int:
    """`preload`: a `cockpit.logs.preload.Preload` the CLI started before importing this module."""
    from cockpit.compare import is_multi_run_dir
    from cockpit.logs import LogError, load_history

    if is_multi_run_dir(Path(path)):  # a sweep or a study: its runs overlaid
        if preload is not None:
            preload.cancel()
        from cockpit.compare import main as compare_main

        return compare_main([path], out=out, min_runs=1)
    if bad_out(out, "--out "):
        return 2
    try:
        history, log = preload.result() if preload is not None else load_history(path)
    except (LogError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    width = terminal_width()
    return show_and_save(build_report(history, log, width=width), out, "cockpit.report", width)
