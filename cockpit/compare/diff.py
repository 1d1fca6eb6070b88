"""The config difference between runs: only the keys whose values differ, as dotted Hugging Face names
(`training.learning_rate`, `lora.r`), one column per run."""

from __future__ import annotations

from typing import Any

MISSING = "-"
UNKNOWN = "?"
IGNORED = ("name", "output_dir", "run_dir")
"""Keys that differ between any two runs by construction and say nothing about the training."""


def flatten(cfg: Any, prefix: str = "") -> dict[str, Any]:
    """{"training": {"learning_rate": 1e-4}} -> {"training.learning_rate": 1e-4}; lists stay values."""
    if not isinstance(cfg, dict):
        return {prefix: cfg} if prefix else {}
    out: dict[str, Any] = {}
    for k, v in cfg.items():
        key = f"{prefix}.{k}" if prefix else str(k)
        if isinstance(v, dict) and v:
            out.update(flatten(v, key))
        else:
            out[key] = v
    return out


def fmt(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, (list, tuple)):
        return ",".join(fmt(x) for x in v)
    return str(v)


def config_diff(configs: list[dict[str, Any] | None], partial: list[bool] | None = None) -> list[tuple[str, list[str]]]:
    """(key, one value per run) for every key whose values are not all the same. A run without the key
    shows `-`; a `partial` run (a Hugging Face log: its config holds only what trainer_state.json
    records) shows `?` and does not count, so its missing keys do not fill the table. Sorted by key."""
    flat = [flatten(c or {}) for c in configs]
    partial = partial or [False] * len(flat)
    keys = sorted({k for f in flat for k in f if k.rsplit(".", 1)[-1] not in IGNORED})
    rows = []
    for k in keys:
        vals = [fmt(f[k]) if k in f else UNKNOWN if part else MISSING for f, part in zip(flat, partial)]
        known = {v for v in vals if v != UNKNOWN}
        if len(known) > 1:
            rows.append((k, vals))
    return rows
