"""Actions the trainer cannot apply live become the next run's config: a file and a `--set` line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def patch_to_set_args(patch: dict[str, Any]) -> str:
    parts = []
    for k, v in patch.items():
        val = json.dumps(v) if isinstance(v, (list, dict, bool)) or v is None else f"{v:g}" if isinstance(v, float) else str(v)
        parts.append(f"--set {k}={val}" if " " not in val else f"--set '{k}={val}'")
    return " ".join(parts)


def write_next_config(run_dir: str | Path, patch: dict[str, Any], name: str = "next-config.yaml") -> Path:
    """The run's config.yaml with the patch applied, validated, written next to the run."""
    # Imported here, not at the top: diagnose and the cockpit import the advisor and rarely write a config.
    import yaml

    from cockpit.config import RunConfig

    run_dir = Path(run_dir)
    data = yaml.safe_load((run_dir / "config.yaml").read_text()) or {}
    for dotted, value in patch.items():
        cur = data
        parts = dotted.split(".")
        for p in parts[:-1]:
            cur = cur.setdefault(p, {})
        cur[parts[-1]] = value
    cfg = RunConfig.model_validate(data)
    out = run_dir / name
    out.write_text(f"# Next run, from the advisor's reading of {run_dir.name}: {patch_to_set_args(patch)}\n"
                   + cfg.to_yaml())
    return out
