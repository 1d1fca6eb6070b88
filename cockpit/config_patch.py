"""Config changes as dotted-key patches, `{"training.learning_rate": 5e-5}`: applied to a config's plain
dict (as loaded from YAML or dumped from a RunConfig) and shown as the `--set` flags that make them.

Plain dicts only, no pydantic or yaml: the advisor's actions and diagnose use it too. The caller
validates the patched dict (RunConfig.model_validate) when it needs a config.
"""

from __future__ import annotations

import json
from typing import Any


class PatchError(ValueError):
    """A dotted key that runs through a value that is not a section."""

    def __init__(self, dotted: str, part: str):
        super().__init__(f"{dotted}: '{part}' is not a section")
        self.dotted, self.part = dotted, part


def set_dotted(data: dict[str, Any], dotted: str, value: Any) -> None:
    """data[a][b][c] = value for "a.b.c", creating missing sections."""
    *sections, name = dotted.split(".")
    cur = data
    for part in sections:
        cur = cur.setdefault(part, {})
        if not isinstance(cur, dict):
            raise PatchError(dotted, part)
    cur[name] = value


def apply_patch(data: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """data with every dotted key of patch set (in place; returned for chaining)."""
    for dotted, value in patch.items():
        set_dotted(data, dotted, value)
    return data


def patch_to_set_args(patch: dict[str, Any]) -> str:
    """The `--set key=value` flags that make the patch, quoted for a shell where a value has a space."""
    parts = []
    for k, v in patch.items():
        val = (
            json.dumps(v)
            if isinstance(v, (list, dict, bool)) or v is None
            else f"{v:g}"
            if isinstance(v, float)
            else str(v)
        )
        parts.append(f"--set {k}={val}" if " " not in val else f"--set '{k}={val}'")
    return " ".join(parts)
