"""Models for bench/gpu_check.py, built from real architectures' config numbers with random weights: no hub.

    python bench/gpu_models.py OUT_DIR [--tiny]     # both models, and what the checks import, as JSON

The tokenizer is the demo's byte-level BPE (1,024 tokens) trained on the packaged data; the embedding
keeps the real vocabulary size (151,936 / 128,256 rows), so weights, logits and the optimizer are what a
user of that model meets, and the rows past the tokenizer are never produced (a real Qwen2.5 has 271
such rows too). Built on the GPU when there is one (random init of 1.2B parameters on a CPU takes a
minute), saved as bf16 safetensors like a real checkpoint.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SHAPES: dict[str, dict] = {
    # Qwen/Qwen2.5-0.5B-Instruct's config.json: 494M parameters (136M of them the tied embedding).
    "qwen2.5-0.5b": dict(
        model_type="qwen2",
        hidden_size=896,
        intermediate_size=4864,
        num_hidden_layers=24,
        num_attention_heads=14,
        num_key_value_heads=2,
        vocab_size=151_936,
        max_position_embeddings=32_768,
        rope_theta=1_000_000.0,
        rms_norm_eps=1e-6,
        tie_word_embeddings=True,
    ),
    # meta-llama/Llama-3.2-1B's config.json: 1.24B parameters (263M of them the tied embedding). The
    # Llama architecture is what `cockpit export --gguf` takes.
    "llama3.2-1b": dict(
        model_type="llama",
        hidden_size=2048,
        intermediate_size=8192,
        num_hidden_layers=16,
        num_attention_heads=32,
        num_key_value_heads=8,
        head_dim=64,
        vocab_size=128_256,
        max_position_embeddings=131_072,
        rope_theta=500_000.0,
        rms_norm_eps=1e-5,
        tie_word_embeddings=True,
    ),
}

TINY = dict(
    hidden_size=64,
    intermediate_size=128,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    head_dim=16,
    vocab_size=1_280,  # past the tokenizer's 1,024, as in the real models
    max_position_embeddings=2_048,
)
"""--tiny: the same architectures at a size the CPU test trains in seconds."""


def shape(name: str, tiny: bool) -> dict:
    s = dict(SHAPES[name])
    if tiny:
        s.update(TINY)
    if s["model_type"] == "qwen2":
        s.pop("head_dim", None)  # Qwen2 derives it: hidden / heads
    return s


def packaged_texts() -> list[str]:
    from cockpit.demo import make_data

    rows = make_data.rows(600, seed=7)
    return [f"{r['instruction']}\n{r['input']} {r['output']}" for r in rows]


def build(out: Path, name: str, tiny: bool) -> dict:
    """Write the model and its tokenizer to `out`; return what was built."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    from cockpit.demo.model import build_tokenizer

    t0 = time.time()
    tok = build_tokenizer(packaged_texts())
    s = shape(name, tiny)
    cfg = AutoConfig.for_model(
        s.pop("model_type"),
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
        **s,
    )
    device = "cuda" if torch.cuda.is_available() else "cpu"
    torch.manual_seed(0)
    with torch.device(device):
        model = AutoModelForCausalLM.from_config(cfg, dtype=torch.bfloat16)
    params = sum(p.numel() for p in model.parameters())
    model.save_pretrained(out)
    tok.save_pretrained(out)
    del model
    return {"name": name, "path": str(out), "params": params, "device": device, "seconds": round(time.time() - t0, 1)}


STACK = (
    "torch",
    "transformers",
    "peft",
    "trl",
    "bitsandbytes",
    "datasets",
    "accelerate",
    "gguf",
    "textual",
    "pydantic",
    "orjson",
    "cockpit.trainer.main",
    "cockpit.tui.app",
)
"""What the checks import. Tried here, in the one process that pays for importing the ML stack anyway."""


def imports() -> dict:
    import importlib

    out: dict = {}
    for m in STACK:
        try:
            out[m] = getattr(importlib.import_module(m), "__version__", "ok")
        except Exception as e:  # noqa: BLE001 - each missing piece is reported, not the first only
            out[m] = f"FAILED: {type(e).__name__}: {e}"
    import torch

    out["cuda"] = torch.version.cuda
    out["cuda_available"] = torch.cuda.is_available()
    out["device"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--tiny", action="store_true")
    a = ap.parse_args()
    found = imports()
    print(json.dumps({"imports": found}), flush=True)
    if any(isinstance(v, str) and v.startswith("FAILED") for v in found.values()):
        return 3
    for name in SHAPES:
        path = Path(a.out) / name
        built = json.loads((path / "built.json").read_text()) if (path / "built.json").exists() else None
        if built is None or built.get("tiny") != a.tiny:  # --work reused: the models are built once
            built = {**build(path, name, a.tiny), "tiny": a.tiny}
            (path / "built.json").write_text(json.dumps(built))
        print(json.dumps({"model": built}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
