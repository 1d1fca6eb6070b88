"""Actions the trainer cannot apply live become the next run's config: a file and a `--set` line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cockpit.config_patch import apply_patch, patch_to_set_args


def write_next_config(run_dir: str | Path, patch: dict[str, Any], name: str = "next-config.yaml") -> Path:
    """The run's config.yaml with the patch applied, validated, written next to the run."""
    # Imported here, not at the top: diagnose and the cockpit import the advisor and rarely write a config.
    import yaml

    from cockpit.config import RunConfig

    run_dir = Path(run_dir)
    data = yaml.safe_load((run_dir / "config.yaml").read_text()) or {}
    cfg = RunConfig.model_validate(apply_patch(data, patch))
    out = run_dir / name
    out.write_text(f"# Next run, from the advisor's reading of {run_dir.name}: {patch_to_set_args(patch)}\n"
                   + cfg.to_yaml())
    return out
