"""A model's module shapes: what the estimate needs to know about it, without its weights.

Two readers that must agree (tests/test_estimate.py checks it on the demo model):
- `from_config_json`: arithmetic on config.json for the Llama-shaped decoders (llama, mistral, qwen2,
  qwen3). No torch import: `cockpit run`'s pre-start check uses it.
- `from_meta`: builds the model from its config on the meta device (no weights, no memory) and lists
  its modules. Exact for any architecture transformers knows; imports torch and transformers, which
  costs 10-20 s on this 2-core box, so only `cockpit estimate` uses it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path


class ShapeError(Exception):
    """The model's shapes cannot be read; the message says why."""


@dataclass(frozen=True)
class Linear:
    name: str
    in_features: int
    out_features: int
    bias: bool = False

    @property
    def params(self) -> int:
        return self.in_features * self.out_features + (self.out_features if self.bias else 0)


@dataclass
class ModelShape:
    model_type: str
    hidden: int
    intermediate: int
    layers: int
    heads: int
    kv_heads: int
    head_dim: int
    vocab: int
    tied: bool
    linears: list[Linear] = field(default_factory=list)
    """Every nn.Linear except the LM head (the ones LoRA can target and bitsandbytes quantizes)."""
    lm_head_params: int = 0
    """The LM head's own parameters; 0 when it shares the input embedding's weight."""
    embed_params: int = 0
    other_params: int = 0
    """Norms and anything else that is neither a Linear nor the embedding."""
    source: str = ""
    checkpoint_bytes: int = 0
    """Size of the weight files on disk (safetensors / bin)."""

    @property
    def linear_params(self) -> int:
        return sum(m.params for m in self.linears)

    @property
    def total_params(self) -> int:
        return self.linear_params + self.lm_head_params + self.embed_params + self.other_params


LLAMA_SHAPED = {"llama", "mistral", "qwen2", "qwen3"}


def read_config(model_dir: Path) -> dict:
    path = Path(model_dir) / "config.json"
    try:
        return json.loads(path.read_text())
    except OSError as e:
        raise ShapeError(f"cannot read {path}: {e.strerror}") from None
    except json.JSONDecodeError as e:
        raise ShapeError(f"{path}:{e.lineno}: not valid JSON ({e.msg})") from None


def from_config_json(model_dir: Path) -> ModelShape:
    return from_config(read_config(model_dir), str(Path(model_dir) / "config.json"))


