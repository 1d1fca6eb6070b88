"""Before a resume: has config.yaml drifted from the checkpoint's adapter in a way it cannot take?"""

from __future__ import annotations

import json
from pathlib import Path

from cockpit.rundir import RunDir


def lora_changes(rd: RunDir, ckpt: Path) -> str | None:
    """The LoRA fields of config.yaml that differ from the checkpoint's adapter_config.json, as
    `lora.r: 8 in the checkpoint, 16 in config.yaml`; None when they agree or cannot be compared."""
    from cockpit.config import ConfigError, load_config

    try:
        saved = json.loads((ckpt / "adapter_config.json").read_text())
        lora = load_config(rd.config, check_paths=False).lora
    except (OSError, ValueError, ConfigError):
        return None  # the trainer reports a config or checkpoint it cannot read, with its own message
    if not isinstance(saved, dict):
        return None
    # The fields that fix the saved weights' shapes or their scale (dropout does neither: it may change).
    pairs = [("r", lora.r), ("lora_alpha", lora.alpha), ("use_rslora", lora.use_rslora), ("bias", lora.bias)]
    if isinstance(lora.target_modules, list):  # "all-linear" is saved expanded to module names: not comparable
        pairs.append(("target_modules", sorted(lora.target_modules)))
    diffs = []
    for key, now in pairs:
        if key not in saved:
            continue
        was = sorted(saved[key]) if key == "target_modules" and isinstance(saved[key], list) else saved[key]
        if isinstance(now, float) and isinstance(was, (int, float)):
            same = abs(float(was) - now) <= 1e-9 * max(1.0, abs(now))
        else:
            same = was == now
        if not same:
            label = "lora_alpha (2r when unset)" if key == "lora_alpha" and lora.lora_alpha is None else key
            diffs.append(
                f"lora.{label}: {was:g} in the checkpoint, {now:g} in config.yaml"
                if isinstance(was, (int, float)) and not isinstance(was, bool) and isinstance(now, (int, float))
                else f"lora.{label}: {was} in the checkpoint, {now} in config.yaml"
            )
    return "; ".join(diffs) or None


def _same_model(a: str, b: str) -> bool:
    if a == b:
        return True
    pa, pb = Path(a).expanduser(), Path(b).expanduser()
    return pa.exists() and pb.exists() and pa.resolve() == pb.resolve()


def base_change(rd: RunDir) -> str | None:
    """`model.name_or_path`: the base the checkpoints were trained on (the last `run_started` event's
    config) when config.yaml now names another one, as `was X, config.yaml now says Y`; else None.
    A LoRA adapter's deltas belong to the weights they were trained against: on another base of the same
    shapes the run would continue silently on a model it never saw, on other shapes die on a size mismatch."""
    from cockpit.config import ConfigError, load_config
    from cockpit.rundir import last_event

    try:
        now = load_config(rd.config, check_paths=False).model.name_or_path
    except (OSError, ValueError, ConfigError):
        return None  # the trainer reports a config it cannot read, with its own message
    started = last_event(rd.events, "run_started") if rd.events.exists() else None
    was = ((started or {}).get("config") or {}).get("model", {}).get("name_or_path")
    if not isinstance(was, str) or _same_model(was, now):
        return None
    return f"model.name_or_path: {was!r} when the checkpoints were saved, {now!r} in config.yaml"
