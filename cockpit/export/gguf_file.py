"""Write a Llama-architecture Hugging Face folder as one GGUF file with the `gguf` package.

What llama.cpp's own converter does for Llama, kept to that one architecture: hyperparameters under
`llama.*` keys, tensors renamed by gguf's tensor-name map, Q and K rows permuted into llama.cpp's rotary
layout (transformers undoes this when it reads the file), 1-D tensors (norms) always F32, the
tokenizer (byte-level BPE: tokens, types, merges, special ids) and the chat template in the metadata.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def _permute(w, n_head: int, n_head_kv: int | None):
    """HF's rotate-half Q/K rows -> llama.cpp's interleaved rope layout (llama.cpp convert_hf_to_gguf)."""
    if n_head_kv is not None and n_head != n_head_kv:
        n_head = n_head_kv
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def _tensor(data, outtype: str, fallbacks: list[str], name: str):
    """(array, raw_dtype) for one tensor; Q8_0 needs rows that are a multiple of its 32-value block."""
    import numpy as np
    from gguf import GGMLQuantizationType as Q
    from gguf import quants

    data = data.astype(np.float32)
    if data.ndim <= 1 or outtype == "f32":
        return data, Q.F32
    if outtype == "f16":
        return quants.quantize(data, Q.F16), Q.F16
    if outtype == "bf16":
        return quants.quantize(data, Q.BF16), Q.BF16
    if data.shape[-1] % 32:  # llama.cpp does the same: such rows cannot be Q8_0 blocks, keep them F16
        fallbacks.append(name)
        return quants.quantize(data, Q.F16), Q.F16
    return quants.quantize(data, Q.Q8_0), Q.Q8_0


def _tokenizer(writer, model_dir: Path) -> dict[str, Any]:
    import gguf
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(model_dir))
    tj = json.loads((model_dir / "tokenizer.json").read_text())
    if (tj.get("model") or {}).get("type") != "BPE":
        from cockpit.export import ExportRefused

        raise ExportRefused(
            f"{model_dir}/tokenizer.json is a {(tj.get('model') or {}).get('type')} tokenizer; "
            "the GGUF export writes byte-level BPE tokenizers (GPT-2 style, as Llama 3 and "
            "SmolLM2 use)"
        )
    vocab = tok.get_vocab()
    n = max(len(vocab), max(vocab.values()) + 1)
    by_id = {i: t for t, i in vocab.items()}
    special = set(tok.all_special_ids) | {i for i, t in tok.added_tokens_decoder.items() if t.special}
    tokens, types = [], []
    for i in range(n):
        t = by_id.get(i)
        if t is None:  # a hole in the ids: llama.cpp expects a dense list
            tokens.append(f"[PAD{i}]")
            types.append(gguf.TokenType.UNUSED)
        else:
            tokens.append(t)
            types.append(gguf.TokenType.CONTROL if i in special else gguf.TokenType.NORMAL)
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("default")
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    sv = gguf.SpecialVocab(model_dir, load_merges=True, n_vocab=n)
    sv.add_to_gguf(writer, quiet=True)
    template = tok.chat_template
    if template and not sv.chat_template:
        writer.add_chat_template(template)
    return {"tokens": n, "special": len(special), "merges": len(sv.merges), "chat_template": bool(template)}


def write_gguf(model_dir: Path, path: Path, outtype: str) -> dict[str, Any]:
    """Write `model_dir` (a merged Llama model) to `path`; returns what was written."""
    import gguf
    import numpy as np  # noqa: F401 - the tensors below are numpy arrays
    from safetensors import safe_open

    cfg = json.loads((model_dir / "config.json").read_text())
    n_layers, n_head = cfg["num_hidden_layers"], cfg["num_attention_heads"]
    n_kv = cfg.get("num_key_value_heads", n_head)
    hidden = cfg["hidden_size"]
    head_dim = cfg.get("head_dim") or hidden // n_head
    rope = cfg.get("rope_parameters") or {}
    theta = rope.get("rope_theta", cfg.get("rope_theta", 10000.0))
    if rope.get("rope_type", "default") not in ("default", None):
        from cockpit.export import ExportRefused

        raise ExportRefused(f"rope_type {rope.get('rope_type')!r} (rope scaling) is not written by this export yet")
    ftype = {
        "f32": gguf.LlamaFileType.ALL_F32,
        "f16": gguf.LlamaFileType.MOSTLY_F16,
        "bf16": gguf.LlamaFileType.MOSTLY_BF16,
        "q8_0": gguf.LlamaFileType.MOSTLY_Q8_0,
    }[outtype]

    arch = gguf.MODEL_ARCH_NAMES[gguf.MODEL_ARCH.LLAMA]
    writer = gguf.GGUFWriter(str(path), arch)
    writer.add_name(model_dir.parent.name if model_dir.name == "merged" else model_dir.name)
    writer.add_context_length(cfg.get("max_position_embeddings", 2048))
    writer.add_embedding_length(hidden)
    writer.add_block_count(n_layers)
    writer.add_feed_forward_length(cfg["intermediate_size"])
    writer.add_head_count(n_head)
    writer.add_head_count_kv(n_kv)
    writer.add_rope_dimension_count(head_dim)
    writer.add_rope_freq_base(float(theta))
    writer.add_layer_norm_rms_eps(float(cfg.get("rms_norm_eps", 1e-6)))
    writer.add_vocab_size(cfg["vocab_size"])
    writer.add_file_type(ftype)
    tok_info = _tokenizer(writer, model_dir)

    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.LLAMA, n_layers)
    tied = cfg.get("tie_word_embeddings", False)
    files = sorted(model_dir.glob("*.safetensors"))
    if not files:
        from cockpit.export import ExportRefused

        raise ExportRefused(f"{model_dir} has no .safetensors weights")
    fallbacks: list[str] = []
    count = 0
    for f in files:
        with safe_open(str(f), framework="pt") as st:
            for hf_name in st.keys():
                if hf_name.endswith("rotary_emb.inv_freq") or (tied and hf_name == "lm_head.weight"):
                    continue
                new = names.get_name(hf_name, try_suffixes=(".weight", ".bias"))
                if new is None:
                    from cockpit.export import ExportRefused

                    raise ExportRefused(f"{hf_name}: no GGUF name for this Llama tensor")
                data = st.get_tensor(hf_name).float().numpy()
                if hf_name.endswith("q_proj.weight"):
                    data = _permute(data, n_head, n_head)
                elif hf_name.endswith("k_proj.weight"):
                    data = _permute(data, n_head, n_kv)
                arr, qtype = _tensor(data, outtype, fallbacks, new)
                writer.add_tensor(new, arr, raw_dtype=qtype)  # quantized bytes: gguf derives the shape
                count += 1
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return {"tensors": count, "tied_embeddings": tied, "kept_f16_for_q8_0": fallbacks, "tokenizer": tok_info}
