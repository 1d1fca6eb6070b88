"""PiSSA and OLoRA adapters, turned back into plain LoRA adapters of the original base.

PiSSA / OLoRA start the adapter from W's own singular vectors (or its QR) and leave the base holding the
residual W_res = W - s*B0@A0. A trained adapter (A, B) therefore applies only to W_res, which is not on
disk. Since W_res + s*B@A = W + s*(B@A - B0@A0) = W + s*[B | -B0] @ [A ; A0], the same update is a plain
LoRA of rank 2r on the original W (peft's `subtract_mutated_init`, which `save_pretrained(...,
path_initial_model_for_weight_conversion=...)` uses). The trainer saves A0, B0 once, before the first
step, as INITIAL_ADAPTER in the run directory; the final adapter is converted by peft at save, and a
checkpoint is converted here when it is merged.
"""

from __future__ import annotations

import json
from pathlib import Path

INITIAL_ADAPTER = "adapter-init"
"""The run directory's folder holding the adapter as PiSSA/OLoRA initialised it, before any training."""


def changes_base(adapter_config: dict) -> bool:
    init = str(adapter_config.get("init_lora_weights", True)).lower()
    return init.startswith("pissa") or init in ("olora", "corda")


def convert_to_lora(adapter: Path, initial: Path, out: Path) -> Path:
    """Write into `out` the plain-LoRA form of a PiSSA/OLoRA `adapter`, given its `initial` adapter."""
    import torch
    from safetensors.torch import load_file, save_file

    cfg = json.loads((adapter / "adapter_config.json").read_text())
    trained = load_file(str(adapter / "adapter_model.safetensors"))
    init = load_file(str(initial / "adapter_model.safetensors"))
    out_t = {}
    for name, t in trained.items():
        if "lora_A" in name:
            out_t[name] = torch.cat([t, init[name]], dim=0).contiguous()
        elif "lora_B" in name:
            out_t[name] = torch.cat([t, -init[name]], dim=1).contiguous()
        else:
            out_t[name] = t
    # Same scale s on both halves: alpha/r stays the same at rank 2r (alpha/sqrt(r) with rsLoRA).
    cfg["init_lora_weights"] = True
    cfg["r"] = cfg["r"] * 2
    cfg["lora_alpha"] = cfg["lora_alpha"] * (2**0.5 if cfg.get("use_rslora") else 2)
    for key in ("rank_pattern", "alpha_pattern"):
        if cfg.get(key):
            cfg[key] = {k: 2 * v for k, v in cfg[key].items()}
    cfg["cockpit_converted_from"] = str(adapter)
    out.mkdir(parents=True, exist_ok=True)
    save_file(out_t, str(out / "adapter_model.safetensors"), metadata={"format": "pt"})
    (out / "adapter_config.json").write_text(json.dumps(cfg, indent=2))
    return out
