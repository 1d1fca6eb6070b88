"""A user's run in the names their tool reads: what the advisor may know of it, and a next-run change
worded for their script (`learning_rate 0.0002 -> 0.0001`), not as our config's `--set` flags.

A script's run has no config of ours. What its run_started event read from the Trainer (TrainingArguments,
the PEFT config) is all the advisor gets, laid out as our config's sections, because our config uses the
same names (`training.learning_rate` is TrainingArguments' `learning_rate`, `lora.lora_alpha` is LoraConfig's
`lora_alpha`); anything not read there stays unknown.
"""

from __future__ import annotations

from typing import Any

LORA_FIELDS = ("r", "lora_alpha", "lora_dropout", "target_modules", "use_rslora", "use_dora")


def script_of(run_started: dict[str, Any] | None) -> dict[str, Any] | None:
    """The `script` part of a user's run's run_started event; None for our own runs."""
    script = (run_started or {}).get("script")
    return script if isinstance(script, dict) else None


def script_config(script: dict[str, Any]) -> dict[str, Any]:
    """What the run read, as our config's sections (only the values it read)."""
    training = script.get("training_args") if isinstance(script.get("training_args"), dict) else {}
    lora = script.get("lora") if isinstance(script.get("lora"), dict) else {}
    out: dict[str, Any] = {"training": {k: v for k, v in training.items() if v is not None}}
    if lora:
        out["lora"] = {k: lora[k] for k in LORA_FIELDS if lora.get(k) is not None}
    return out


TOOL_NAMES: dict[str, dict[str, str]] = {
    "llamafactory": {"lora.r": "lora_rank", "lora.target_modules": "lora_target"},
    "axolotl": {"lora.r": "lora_r", "lora.target_modules": "lora_target_modules"},
}
"""Where a tool's own YAML names a setting otherwise than TrainingArguments and LoraConfig do (the tool
is the top package of the run's Trainer class)."""


def user_name(dotted: str, tool: str | None = None) -> str:
    """`training.learning_rate` -> `learning_rate`: the Trainer's and peft's own names are our leaves,
    except where the user's tool renames them (`lora.r` is LLaMA-Factory's `lora_rank`)."""
    return TOOL_NAMES.get(tool or "", {}).get(dotted) or dotted.rsplit(".", 1)[-1]


def in_user_terms(patch: dict[str, Any], script: dict[str, Any]) -> str:
    """`learning_rate 0.0002 -> 0.0001, lora_alpha 16 -> 8`: each change with the run's current value."""
    cfg, tool = script_config(script), script.get("tool")
    parts = []
    for dotted, new in patch.items():
        if dotted == "sop_stage":
            continue  # a step of our procedure, not a setting of the user's tool
        section, _, key = dotted.rpartition(".")
        now = (cfg.get(section) or {}).get(key) if section else None
        name = user_name(dotted, tool)
        parts.append(f"{name} {_fmt(now)} -> {_fmt(new)}" if now is not None else f"{name}={_fmt(new)}")
    return ", ".join(parts)


def _fmt(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)
