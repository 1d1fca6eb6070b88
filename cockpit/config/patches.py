"""Changes to a config by dotted key: `--set a.b.c=value` and `--name NAME` from the command line, and the
advisor's patches (`{"lora.lora_dropout": 0.1}`) written as the next run's config.

The advisor proposes patches without importing this module (reading a log never loads the schema);
writing one validates it against the schema, here.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from cockpit.config.errors import ConfigError
from cockpit.config.run import RunConfig
from cockpit.config_patch import PatchError, apply_patch, patch_to_set_args, set_dotted


def set_override(data: dict, dotted: str, raw: str) -> None:
    """Apply one `--set a.b.c=value` override; the value is parsed as YAML (numbers, lists, bools)."""
    try:
        set_dotted(data, dotted, yaml.safe_load(raw) if raw != "" else None)
    except PatchError as e:
        raise ConfigError(f"--set {e}", field=dotted) from None
    except yaml.YAMLError as e:
        raise ConfigError(f"--set {dotted}={raw}: cannot parse value ({e})", field=dotted) from e


def write_next_config(run_dir: str | Path, patch: dict[str, Any], name: str = "next-config.yaml") -> Path:
    """The run's config.yaml with the patch applied, validated, written next to the run (the cockpit's `a`)."""
    run_dir = Path(run_dir)
    data = apply_patch(yaml.safe_load((run_dir / "config.yaml").read_text()) or {}, patch)
    cfg = RunConfig.model_validate(data)
    out = run_dir / name
    out.write_text(
        f"# Next run, from the advisor's reading of {run_dir.name}: {patch_to_set_args(patch)}\n" + cfg.to_yaml()
    )
    return out


def set_name(cfg: RunConfig, name: str) -> None:
    """`--name NAME`, validated as the config's own `name` field is (a clean error, not a traceback)."""
    try:
        cfg.name = name
    except ValidationError as e:
        raise ConfigError(f"--name {name!r}: {e.errors()[0]['msg']}", field="name") from None


def parse_overrides(items: list[str] | tuple[str, ...]) -> list[tuple[str, str]]:
    out = []
    for item in items:
        if "=" not in item:
            raise ConfigError(f"--set '{item}': expected key=value, e.g. training.max_steps=40")
        k, v = item.split("=", 1)
        bad = next((c for c in item if unicodedata.category(c) == "Cc"), None)
        if bad is not None:
            # YAML would fold a newline into a space and keep a tab: the value used would not be the one typed.
            raise ConfigError(
                f"--set {k.strip()}: the value holds a control character ({bad!r}); put values "
                "that need one in the config file",
                field=k.strip(),
            )
        out.append((k.strip(), v.strip()))
    return out
