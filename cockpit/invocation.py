"""How to write `cockpit` in a line the user will copy: the bare name when their shell finds this very
program on PATH, otherwise the path of the one running. After `make demo` the venv is not on PATH, and a
bare `cockpit attach ...` answers "command not found"."""

from __future__ import annotations

import os
import shutil
import sys
from functools import cache
from pathlib import Path


@cache
def cockpit_command() -> str:
    script = Path(sys.executable).with_name("cockpit")
    if not script.exists():
        return "cockpit"  # not an installed script (a source checkout run with python -m): nothing better to say
    found = shutil.which("cockpit")
    try:
        if found is not None and os.path.samefile(found, script):
            return "cockpit"
    except OSError:
        pass
    rel = os.path.relpath(script)
    return rel if not rel.startswith("..") else str(script)
