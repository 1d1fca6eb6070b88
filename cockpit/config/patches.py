"""Changes to a config from the command line: `--set a.b.c=value` and `--name NAME`."""

from __future__ import annotations

import unicodedata

import yaml
from pydantic import ValidationError

from cockpit.config.errors import ConfigError
from cockpit.config.run import RunConfig


def set_dotted(data: dict, dotted: str, raw: str) -> None:
    """Apply one `--set a.b.c=value` override; the value is parsed as YAML (numbers, lists, bools)."""
    parts = dotted.split(".")
    cur = data
    for p in parts[:-1]:
        nxt = cur.setdefault(p, {})
        if not isinstance(nxt, dict):
            raise ConfigError(f"--set {dotted}: '{p}' is not a section", field=dotted)
        cur = nxt
    try:
        cur[parts[-1]] = yaml.safe_load(raw) if raw != "" else None
    except yaml.YAMLError as e:
        raise ConfigError(f"--set {dotted}={raw}: cannot parse value ({e})", field=dotted) from e


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
            raise ConfigError(f"--set {k.strip()}: the value holds a control character ({bad!r}); put values "
                              "that need one in the config file", field=k.strip())
        out.append((k.strip(), v.strip()))
    return out
