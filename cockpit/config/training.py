"""The `data:` and `training:` sections: what is trained on, and the Hugging Face training arguments."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from cockpit.config.section import DEMO_DATA, Section


class DataConfig(Section):
    path: str = DEMO_DATA
    """JSONL file (instruction/input/output or chat `messages`), a parquet file, or a `datasets` folder."""
    format: Literal["auto", "alpaca", "messages", "text"] = "auto"
    """Row shape; `auto` detects it from the first good row."""
    eval_path: str | None = None
    """Optional held-out file in the same format."""
    eval_ratio: float = Field(0.0, ge=0.0, lt=1.0)
    """Hold this share of the training rows out for eval when no eval_path is given."""
    chat_template: str | None = None
    """A Jinja chat template (or a path to one) overriding the tokenizer's."""
    system_prompt: str | None = None
    """Prepended as a system message to every alpaca-style row."""
    skip_bad: bool = False
    """Drop malformed rows (counted and reported) instead of refusing to start."""
    reasoning_need: Literal["none", "light", "heavy"] = "none"
    """SOP step 0, question 5: how much multi-step reasoning the task needs (you say; not measurable)."""
    general_mix: float = Field(0.0, ge=0.0, le=0.5)
    """General replay, the tuning notes' remedy for forgetting: this share of the training rows is general
    data (0.1: one row in ten), interleaved deterministically with the seed. 0 trains on the task only."""
    general_path: str | None = None
    """The general rows to mix in (same formats as `path`); None is the set shipped in cockpit/general/."""
    general_eval_rows: int = Field(64, ge=0, le=4096)
    """At each evaluation, the loss on this many rows of the shipped general set (`general_eval_loss`),
    read against the base model's: how much general skill the fine-tune costs. 0 turns it off."""


class TrainingConfig(Section):
    learning_rate: float = Field(2e-4, gt=0.0, le=1.0)
    """Peak learning rate. SOP sweep: {5e-5, 1e-4, 2e-4}."""
    max_steps: int = Field(-1, ge=-1)
    """Total optimizer steps; -1 means use num_train_epochs."""
    num_train_epochs: float = Field(1.0, gt=0.0)
    """Epochs over the data when max_steps is -1."""
    per_device_train_batch_size: int = Field(4, ge=1)
    """Micro-batch per device."""
    gradient_accumulation_steps: int = Field(1, ge=1)
    """Micro-batches per optimizer step (effective batch = this x batch x devices)."""
    warmup_ratio: float = Field(0.0, ge=0.0, le=1.0)
    """Share of the steps spent warming the lr up from 0."""
    lr_scheduler_type: Literal[
        "constant", "constant_with_warmup", "linear", "cosine", "cosine_with_restarts", "polynomial"
    ] = "cosine"
    """The lr schedule; SOP: constant or cosine."""
    max_grad_norm: float = Field(1.0, ge=0.0)
    """Gradient clipping bound. The SOP requires it on (0 disables it, and the advisor warns)."""
    weight_decay: float = Field(0.0, ge=0.0)
    """AdamW weight decay."""
    optim: str = "adamw_torch"
    """Optimizer name as transformers knows it (`adamw_torch`, `paged_adamw_8bit`, ...)."""
    bf16: bool = False
    """bf16 mixed precision (CUDA with bf16 support)."""
    fp16: bool = False
    """fp16 mixed precision (older CUDA cards)."""
    logging_steps: int = Field(1, ge=1)
    """Log (and emit a metrics event) every N optimizer steps."""
    save_steps: int = Field(0, ge=0)
    """Checkpoint every N steps; 0 saves only on demand and at the end."""
    save_total_limit: int | None = Field(3, ge=1)
    """Keep at most this many checkpoints (the last good one is always kept)."""
    eval_steps: int = Field(0, ge=0)
    """Evaluate every N steps when there is eval data; 0 never."""
    eval_on_start: bool = False
    """Also evaluate before the first step (an `eval` event at step 0): the base model's eval_loss,
    the reference the run's own eval_loss is read against."""
    max_length: int = Field(512, ge=8)
    """Tokens per sample after the chat template; longer samples are truncated."""
    packing: bool = False
    """Pack several samples into one sequence (faster on GPU, changes loss per step)."""
    group_by_length: bool = False
    """Batch samples of similar length together (less padding; HF's `group_by_length` sampler)."""
    padding_free: bool = False
    """Flatten each batch into one sequence with no pad tokens (TRL `padding_free`; needs an attention
    that honours position ids: flash_attention_2/3, or sdpa in transformers 5). Without packing, TRL does
    not truncate these batches: samples longer than max_length stay whole (check-data reports lengths)."""
    use_liger_kernel: bool = False
    """Liger's fused Triton kernels (RMSNorm, RoPE, SwiGLU, fused linear cross-entropy): needs
    `pip install liger-kernel` and a CUDA GPU."""
    assistant_only_loss: bool = True
    """Loss on the answer tokens only (the prompt is masked)."""
    seed: int = 42
    """Seed for data order, init and dropout."""
    dataloader_num_workers: int = Field(0, ge=0)
    """Data loader worker processes."""

    @model_validator(mode="after")
    def _one_precision(self) -> TrainingConfig:
        if self.bf16 and self.fp16:
            raise ValueError("bf16 and fp16 are both true; pick one")
        return self