def from_config(c: dict, where: str, source: str = "config.json") -> ModelShape:
    """The arithmetic on a config.json's fields (`where` names them in an error; `source` says whence)."""
    kind = c.get("model_type")
    if kind not in LLAMA_SHAPED:
        raise ShapeError(f"model_type {kind!r} is not one this fast reader knows ({', '.join(sorted(LLAMA_SHAPED))})")
    try:
        h, i, n = int(c["hidden_size"]), int(c["intermediate_size"]), int(c["num_hidden_layers"])
        heads = int(c["num_attention_heads"])
        kv = int(c.get("num_key_value_heads") or heads)
        hd = int(c.get("head_dim") or h // heads)
        vocab = int(c["vocab_size"])
    except (KeyError, TypeError, ValueError) as e:
        raise ShapeError(f"{where}: missing or bad field {e}") from None
    tied = bool(c.get("tie_word_embeddings", False))  # the default of all four config classes
    attn_bias = bool(c.get("attention_bias", False))
    mlp_bias = bool(c.get("mlp_bias", False))
    qkv_bias = attn_bias or kind == "qwen2"  # Qwen2 always has q/k/v biases and no o_proj bias
    o_bias = attn_bias and kind != "qwen2"
    linears: list[Linear] = []
    for k in range(n):
        a, m = f"model.layers.{k}.self_attn", f"model.layers.{k}.mlp"
        linears += [
            Linear(f"{a}.q_proj", h, heads * hd, qkv_bias),
            Linear(f"{a}.k_proj", h, kv * hd, qkv_bias),
            Linear(f"{a}.v_proj", h, kv * hd, qkv_bias),
            Linear(f"{a}.o_proj", heads * hd, h, o_bias),
            Linear(f"{m}.gate_proj", h, i, mlp_bias),
            Linear(f"{m}.up_proj", h, i, mlp_bias),
            Linear(f"{m}.down_proj", i, h, mlp_bias),
        ]
    norms = n * 2 * h + h + (n * 2 * hd if kind == "qwen3" else 0)  # qwen3 adds q_norm / k_norm per layer
    return ModelShape(
        kind,
        h,
        i,
        n,
        heads,
        kv,
        hd,
        vocab,
        tied,
        linears,
        lm_head_params=0 if tied else vocab * h,
        embed_params=vocab * h,
        other_params=norms,
        source=source,
    )


def from_meta(model_dir: Path, *, trust_remote_code: bool = False) -> ModelShape:
    """Build the model on the meta device and read its modules (any architecture transformers knows)."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    c = read_config(model_dir)
    try:
        config = AutoConfig.from_pretrained(str(model_dir), trust_remote_code=trust_remote_code)
        with torch.device("meta"):
            model = AutoModelForCausalLM.from_config(config, trust_remote_code=trust_remote_code)
    except (OSError, ValueError, KeyError) as e:
        raise ShapeError(f"cannot build {model_dir} on the meta device: {e}") from None
    text = config.get_text_config()
    seen: set[int] = set()
    linears: list[Linear] = []
    lm_head = embed = linear_total = 0
    head = model.get_output_embeddings()
    for name, mod in model.named_modules():
        if isinstance(mod, torch.nn.Linear):
            fresh = [p for p in mod.parameters(recurse=False) if id(p) not in seen]
            seen.update(id(p) for p in fresh)
            if mod is head:
                lm_head += sum(p.numel() for p in fresh)
            else:
                linears.append(Linear(name, mod.in_features, mod.out_features, mod.bias is not None))
                linear_total += sum(p.numel() for p in fresh)
        elif isinstance(mod, torch.nn.Embedding):
            fresh = [p for p in mod.parameters(recurse=False) if id(p) not in seen]
            seen.update(id(p) for p in fresh)
            embed += sum(p.numel() for p in fresh)
    # A tied head is registered under the embedding's module too; whichever was met first counted it.
    total = sum(p.numel() for p in model.parameters())  # parameters() yields a shared tensor once
    heads = int(getattr(text, "num_attention_heads", 1) or 1)
    h = int(text.hidden_size)
    return ModelShape(
        str(c.get("model_type", text.model_type)),
        h,
        int(getattr(text, "intermediate_size", 4 * h) or 4 * h),
        int(text.num_hidden_layers),
        heads,
        int(getattr(text, "num_key_value_heads", heads) or heads),
        int(getattr(text, "head_dim", None) or h // heads),
        int(text.vocab_size),
        bool(getattr(config, "tie_word_embeddings", False)),
        linears,
        lm_head_params=lm_head,
        embed_params=embed,
        other_params=total - linear_total - lm_head - embed,
        source="meta device",
    )


def model_shape(model_dir: Path, *, exact: bool, trust_remote_code: bool = False) -> ModelShape:
    """`exact`: the meta-device build; else config.json arithmetic, falling back to the build."""
    shape = None
    if not exact:
        try:
            shape = from_config_json(model_dir)
        except ShapeError:
            pass
    shape = shape or from_meta(model_dir, trust_remote_code=trust_remote_code)
    shape.checkpoint_bytes = checkpoint_bytes(model_dir)
    return shape


def checkpoint_bytes(model_dir: Path) -> int:
    files = [f for pat in ("*.safetensors", "*.bin") for f in Path(model_dir).glob(pat)]
    return sum(f.stat().st_size for f in files if f.is_file())
