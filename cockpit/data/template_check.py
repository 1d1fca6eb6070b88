"""The chat-template check: the prompt rendered at training time must equal, byte for byte, what
inference sends (`add_generation_prompt=True`), and only the answer may carry loss."""

from __future__ import annotations

import difflib
from typing import Any


def render_lengths(tokenizer, rows: list[dict]) -> list[int]:
    out = []
    for r in rows:
        if "text" in r:
            out.append(len(tokenizer(r["text"], add_special_tokens=False)["input_ids"]))
        elif getattr(tokenizer, "chat_template", None):
            ids = tokenizer.apply_chat_template(r["prompt"] + r["completion"], tokenize=True)
            out.append(len(ids["input_ids"] if hasattr(ids, "keys") else ids))
        else:
            text = "".join(m["content"] for m in r["prompt"] + r["completion"])
            out.append(len(tokenizer(text, add_special_tokens=False)["input_ids"]))
    return out


def check_template(tokenizer, row: dict) -> dict[str, Any]:
    if not getattr(tokenizer, "chat_template", None):
        return {"prompt_match": False, "diff": "the tokenizer has no chat template", "loss_tokens": 0,
                "total_tokens": 0, "masked_ok": False}
    full = tokenizer.apply_chat_template(row["prompt"] + row["completion"], tokenize=False)
    infer = tokenizer.apply_chat_template(row["prompt"], tokenize=False, add_generation_prompt=True)
    match = full.startswith(infer)
    diff = ""
    if not match:
        train_prefix = full[:len(infer)]
        diff = "\n".join(difflib.unified_diff(train_prefix.splitlines(), infer.splitlines(), "training (prompt part)",
                                              "inference (add_generation_prompt)", lineterm=""))
        if not diff:
            diff = f"training: {train_prefix!r}\ninference: {infer!r}"
    # Loss tokens as TRL's prompt-completion collator masks them: everything after the prompt rendering.
    full_ids = tokenizer(full, add_special_tokens=False)["input_ids"]
    prompt_ids = tokenizer(infer, add_special_tokens=False)["input_ids"]
    loss = len(full_ids) - len(prompt_ids) if match else 0
    answer = row["completion"][0]["content"]
    answer_ids = tokenizer(answer, add_special_tokens=False)["input_ids"]
    return {"prompt_match": match, "diff": diff, "loss_tokens": max(0, loss), "total_tokens": len(full_ids),
            "answer_tokens": len(answer_ids), "masked_ok": match and 0 < loss <= len(answer_ids) + 8,
            "training_text": full[:300], "inference_text": infer[:300]}
