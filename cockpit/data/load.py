"""Loading training data into TRL's conversational prompt-completion rows, with errors by line.

Accepted shapes (`data.format: auto` detects them from the first good row):
- alpaca:   {"instruction": ..., "input": ..., "output": ...}   (aliases: prompt/response, question/answer)
- messages: {"messages": [{"role": "system"|"user"|"assistant", "content": ...}, ...]}
- text:     {"text": ...}                                         (plain language modelling)
from a JSONL file, a .parquet file, or a folder saved with `datasets.save_to_disk`.

Rows come out as {"prompt": [messages...], "completion": [{"role": "assistant", ...}]}, so TRL puts
the loss on the answer only, whatever the model's chat template is.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from cockpit.config import DataConfig

ALIASES = (("instruction", "input", "output"), ("prompt", None, "response"), ("question", None, "answer"))
ROLES = ("system", "user", "assistant", "tool")


class DataError(Exception):
    """Data that cannot be trained on; the message names the file, the line and what is wrong."""


@dataclass
class RowProblem:
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


@dataclass
class LoadedData:
    rows: list[dict[str, Any]]
    eval_rows: list[dict[str, Any]]
    format: str
    source: str
    bad: list[RowProblem] = field(default_factory=list)
    skipped: int = 0
    raw: list[dict[str, Any]] = field(default_factory=list)
    """The original rows (for the audit), in the same order as `rows`."""


def resolve_path(path: str) -> str:
    try:
        from cockpit.demo import resolve_data_path
    except ImportError:
        return path
    return resolve_data_path(path)


def iter_records(path: Path) -> Iterator[tuple[int, Any, str | None]]:
    """(line number, parsed object or None, parse error or None) for every non-blank record."""
    if path.is_dir() or path.suffix == ".parquet":
        for i, rec in enumerate(_iter_datasets(path), 1):
            yield i, rec, None
        return
    try:
        f = open(path, "rb")
    except OSError as e:
        raise DataError(f"{path}: cannot open ({e.strerror or e})") from None
    with f:
        for lineno, raw in enumerate(f, 1):
            if not raw.strip():
                continue
            try:
                yield lineno, json.loads(raw), None
            except UnicodeDecodeError:
                yield lineno, None, "not UTF-8 text (binary data?)"
            except json.JSONDecodeError as e:
                yield lineno, None, f"not valid JSON ({e.msg} at column {e.colno})"


def _iter_datasets(path: Path) -> Iterator[dict[str, Any]]:
    try:
        import datasets
    except ImportError as e:  # pragma: no cover - datasets is a dependency
        raise DataError(f"{path}: reading parquet / datasets folders needs `datasets` ({e})") from None
    try:
        if path.is_dir():
            ds = datasets.load_from_disk(str(path))
            if isinstance(ds, datasets.DatasetDict):
                ds = ds["train"] if "train" in ds else next(iter(ds.values()))
        else:
            ds = datasets.Dataset.from_parquet(str(path))
    except Exception as e:
        raise DataError(f"{path}: cannot read as a datasets folder / parquet file ({e})") from None
    yield from ds


def detect_format(obj: Any) -> str | None:
    if not isinstance(obj, dict):
        return None
    if "messages" in obj:
        return "messages"
    for ins, _, out in ALIASES:
        if ins in obj or out in obj:
            return "alpaca"
    if "text" in obj:
        return "text"
    return None


def convert(obj: Any, fmt: str, system_prompt: str | None) -> dict[str, Any]:
    """One record -> a TRL row, or ValueError saying what is wrong with it."""
    if not isinstance(obj, dict):
        raise ValueError(f"expected a JSON object, got {type(obj).__name__}")
    if fmt == "alpaca":
        for ins_key, inp_key, out_key in ALIASES:
            if ins_key in obj or out_key in obj:
                ins, out = obj.get(ins_key), obj.get(out_key)
                inp = obj.get(inp_key, "") if inp_key else ""
                for key, val in ((ins_key, ins), (out_key, out)):
                    if val is None:
                        raise ValueError(f"missing '{key}'")
                    if not isinstance(val, str):
                        raise ValueError(f"'{key}' must be a string, got {type(val).__name__}")
                    if not val.strip():
                        raise ValueError(f"'{key}' is empty")
                if inp is None:
                    inp = ""
                if not isinstance(inp, str):
                    raise ValueError(f"'{inp_key}' must be a string, got {type(inp).__name__}")
                user = f"{ins}\n{inp}" if inp.strip() else ins
                prompt = ([{"role": "system", "content": system_prompt}] if system_prompt else [])
                return {"prompt": prompt + [{"role": "user", "content": user}],
                        "completion": [{"role": "assistant", "content": out}]}
        raise ValueError("missing 'instruction'/'output' (or prompt/response, question/answer)")
    if fmt == "messages":
        msgs = obj.get("messages")
        if not isinstance(msgs, list) or not msgs:
            raise ValueError("'messages' must be a non-empty list")
        clean = []
        for i, m in enumerate(msgs):
            if not isinstance(m, dict):
                raise ValueError(f"messages[{i}] is not an object")
            role, content = m.get("role"), m.get("content")
            if role not in ROLES:
                raise ValueError(f"messages[{i}].role is {role!r}; expected one of {', '.join(ROLES)}")
            if not isinstance(content, str):
                raise ValueError(f"messages[{i}].content must be a string")
            clean.append({"role": role, "content": content})
        last = max((i for i, m in enumerate(clean) if m["role"] == "assistant"), default=None)
        if last is None:
            raise ValueError("no assistant message to learn from")
        if not clean[last]["content"].strip():
            raise ValueError(f"messages[{last}] (the assistant's answer) is empty")
        if last == 0:
            raise ValueError("the assistant message has no prompt before it")
        return {"prompt": clean[:last], "completion": [clean[last]]}
    if fmt == "text":
        text = obj.get("text")
        if not isinstance(text, str) or not text.strip():
            raise ValueError("'text' must be a non-empty string")
        return {"text": text}
    raise ValueError(f"unknown format {fmt!r}")


def load_file(path_str: str, fmt: str, system_prompt: str | None, skip_bad: bool
              ) -> tuple[list[dict], list[dict], str, list[RowProblem]]:
    path = Path(resolve_path(path_str))
    if not path.exists():
        raise DataError(f"{path}: file not found")
    rows: list[dict] = []
    raw: list[dict] = []
    bad: list[RowProblem] = []
    detected = None if fmt == "auto" else fmt
    for lineno, obj, err in iter_records(path):
        if err is None and detected is None:
            detected = detect_format(obj)
            if detected is None:
                err = "unrecognised row: expected instruction/output, messages, or text keys"
        if err is None:
            other = detect_format(obj)
            if other is not None and other != detected:
                err = f"mixed formats: this row is {other}, the file is {detected}"
        if err is None:
            try:
                rows.append(convert(obj, detected, system_prompt))  # type: ignore[arg-type]
                raw.append(obj)
                continue
            except ValueError as e:
                err = str(e)
        bad.append(RowProblem(str(path), lineno, err))
    if bad and not skip_bad:
        shown = "\n  ".join(str(b) for b in bad[:5])
        more = f"\n  ... and {len(bad) - 5} more" if len(bad) > 5 else ""
        raise DataError(f"{len(bad)} malformed row{'s' if len(bad) > 1 else ''} in {path} "
                        f"(fix them, or set data.skip_bad / --skip-bad to drop them):\n  {shown}{more}")
    if not rows:
        raise DataError(f"{path}: no usable rows" + (f" ({len(bad)} malformed)" if bad else " (the file is empty)"))
    return rows, raw, detected or "auto", bad


def load_training_data(data_cfg: DataConfig, *, skip_bad: bool | None = None, seed: int = 42) -> LoadedData:
    skip = data_cfg.skip_bad if skip_bad is None else skip_bad
    rows, raw, fmt, bad = load_file(data_cfg.path, data_cfg.format, data_cfg.system_prompt, skip)
    eval_rows: list[dict] = []
    if data_cfg.eval_path:
        eval_rows, _, _, ebad = load_file(data_cfg.eval_path, fmt, data_cfg.system_prompt, skip)
        bad += ebad
    elif data_cfg.eval_ratio > 0 and len(rows) >= 10:
        order = list(range(len(rows)))
        random.Random(seed).shuffle(order)
        n_eval = max(1, int(len(rows) * data_cfg.eval_ratio))
        held = set(order[:n_eval])
        eval_rows = [r for i, r in enumerate(rows) if i in held]
        raw = [r for i, r in enumerate(raw) if i not in held]
        rows = [r for i, r in enumerate(rows) if i not in held]
    return LoadedData(rows=rows, eval_rows=eval_rows, format=fmt, source=str(resolve_path(data_cfg.path)),
                      bad=bad, skipped=len(bad), raw=raw)
