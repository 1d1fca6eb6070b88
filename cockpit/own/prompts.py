"""The prompt a `sample` command generates from when the script names none: the training data's first.

TRL's dataset shapes, in the order they are tried: `prompt` (text, or a conversation whose user turns
count), `messages` / `conversations` (the first user turn), `text`; a tokenized dataset's first row is
decoded, cut to a prompt's length.
"""

from __future__ import annotations

from typing import Any

MAX_CHARS = 200
"""A prompt is the start of a row: a long document would make every sample a long generation."""


def first_prompt(dataset: Any, tokenizer: Any = None) -> str | None:
    try:
        row = dataset[0]
    except Exception:  # an iterable dataset, or none: no prompt to take
        return None
    if not isinstance(row, dict):
        return None
    for key in ("prompt", "messages", "conversations"):
        text = _prompt_of(row.get(key))
        if text:
            return text[:MAX_CHARS]
    if isinstance(row.get("text"), str) and row["text"].strip():
        return row["text"][: MAX_CHARS // 2]
    ids = row.get("input_ids")
    if ids is not None and tokenizer is not None and hasattr(tokenizer, "decode"):
        try:
            return tokenizer.decode(list(ids)[:16], skip_special_tokens=True) or None
        except Exception:
            return None
    return None


def _prompt_of(value: Any) -> str | None:
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, list):
        for turn in value:
            if (
                isinstance(turn, dict)
                and turn.get("role") in ("user", "human")
                and isinstance(turn.get("content"), str)
            ):
                return turn["content"]
            if isinstance(turn, dict) and turn.get("from") == "human" and isinstance(turn.get("value"), str):
                return turn["value"]
    return None
