"""A user's run, as `run_started` says it: what the Trainer's arguments and the model's PEFT config tell.

`config` is null (no config of ours exists); `script` holds what was read, in the names the user's tool
uses (`learning_rate`, `lora_alpha`, ...), which is what the advisor's next-run changes are written in.
"""

from __future__ import annotations

import json
import os
import socket
import sys
from typing import Any

from cockpit.own import COMMAND_ENV

TRAINING_ARGS = (
    "output_dir",
    "learning_rate",
    "lr_scheduler_type",
    "warmup_ratio",
    "warmup_steps",
    "weight_decay",
    "max_grad_norm",
    "optim",
    "per_device_train_batch_size",
    "gradient_accumulation_steps",
    "num_train_epochs",
    "max_steps",
    "logging_steps",
    "save_steps",
    "eval_steps",
    "eval_strategy",
    "bf16",
    "fp16",
    "seed",
    # TRL's own: SFT's sequence length, DPO's beta, GRPO's generation count and length
    "max_length",
    "beta",
    "num_generations",
    "max_completion_length",
    "loss_type",
)
LORA_KEYS = ("r", "lora_alpha", "lora_dropout", "target_modules", "use_rslora", "use_dora", "bias", "task_type")


def _plain(v: Any) -> Any:
    """A value as JSON holds it (sets and enums, as TrainingArguments and LoraConfig keep them)."""
    if isinstance(v, (set, frozenset, tuple)):
        return sorted(str(x) for x in v)
    if isinstance(v, (str, int, float, bool)) or v is None:
        return v
    return getattr(v, "value", None) if isinstance(getattr(v, "value", None), str) else str(v)


def training_args(args) -> dict[str, Any]:
    return {k: _plain(getattr(args, k)) for k in TRAINING_ARGS if hasattr(args, k)}


def peft_config(model) -> dict[str, Any] | None:
    """The adapter's LoRA settings and base model, or None when the model has no PEFT adapter."""
    model = getattr(model, "module", model)  # DDP wraps the model
    configs = getattr(model, "peft_config", None)
    if not isinstance(configs, dict) or not configs:
        return None
    pc = configs.get("default") or next(iter(configs.values()))
    out = {k: _plain(getattr(pc, k)) for k in LORA_KEYS if hasattr(pc, k)}
    out["peft_type"] = _plain(getattr(pc, "peft_type", None))
    out["base_model"] = getattr(pc, "base_model_name_or_path", None)
    return out


def quantization(model) -> str | None:
    model = getattr(model, "module", model)
    if getattr(model, "is_loaded_in_4bit", False):
        return "4bit"
    if getattr(model, "is_loaded_in_8bit", False):
        return "8bit"
    q = getattr(getattr(model, "config", None), "quantization_config", None)
    if q is not None:
        get = q.get if isinstance(q, dict) else lambda k, d=None: getattr(q, k, d)
        if get("load_in_4bit"):
            return "4bit"
        if get("load_in_8bit"):
            return "8bit"
        return str(get("quant_method") or "quantized")
    return None


def command_line() -> list[str]:
    raw = os.environ.get(COMMAND_ENV)
    if raw:
        try:
            return [str(x) for x in json.loads(raw)]
        except ValueError:
            pass
    return [sys.executable, *sys.argv]


def _rows(ds) -> int | None:
    try:
        return len(ds) if ds is not None else 0
    except TypeError:  # an iterable dataset has no length
        return None


def method_of(cls) -> str | None:
    """The training method a TRL trainer class names (GRPOTrainer -> "grpo", a subclass of DPOTrainer ->
    "dpo"); None for a plain transformers.Trainer, whose kind the advisor reads from the logged keys."""
    from cockpit.run_kind import DECLARED

    for klass in getattr(cls, "__mro__", ()):
        name = klass.__name__.lower()
        if klass.__module__.split(".")[0] == "trl" and name.endswith("trainer") and name[:-7] in DECLARED:
            return name[:-7]
    return None


def run_started(trainer, args, state, model, mem_kind: str, device_index: int | None) -> dict[str, Any]:
    from cockpit.trainer import build, dist
    from cockpit.trainer.versions import process_facts, versions

    model = model if model is not None else getattr(trainer, "model", None)
    lora = peft_config(model)
    base = (lora or {}).get("base_model") or getattr(getattr(model, "config", None), "name_or_path", None)
    trainable, total = build.param_counts(model) if model is not None else (None, None)
    cls = type(trainer) if trainer is not None else None
    return {
        "config": None,
        "source": "script",
        "method": method_of(cls),
        "script": {
            "command": command_line(),
            "trainer": cls.__name__ if cls else None,
            "tool": cls.__module__.split(".")[0] if cls else None,
            "training_args": training_args(args),
            "lora": lora,
            "quantization": quantization(model),
        },
        "pid": int(os.environ.get("COCKPIT_SUPERVISOR_PID", os.getpid())),
        "trainer_pid": os.getpid(),
        "host": socket.gethostname(),
        "device": build.device_label(device_index),
        "world_size": dist.world_size(),
        "total_steps": int(state.max_steps or 0),
        "trainable_params": trainable,
        "total_params": total,
        "train_rows": _rows(getattr(trainer, "train_dataset", None)),
        "eval_rows": _rows(getattr(trainer, "eval_dataset", None)),
        "skipped_rows": None,
        "mem_kind": mem_kind,
        "quantized": quantization(model),
        "model_path": base,
        "resumed_from": None,
        "versions": versions(),
        **process_facts(),
    }
