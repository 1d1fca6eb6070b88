"""Shapes the estimate knows without a model folder: the demo model's recipe, the known real models, and a
table of common open architectures (the config.json fields the arithmetic reads).

An estimate needs shapes, not weights: sizing a 16 GB model must not wait for its download, nor the demo's
estimate for the demo model's build (minutes on a busy machine). The numbers are those of each model's
published config.json; `tests/test_estimate.py` checks the demo's and SmolLM2's against the built folders.
"""

from __future__ import annotations

import re

LLAMA_KEYS = ("hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads")


def _cfg(model_type: str, fields: tuple[int, int, int, int, int], vocab: int, tied: bool, **extra) -> dict:
    return {"model_type": model_type, **dict(zip(LLAMA_KEYS, fields)), "vocab_size": vocab,
            "tie_word_embeddings": tied, **extra}  # fmt: skip


DEMO = _cfg("llama", (128, 344, 4, 4, 4), 937, True, head_dim=32)
"""The demo model as `cockpit.demo.model` builds it (its tokenizer's vocabulary comes out at 937)."""

TABLE: dict[str, dict] = {
    # Llama 3.x (meta-llama/...)
    "llama-3.1-8b": _cfg("llama", (4096, 14336, 32, 32, 8), 128256, False),
    "llama-3.2-1b": _cfg("llama", (2048, 8192, 16, 32, 8), 128256, True, head_dim=64),
    "llama-3.2-3b": _cfg("llama", (3072, 8192, 28, 24, 8), 128256, True, head_dim=128),
    # Qwen2.5 (Qwen/...): q/k/v carry biases (the arithmetic knows it from model_type)
    "qwen2.5-0.5b": _cfg("qwen2", (896, 4864, 24, 14, 2), 151936, True),
    "qwen2.5-1.5b": _cfg("qwen2", (1536, 8960, 28, 12, 2), 151936, True),
    "qwen2.5-3b": _cfg("qwen2", (2048, 11008, 36, 16, 2), 151936, True),
    "qwen2.5-7b": _cfg("qwen2", (3584, 18944, 28, 28, 4), 152064, False),
    "qwen2.5-14b": _cfg("qwen2", (5120, 13824, 48, 40, 8), 152064, False),
    # Qwen3 (Qwen/...): head_dim 128 whatever the width
    "qwen3-0.6b": _cfg("qwen3", (1024, 3072, 28, 16, 8), 151936, True, head_dim=128),
    "qwen3-8b": _cfg("qwen3", (4096, 12288, 36, 32, 8), 151936, False, head_dim=128),
    # Mistral (mistralai/...)
    "mistral-7b-v0.3": _cfg("mistral", (4096, 14336, 32, 32, 8), 32768, False),
    # SmolLM2 (HuggingFaceTB/...)
    "smollm2-135m": _cfg("llama", (576, 1536, 30, 9, 3), 49152, True),
    "smollm2-360m": _cfg("llama", (960, 2560, 32, 15, 5), 49152, True),
    "smollm2-1.7b": _cfg("llama", (2048, 8192, 24, 32, 32), 49152, True),
}
"""Base and -Instruct/-it variants share a shape: the lookup strips the organisation and those suffixes."""

_SUFFIX = re.compile(r"-(instruct|chat|it|base)$")


def table_key(name: str) -> str:
    """`meta-llama/Llama-3.1-8B-Instruct` -> `llama-3.1-8b`: how a hub id is looked up in TABLE."""
    stem = name.rsplit("/", 1)[-1].lower()
    return _SUFFIX.sub("", stem)


def bundled(name: str) -> dict | None:
    """The table's config fields for a hub id (or a known model's short name), or None."""
    return TABLE.get(table_key(name))
