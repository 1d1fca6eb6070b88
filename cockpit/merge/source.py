"""What to merge: the adapter folder, its base model, and where the result goes."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from cockpit.rundir import RunDir


class MergeRefused(Exception):
    """The merge cannot start (nothing is written); the message says why."""

    def __init__(self, message: str, run_dir: RunDir | None = None):
        super().__init__(message)
        self.run_dir = run_dir


@dataclass
class MergeSource:
    adapter: Path
    base: str
    out: Path
    run_dir: RunDir | None
    step: int | None
    quantized: str | None
    trust_remote_code: bool = False


def resolve_source(path: Path, *, checkpoint: int | None = None, out: str | None = None) -> MergeSource:
    rd = RunDir(path) if (path / "config.yaml").exists() else None
    if rd is not None:
        if checkpoint is not None:
            adapter = rd.checkpoints / f"checkpoint-{checkpoint}"
            if not adapter.is_dir():
                raise MergeRefused(
                    f"{adapter} does not exist (checkpoints: "
                    f"{', '.join(p.name for p in sorted(rd.checkpoints.glob('checkpoint-*'))) or 'none'})",
                    rd,
                )
        else:
            adapter = rd.adapter_to_merge()
            if adapter is None:
                raise MergeRefused(
                    f"{path} has no adapter yet (no adapter/ and no checkpoint); save one first "
                    "(`cockpit ctl RUN save`, or s in the cockpit)",
                    rd,
                )
    else:
        adapter = path
    cfg_file = adapter / "adapter_config.json"
    if not cfg_file.exists():
        raise MergeRefused(f"{adapter} holds no adapter (adapter_config.json is missing)", rd)
    try:
        acfg = json.loads(cfg_file.read_text())
    except ValueError as e:
        raise MergeRefused(f"{cfg_file} is not valid JSON ({e})", rd) from None
    base, quant, trust = acfg.get("base_model_name_or_path"), None, False
    if rd is not None:
        import yaml

        cfg = yaml.safe_load(rd.config.read_text()) or {}
        model = cfg.get("model") or {}
        base = model.get("name_or_path") or base
        quant = model.get("quantization") if model.get("quantization") in ("4bit", "8bit") else None
        trust = bool(model.get("trust_remote_code"))
    if not base:
        raise MergeRefused(f"{cfg_file} does not name its base model (base_model_name_or_path)", rd)
    from cockpit.models import known

    if base.startswith("demo:") or known(base) is not None:
        from cockpit.demo import resolve_model_path

        base = resolve_model_path(base)
    step = None
    if adapter.name.startswith("checkpoint-"):
        try:
            step = int(adapter.name.split("-")[1])
        except ValueError:
            step = None
    target = Path(out) if out else (rd.merged if rd is not None else adapter.with_name(adapter.name + "-merged"))
    return MergeSource(adapter, base, target, rd, step, quant, trust)
