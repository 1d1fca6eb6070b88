"""One record -> one TRL row: detecting the format (alpaca, messages, text) and converting, with a
ValueError that says what is wrong with a row that cannot be used."""

from __future__ import annotations

from typing import Any

ALIASES = (
    ("instruction", "input", "output"),
    ("prompt", None, "response"),
    ("question", None, "answer"),
    ("prompt", None, "completion"),
)
"""(instruction key, optional input key, output key) for alpaca-style rows, tried in this order."""
ROLES = ("system", "user", "assistant", "tool")
_ROLESET = frozenset(ROLES)
FORMATS = ("alpaca", "messages", "text")


def _has(obj: dict, key: str | None) -> bool:
    return key is not None and obj.get(key) is not None


def detect_format(obj: Any) -> str | None:
    """alpaca | messages | text for one record (None: not an object or no known keys).

    Keys whose value is null do not count (parquet fills absent columns with nulls)."""
    if not isinstance(obj, dict):
        return None
    if _has(obj, "messages") or isinstance(obj.get("prompt"), list):
        return "messages"
    for ins, _, out in ALIASES:
        if _has(obj, ins) or _has(obj, out):
            return "alpaca"
    if _has(obj, "text"):
        return "text"
    return None


def text_field(obj: dict, key: str, *, required: bool = True) -> str:
    val = obj.get(key)
    if val is None:
        if required:
            raise ValueError(f"missing '{key}'")
        return ""
    if not isinstance(val, str):
        raise ValueError(f"'{key}' must be a string, got {type(val).__name__}")
    if required and not val.strip():
        raise ValueError(f"'{key}' is empty")
    return val


def alpaca_row(obj: dict, system: list[dict]) -> dict[str, Any]:
    for ins_key, inp_key, out_key in ALIASES:
        if _has(obj, ins_key) or _has(obj, out_key):
            if ins_key == "prompt" and out_key == "response" and not _has(obj, "response") and _has(obj, "completion"):
                continue  # TRL's {"prompt", "completion"}: the last alias
            ins = text_field(obj, ins_key)
            out = text_field(obj, out_key)
            inp = text_field(obj, inp_key, required=False) if inp_key else ""
            user = f"{ins}\n{inp}" if inp.strip() else ins
            return {
                "prompt": system + [{"role": "user", "content": user}],
                "completion": [{"role": "assistant", "content": out}],
            }
    raise ValueError("missing 'instruction'/'output' (or prompt/response, question/answer)")


def _check_messages(msgs: Any, what: str) -> list[dict[str, str]]:
    if not isinstance(msgs, list) or not msgs:
        raise ValueError(f"'{what}' must be a non-empty list of messages")
    roles, dict_ = _ROLESET, dict
    for m in msgs:  # the fast path: every message is a clean {"role", "content"} dict
        if type(m) is not dict_ or len(m) != 2 or m.get("role") not in roles or type(m.get("content")) is not str:
            break
    else:
        return msgs
    clean = []
    for i, m in enumerate(msgs):
        if type(m) is not dict:
            raise ValueError(f"{what}[{i}] is not an object")
        role, content = m.get("role"), m.get("content")
        if role not in _ROLESET:
            raise ValueError(f"{what}[{i}].role is {role!r}; expected one of {', '.join(ROLES)}")
        if type(content) is not str:
            raise ValueError(f"{what}[{i}].content must be a string, got {type(content).__name__}")
        clean.append(m if len(m) == 2 else {"role": role, "content": content})
    return clean


def messages_row(obj: dict) -> dict[str, Any]:
    if "messages" not in obj and isinstance(obj.get("prompt"), list):
        prompt = _check_messages(obj["prompt"], "prompt")
        completion = _check_messages(obj.get("completion"), "completion")
        if len(completion) != 1 or completion[0]["role"] != "assistant":
            raise ValueError("'completion' must be exactly one assistant message")
        if not completion[0]["content"].strip():
            raise ValueError("completion[0] (the assistant's answer) is empty")
        return {"prompt": prompt, "completion": completion}
    msgs = _check_messages(obj.get("messages"), "messages")
    last = -1
    for i, m in enumerate(msgs):
        if m["role"] == "assistant":
            last = i
    if last < 0:
        raise ValueError("no assistant message to learn from")
    if not msgs[last]["content"].strip():
        raise ValueError(f"messages[{last}] (the assistant's answer) is empty")
    if last == 0:
        raise ValueError("the assistant message has no prompt before it")
    return {"prompt": msgs[:last], "completion": [msgs[last]]}


def convert(obj: Any, fmt: str, system_prompt: str | None) -> dict[str, Any]:
    """One record -> a TRL row, or ValueError saying what is wrong with it."""
    if not isinstance(obj, dict):
        raise ValueError(f"expected a JSON object, got {json_type(obj)}")
    if fmt == "alpaca":
        return alpaca_row(obj, [{"role": "system", "content": system_prompt}] if system_prompt else [])
    if fmt == "messages":
        return messages_row(obj)
    if fmt == "text":
        return {"text": text_field(obj, "text")}
    raise ValueError(f"unknown format {fmt!r}")


def json_type(obj: Any) -> str:
    return {
        list: "an array",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
        type(None): "null",
    }.get(type(obj), type(obj).__name__)
