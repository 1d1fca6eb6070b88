"""Actions the trainer cannot apply live become the next run's config: here, the `--set` line; the file is
written by `cockpit.config.patches.write_next_config` (reading a log never loads the config schema)."""

from __future__ import annotations

import json
from typing import Any


def patch_to_set_args(patch: dict[str, Any]) -> str:
    parts = []
    for k, v in patch.items():
        val = json.dumps(v) if isinstance(v, (list, dict, bool)) or v is None else f"{v:g}" if isinstance(v, float) else str(v)
        parts.append(f"--set {k}={val}" if " " not in val else f"--set '{k}={val}'")
    return " ".join(parts)
