"""The whole run config (`RunConfig`) and its two small sections, `samples:` and `launch:`."""

from __future__ import annotations

import unicodedata
from typing import Literal

import yaml
from pydantic import Field, field_validator, model_validator

from cockpit.config.guards import GuardConfig
from cockpit.config.model import LoraSection, ModelConfig
from cockpit.config.notify import NotifyConfig
from cockpit.config.section import Section
from cockpit.config.training import DataConfig, TrainingConfig
from cockpit.thresholds import Thresholds


class SamplesConfig(Section):
    prompts: list[str] = Field(default_factory=list)
    """Prompts generated from during training (greedy), rendered with the chat template."""
    every: int = Field(0, ge=0)
    """Generate every N steps; 0 only when asked (`g` in the cockpit)."""
    max_new_tokens: int = Field(48, ge=1, le=4096)
    """Bound on each generation."""
    on_start: bool = True
    """With `every` set: also generate before the first step, the base model's answers to compare with."""
    general_prompts: int = Field(2, ge=0, le=8)
    """Questions from the shipped general set generated beside the task's prompts (when there are any): a
    model that forgets shows it in its answers. 0: the task's prompts only."""


class LaunchConfig(Section):
    num_processes: int = Field(1, ge=1)
    """Processes per node (one per GPU)."""
    backend: Literal["torchrun", "accelerate"] = "torchrun"
    """Launcher for num_processes > 1."""
    accelerate_config: str | None = None
    """accelerate config file (DeepSpeed ZeRO / FSDP) when backend is accelerate."""
    nnodes: int = Field(1, ge=1)
    """Nodes in a multi-node run."""
    node_rank: int = Field(0, ge=0)
    """This node's rank."""
    rdzv_endpoint: str | None = None
    """host:port of the rendezvous (rank-0 host) for multi-node runs."""


class RunConfig(Section):
    """One run, as written to `runs/<id>/config.yaml`."""

    name: str = "run"
    """Run name; the run directory is `<name>-<timestamp>`."""
    model: ModelConfig = Field(default_factory=ModelConfig)
    lora: LoraSection = Field(default_factory=LoraSection)
    data: DataConfig = Field(default_factory=DataConfig)
    training: TrainingConfig = Field(default_factory=TrainingConfig)
    thresholds: Thresholds = Field(default_factory=Thresholds)
    guards: GuardConfig = Field(default_factory=GuardConfig)
    samples: SamplesConfig = Field(default_factory=SamplesConfig)
    notify: NotifyConfig = Field(default_factory=NotifyConfig)
    launch: LaunchConfig = Field(default_factory=LaunchConfig)
    keys: dict[str, str] = Field(default_factory=dict)
    """Key remapping for the cockpit: binding id -> keys, e.g. `pause: ctrl+p`."""
    sop_stage: int | None = Field(None, ge=0, le=8)
    """The SOP stage this run is for, when you know it (the advisor infers it otherwise)."""

    @field_validator("name")
    @classmethod
    def _safe_name(cls, v: str) -> str:
        if not v or any(c in v for c in "/\\") or v.startswith("."):
            raise ValueError("must be a plain name (no slashes, not starting with '.')")
        # A newline or escape in a name would forge lines in `cockpit ls` and drive the terminal.
        bad = next((c for c in v if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp")), None)
        if bad is not None:
            raise ValueError(f"must be a plain name (no control characters: {bad!r})")
        return v

    @model_validator(mode="after")
    def _evaluations_for_eval_guards(self) -> RunConfig:
        g = self.guards
        if g.early_stop is None and g.on_overfit == "off":
            return self
        which = "guards.early_stop" if g.early_stop is not None else "guards.on_overfit"
        if self.training.eval_steps <= 0:
            raise ValueError(
                f"{which} needs evaluations: set training.eval_steps (and data.eval_ratio or data.eval_path)"
            )
        if not self.data.eval_path and self.data.eval_ratio <= 0:
            raise ValueError(f"{which} needs eval data: set data.eval_ratio or data.eval_path")
        return self

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False)
