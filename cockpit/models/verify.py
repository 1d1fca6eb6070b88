"""Checks a converted model must pass before it is put in the cache: the config's shape, the parameter
count, and a greedy answer to a question whose answer is known. A conversion that silently scrambled
weights would still load; only the answer shows it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cockpit.models.registry import KnownModel


class VerifyError(Exception):
    """The converted model is not the model it should be."""


def verify(model: KnownModel, folder: Path) -> dict[str, Any]:
    """The checks' results (written next to the model as verified.json); raises VerifyError."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(folder)
    lm = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
    lm.eval()
    for key, want in model.shape.items():
        got = getattr(lm.config, key, None)
        if got != want:
            raise VerifyError(f"config {key} is {got}, expected {want}")
    params = sum(p.numel() for p in lm.parameters())
    if params < model.min_params:
        raise VerifyError(f"{params:,} parameters, expected at least {model.min_params:,}")
    for name, p in lm.named_parameters():
        if not torch.isfinite(p).all():
            raise VerifyError(f"{name} holds NaN or inf")
    if not tok.chat_template:
        raise VerifyError("the tokenizer has no chat template")
    msgs = [{"role": "user", "content": model.check_prompt}]
    enc = tok.apply_chat_template(msgs, add_generation_prompt=True, return_tensors="pt", return_dict=True)
    with torch.no_grad():
        out = lm.generate(**enc, max_new_tokens=24, do_sample=False, pad_token_id=tok.pad_token_id)
    answer = tok.decode(out[0, enc["input_ids"].shape[1] :], skip_special_tokens=True).strip()
    if model.check_answer.lower() not in answer.lower():
        raise VerifyError(
            f"greedy answer to {model.check_prompt!r} is {answer!r}; expected it to contain {model.check_answer!r}"
        )
    return {
        "params": params,
        "shape": {k: getattr(lm.config, k) for k in model.shape},
        "prompt": model.check_prompt,
        "answer": answer,
        "source": model.spec,
        "member": model.member,
    }
