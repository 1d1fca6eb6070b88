"""What a run trained with, for its `run_started` event: the ML stack's versions, Python, the machine, the
command line. The cockpit's metadata view (`i`) shows them; nothing here imports the packages it names."""

from __future__ import annotations

import json
import os
import platform
import sys
from typing import Any

PACKAGES = ("torch", "transformers", "peft", "trl", "bitsandbytes", "accelerate", "datasets", "lora-cockpit")

LAUNCHED_BY_ENV = "COCKPIT_LAUNCHED_BY"
"""The command line of the cockpit that started the trainer (`cockpit run cfg.yaml`), as a JSON list."""


def versions() -> dict[str, str]:
    import importlib.metadata as md

    out: dict[str, str] = {}
    for p in PACKAGES:
        try:
            out[p] = md.version(p)
        except md.PackageNotFoundError:
            pass
    return out


def process_facts(env=os.environ) -> dict[str, Any]:
    """Python, the OS, this process's command line and the one that launched it (None when started by hand)."""
    launched_by = None
    try:
        got = json.loads(env.get(LAUNCHED_BY_ENV) or "null")
        launched_by = [str(x) for x in got] if isinstance(got, list) else None
    except ValueError:
        pass
    return {
        "python": platform.python_version(),
        "python_executable": sys.executable,
        "platform": platform.platform(),
        "command": [sys.executable, *sys.argv],
        "launched_by": launched_by,
    }
