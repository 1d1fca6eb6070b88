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
