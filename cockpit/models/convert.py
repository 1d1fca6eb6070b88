"""GGUF -> a plain Hugging Face folder (config, safetensors, tokenizer, chat template).

transformers loads a GGUF file (dequantising its weights) but refuses to `save_pretrained` a model
loaded that way ("quantized with gguf ... not serializable"), and loading GGUF takes ~20 s of
dequantisation each time. So the weights are copied once into a fresh model built from the same config
without the GGUF marker, and saved as safetensors: every run, merge and check-data then loads a plain
folder, like any hub model. Heavy imports stay inside the function.
"""

from __future__ import annotations

from pathlib import Path


def gguf_to_hf(gguf_file: Path, out: Path) -> None:
    """Write a plain HF model folder for `gguf_file` into `out` (which must not exist)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder, name = str(gguf_file.parent), gguf_file.name
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    loaded = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    config = loaded.config
    # The GGUF marker is what makes save_pretrained refuse, and the weights are already dequantised.
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    config.name_or_path = ""
    with torch.device("meta"):
        plain = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    # assign=True takes the loaded tensors as they are (no copy into meta tensors); tied weights
    # (SmolLM2 ties lm_head to the embeddings) are re-tied afterwards.
    plain.load_state_dict(loaded.state_dict(), strict=True, assign=True)
    plain.tie_weights()
    plain.generation_config = loaded.generation_config
    plain.eval()
    out.mkdir(parents=True)
    plain.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
