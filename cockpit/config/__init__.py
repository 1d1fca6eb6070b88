"""The run config: a typed model of one LoRA/QLoRA run, YAML in and out, SOP defaults, clear errors.

Field names are the Hugging Face ones (`learning_rate`, `lora_alpha`, `max_grad_norm`, ...) so an
engineer can read a config without a glossary. Defaults are the SOP's (docs/SOP.md).

One module per group of sections, then the machinery:

    section.py    the base of every section (unknown keys are errors), the demo sentinels
    model.py      model:, lora:
    training.py   data:, training:
    guards.py     guards: (and guards.early_stop:)
    notify.py     notify:
    run.py        samples:, launch:, and RunConfig, the whole file
    errors.py     ConfigError; pydantic's errors -> one message naming file, line and field
    patches.py    --set a.b.c=value, --name
    load.py       load_config / config_from_text: read, override, validate, resolve and check paths

Everything is importable from `cockpit.config` itself. Nothing heavy is imported here: the UI,
`cockpit validate` and replay all read configs.
"""

from __future__ import annotations

from cockpit.config.errors import ConfigError
from cockpit.config.guards import EarlyStopConfig, GuardConfig
from cockpit.config.load import config_from_text, load_config
from cockpit.config.model import LoraSection, ModelConfig
from cockpit.config.notify import NOTIFY_EVENTS, WEBHOOK_HIDDEN, NotifyConfig
from cockpit.config.patches import apply_patch, parse_overrides, set_name, set_override, write_next_config
from cockpit.config.run import LaunchConfig, RunConfig, SamplesConfig
from cockpit.config.section import DEMO_DATA, DEMO_MODEL, Section
from cockpit.config.training import DataConfig, TrainingConfig
from cockpit.lr import check_lr_value, parse_lr
from cockpit.thresholds import ThresholdError, Thresholds

__all__ = [
    "DEMO_DATA",
    "DEMO_MODEL",
    "NOTIFY_EVENTS",
    "WEBHOOK_HIDDEN",
    "ConfigError",
    "DataConfig",
    "EarlyStopConfig",
    "GuardConfig",
    "LaunchConfig",
    "LoraSection",
    "ModelConfig",
    "NotifyConfig",
    "RunConfig",
    "SamplesConfig",
    "Section",
    "ThresholdError",
    "Thresholds",
    "TrainingConfig",
    "apply_patch",
    "check_lr_value",
    "config_from_text",
    "load_config",
    "parse_lr",
    "parse_overrides",
    "set_name",
    "set_override",
    "write_next_config",
]
