"""Reading a config file: YAML, `--set` overrides, validation, and data/model paths resolved and checked."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import ValidationError

from cockpit.config.errors import ConfigError, first_error, line_map
from cockpit.config.patches import set_override
from cockpit.config.run import RunConfig
from cockpit.models.registry import known as known_model


def load_config(
    path: str | Path, overrides: list[tuple[str, str]] | None = None, *, check_paths: bool = True
) -> RunConfig:
    """Read, override, validate. Relative data/model paths resolve against the config's folder."""
    path = Path(path)
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("config file not found", file=file) from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"cannot read config ({e})", file=file) from None
    return config_from_text(text, file=file, base_dir=path.parent, overrides=overrides, check_paths=check_paths)


def config_from_text(
    text: str,
    *,
    file: str = "<config>",
    base_dir: Path | None = None,
    overrides: list[tuple[str, str]] | None = None,
    check_paths: bool = True,
) -> RunConfig:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        problem = getattr(e, "problem", None) or str(e)
        raise ConfigError(
            f"YAML syntax error: {problem}",
            file=file,
            line=mark.line + 1 if mark else None,
            column=mark.column + 1 if mark else None,
        ) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"expected a mapping of sections at the top level, got {type(data).__name__}", file=file, line=1
        )
    for k, v in overrides or []:
        set_override(data, k, v)
    lines = line_map(text)
    try:
        cfg = RunConfig.model_validate(data)
    except ValidationError as e:
        raise first_error(e, file, lines) from None
    if base_dir is not None:
        _resolve_paths(cfg, base_dir)
    if check_paths:
        _check_paths(cfg, file, lines)
    return cfg


def _resolve_paths(cfg: RunConfig, base: Path) -> None:
    def fix(p: str | None) -> str | None:
        if p is None or p.startswith("demo:"):
            return p
        q = Path(p).expanduser()
        if q.is_absolute():
            return str(q)
        cand = base / q
        # A relative path that exists next to the config wins; otherwise keep it relative to the cwd
        # (e.g. a hub id like "Qwen/Qwen2.5-0.5B" is not a path at all).
        return str(cand.resolve()) if cand.exists() else p

    cfg.data.path = fix(cfg.data.path)  # type: ignore[assignment]
    cfg.data.eval_path = fix(cfg.data.eval_path)
    cfg.data.general_path = fix(cfg.data.general_path)
    if known_model(cfg.model.name_or_path) is None:  # a known name is never a path, even if a folder matches
        cfg.model.name_or_path = fix(cfg.model.name_or_path)  # type: ignore[assignment]
    if cfg.data.chat_template and not cfg.data.chat_template.lstrip().startswith("{"):
        cfg.data.chat_template = fix(cfg.data.chat_template)
    if cfg.launch.accelerate_config:
        cfg.launch.accelerate_config = fix(cfg.launch.accelerate_config)


def _looks_like_local_path(p: str) -> bool:
    return p.startswith(("/", "./", "../", "~")) or p.endswith((".jsonl", ".json", ".parquet"))


def _check_paths(cfg: RunConfig, file: str, lines: dict[tuple[str, ...], int]) -> None:
    for key, p in (
        ("data.path", cfg.data.path),
        ("data.eval_path", cfg.data.eval_path),
        ("data.general_path", cfg.data.general_path),
    ):
        if p is None or p.startswith("demo:"):
            continue
        if not Path(p).exists():
            raise ConfigError(
                f"{key}: file not found: {p}", file=file, line=lines.get(tuple(key.split("."))), field=key
            )
    m = cfg.model.name_or_path
    if not m.startswith("demo:") and _looks_like_local_path(m) and not Path(m).exists():
        raise ConfigError(
            f"model.name_or_path: local model folder not found: {m}",
            file=file,
            line=lines.get(("model", "name_or_path")),
            field="model.name_or_path",
        )
    if cfg.launch.accelerate_config and not Path(cfg.launch.accelerate_config).exists():
        raise ConfigError(
            f"launch.accelerate_config: file not found: {cfg.launch.accelerate_config}",
            file=file,
            line=lines.get(("launch", "accelerate_config")),
            field="launch.accelerate_config",
        )
