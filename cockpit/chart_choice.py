"""The metrics the operator picked for the cockpit's grid (`k`), kept per kind of run.

Kept in `~/.config/lora-cockpit/charts.json` (`$XDG_CONFIG_HOME` when set), not in the run directory: the
choice is the operator's view of a kind of run (an SFT run's eval accuracy beside its loss), wanted again
for the next run of that kind, and a replayed log (a trainer_state.json, a W&B export) may sit in a folder
the cockpit must not write to. A file that cannot be read or holds something else is ignored: the grid
falls back to what the SOP watches (cockpit.metrics.charted)."""

from __future__ import annotations

import json
import os
from pathlib import Path


def choice_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "lora-cockpit" / "charts.json"


def _read(path: Path) -> dict:
    try:
        got = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return got if isinstance(got, dict) else {}


def load_choice(method: str, default: list[str], path: Path | None = None) -> list[str]:
    """The keys to chart for this kind of run: the saved pick when it is a list of as many names as the
    grid has tiles, else the default."""
    keys = _read(path or choice_path()).get(method)
    if isinstance(keys, list) and len(keys) == len(default) and all(type(k) is str and k for k in keys):
        return keys
    return list(default)


def save_choice(method: str, keys: list[str] | None, path: Path | None = None) -> str | None:
    """Keep the pick for this kind of run (None: back to the default); the error said, or None."""
    path = path or choice_path()
    whole = _read(path)
    if keys is None:
        whole.pop(method, None)
    else:
        whole[method] = list(keys)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(whole, indent=1) + "\n", encoding="utf-8")
        tmp.replace(path)
    except OSError as e:
        return f"could not keep the chart choice in {path}: {e.strerror or e}"
    return None
