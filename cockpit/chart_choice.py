"""The metrics the operator picked for the cockpit's grid (`k`), kept per kind of run.

Kept in `~/.config/lora-cockpit/charts.json` (`$XDG_CONFIG_HOME` when set), not in the run directory: the
choice is the operator's view of a kind of run (an SFT run's eval accuracy beside its loss), wanted again
for the next run of that kind, and a replayed log (a trainer_state.json, a W&B export) may sit in a folder
the cockpit must not write to. A file that cannot be read or holds something else is said (a toast naming
the file and line) and the grid falls back to what the SOP watches (cockpit.metrics.charted)."""

from __future__ import annotations

import json
import os
from pathlib import Path


def choice_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "lora-cockpit" / "charts.json"


def _read(path: Path) -> tuple[dict, str | None]:
    """The file's picks, and what was wrong with it (None: nothing, or no file yet)."""
    try:
        got = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}, None
    except OSError as e:
        return {}, f"{path}: cannot read: {e.strerror or e}"
    except ValueError as e:
        where = f":{e.lineno}" if isinstance(e, json.JSONDecodeError) else ""
        return {}, f"{path}{where}: not JSON ({getattr(e, 'msg', e)})"
    if not isinstance(got, dict):
        return {}, f"{path}: not an object of kind -> metric names"
    return got, None


def load_choice(method: str, default: list[str], path: Path | None = None) -> tuple[list[str], str | None]:
    """The keys to chart for this kind of run: the saved pick when it is a list of as many names as the
    grid has tiles, else the default; and what was wrong with the file, said so the operator knows why
    the grid shows the SOP's set."""
    path = path or choice_path()
    whole, problem = _read(path)
    keys = whole.get(method)
    if keys is None or (
        isinstance(keys, list) and len(keys) == len(default) and all(type(k) is str and k for k in keys)
    ):
        return (list(keys) if keys else list(default)), problem
    return list(default), f"{path}: {method!r}: not a list of {len(default)} metric names"


def save_choice(method: str, keys: list[str] | None, path: Path | None = None) -> str | None:
    """Keep the pick for this kind of run (None: back to the default); the error said, or None."""
    path = path or choice_path()
    whole, _problem = _read(path)  # a broken file is replaced by a good one
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
