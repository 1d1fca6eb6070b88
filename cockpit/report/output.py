"""Where a report or a comparison goes: the terminal, and with `--out`/`--html` a Markdown or HTML file.

Both `cockpit report` and `cockpit compare` build a model and hand it to a package holding `text.py`
(`render_text`, `render_markdown`) and `html.py` (`render_html`); the renderers are imported only when
their format is asked for.
"""

from __future__ import annotations

import importlib
import shutil
import sys
from pathlib import Path
from typing import Any

SAVE_SUFFIXES = (".md", ".html", ".htm")


def bad_out(out: str | None, flag: str) -> bool:
    """True (and the error printed) when `out` is not a file name we can write a report as."""
    if out is not None and Path(out).suffix.lower() not in SAVE_SUFFIXES:
        print(f"error: {flag}{out}: use a .md or .html file name", file=sys.stderr)
        return True
    return False


def terminal_width() -> int:
    return min(120, max(60, shutil.get_terminal_size((100, 40)).columns))


def show_and_save(model: Any, out: str | None, renderers: str, width: int) -> int:
    """Print `model` with `renderers`.text, or with `out` save it as Markdown or HTML and say only where (the
    file is what was asked for; the whole report again in the terminal buried that line). The exit code."""
    if not out:
        print(importlib.import_module(f"{renderers}.text").render_text(model, width=width))
        return 0
    target = Path(out)
    try:
        if target.suffix.lower() == ".md":
            target.write_text(importlib.import_module(f"{renderers}.text").render_markdown(model, width=100))
        else:
            target.write_text(importlib.import_module(f"{renderers}.html").render_html(model))
    except OSError as e:
        print(f"error: cannot write {target}: {e}", file=sys.stderr)
        return 2
    print(f"saved: {target}")
    return 0
