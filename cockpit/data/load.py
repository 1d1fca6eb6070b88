"""Loading training data into TRL's conversational prompt-completion rows, with errors by line.

Accepted shapes (`data.format: auto` detects them from the first usable row):

- alpaca:   {"instruction": ..., "input": ..., "output": ...}
            aliases: {"prompt": ..., "response": ...}, {"question": ..., "answer": ...},
                     {"prompt": "...", "completion": "..."} (TRL's standard prompt-completion)
- messages: {"messages": [{"role": "system"|"user"|"assistant"|"tool", "content": ...}, ...]}
            also TRL's conversational {"prompt": [messages], "completion": [assistant message]}
- text:     {"text": ...}                                         (plain language modelling)

from a JSONL file (a `.json` file holding one array of rows works too), a `.parquet` file, or a
folder written by `datasets.Dataset.save_to_disk` (`datasets` is imported only for those two).

Rows come out as `{"prompt": [messages...], "completion": [{"role": "assistant", ...}]}` (TRL's
conversational prompt-completion form, so TRL puts the loss on the answer only, whatever the model's
chat template is), or `{"text": ...}` for text data (the trainer then does language modelling).

- alpaca: prompt = [system (data.system_prompt, when set)] + user (the instruction, plus "\\n" and
  the input when the input is not empty); completion = the output.
- messages: prompt = every message before the LAST assistant message; completion = that message.

A malformed row (not JSON, not an object, a missing / empty / wrongly typed field, a row of another
format than the file's) is a `RowProblem(file, line, message)`. Without `skip_bad` any problem raises
one `DataError` listing the first 5 as `path:line: what is wrong` and the count; with `skip_bad` the
rows are dropped and counted in `LoadedData.skipped`. For parquet / datasets folders the "line" is
the 1-based row number. No usable row at all is always a `DataError`.
"""

from __future__ import annotations

import codecs
import json
import os
import random
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from cockpit.config import DataConfig
from cockpit.jsonline import TOO_DEEP, BrokenText, loads_line, lone_surrogate, may_hold_surrogates

ALIASES = (("instruction", "input", "output"), ("prompt", None, "response"), ("question", None, "answer"),
           ("prompt", None, "completion"))
"""(instruction key, optional input key, output key) for alpaca-style rows, tried in this order."""
ROLES = ("system", "user", "assistant", "tool")
_ROLESET = frozenset(ROLES)
FORMATS = ("alpaca", "messages", "text")
MAX_SHOWN = 5
DEFAULT_MAX_DATA_BYTES = 4 << 30
"""4 GiB of JSONL is ~10 million chat rows, and 10-20 GiB of RAM once parsed; `COCKPIT_MAX_DATA_BYTES`
raises it. Larger sets belong in parquet / a datasets folder."""
MAX_LINE_BYTES = 64 << 20
"""A "line" longer than this is not a row of a JSONL file (a binary file has few newlines)."""
_BLOCK = 4 << 20


class DataError(Exception):
    """Data that cannot be trained on; the message names the file, the line and what is wrong."""

    def __init__(self, message: str, problems: list["RowProblem"] | None = None):
        super().__init__(message)
        self.problems = problems or []


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
    """Training rows: {"prompt": [...], "completion": [...]} or {"text": ...}."""
    eval_rows: list[dict[str, Any]]
    """Held-out rows: from data.eval_path, or the data.eval_ratio split (deterministic with the seed)."""
    format: str
    """The detected (or configured) format: alpaca | messages | text."""
    source: str
    """The resolved training data path."""
    bad: list[RowProblem] = field(default_factory=list)
    """Every malformed row found (training and eval files); non-empty only with skip_bad."""
    skipped: int = 0
    """How many malformed rows were dropped."""
    raw: list[dict[str, Any]] = field(default_factory=list)
    """The original records behind `rows`, in the same order."""
    eval_source: str | None = None
    """The resolved eval_path, when one was given."""
    general_mix: Any = None
    """General replay added to the training rows (cockpit.general.mix.Mix), set where the rows are mixed."""


def resolve_path(path: str) -> str:
    """`demo:instructions` -> the packaged file (via cockpit.demo, when it is there); others unchanged."""
    try:
        from cockpit.demo import resolve_data_path
    except ImportError:
        return path
    return str(resolve_data_path(path))


# --------------------------------------------------------------------------------------------------
# Reading records


def iter_records(path: Path) -> Iterator[tuple[int, Any, str | None]]:
    """(line number, parsed object or None, parse error or None) for every non-blank record."""
    if path.is_dir() or path.suffix.lower() == ".parquet":
        for i, rec in enumerate(_read_datasets(path), 1):
            yield i, rec, None
        return
    cap = max_data_bytes()
    with _open_data_file(path, cap) as f:
        first = f.read(min(_BLOCK, cap + 1))
        if len(first) > cap:
            raise _too_big(path, len(first), cap)
        if first.startswith(codecs.BOM_UTF8):
            first = first[len(codecs.BOM_UTF8):]
        if path.suffix.lower() == ".json" and first.lstrip()[:1] == b"[":
            yield from _json_array(path, first + _read_capped(path, f, cap - len(first), cap))
            return
        yield from _jsonl(path, f, first, cap)


def max_data_bytes() -> int:
    """The largest data file read: every row is kept in memory (several times its size as Python
    objects), so a mistyped path to a model file or a disk image is refused before it is read."""
    try:
        return int(os.environ.get("COCKPIT_MAX_DATA_BYTES", "")) or DEFAULT_MAX_DATA_BYTES
    except ValueError:
        return DEFAULT_MAX_DATA_BYTES


def _open_data_file(path: Path, cap: int):
    """The file opened for reading, or DataError: not a regular file (/dev/zero, a FIFO: reading one
    never ends or blocks), or larger than `cap`."""
    try:
        st = path.stat()
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e.strerror or e})") from None
    if not stat.S_ISREG(st.st_mode):
        raise DataError(f"{path}: not a regular file ({_file_kind(st.st_mode)}); data.path must name a .jsonl, "
                        ".json or .parquet file or a datasets folder")
    if st.st_size > cap:
        raise _too_big(path, st.st_size, cap)
    try:
        return open(path, "rb")
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e.strerror or e})") from None


def _file_kind(mode: int) -> str:
    for test, name in ((stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISFIFO, "a named pipe"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a file"


def _too_big(path: Path, size: int, cap: int) -> DataError:
    return DataError(f"{path}: {_gib(size)} or more, over the {_gib(cap)} a data file may have (its rows are all "
                     "held in memory): is data.path the right file? Split it, save it as parquet, or raise "
                     "the limit with COCKPIT_MAX_DATA_BYTES")


def _gib(n: int) -> str:
    return f"{n / (1 << 30):.1f} GiB" if n >= 1 << 30 else f"{n / (1 << 20):.1f} MiB"


def _read_capped(path: Path, f, left: int, cap: int) -> bytes:
    """The rest of f, at most `left` bytes; DataError past that (a file that grew while it was read)."""
    data = f.read(left + 1)
    if len(data) > left:
        raise _too_big(path, cap + 1, cap)
    return data


def _jsonl(path: Path, f, first: bytes, cap: int) -> Iterator[tuple[int, Any, str | None]]:
    """The records of a JSONL file, read a block at a time: memory holds the rows, not the file."""
    lineno, rest, total, block = 0, b"", len(first), first
    while block:
        lines = (rest + block).split(b"\n")
        rest = lines.pop()
        if len(rest) > MAX_LINE_BYTES:
            raise DataError(f"{path}:{lineno + len(lines) + 1}: a line over {_gib(MAX_LINE_BYTES)} long: "
                            "not a JSONL file?")
        yield from _block_records(lines, lineno)
        lineno += len(lines)
        block = f.read(min(_BLOCK, cap + 1 - total))
        total += len(block)
        if total > cap:
            raise _too_big(path, total, cap)
    if rest.strip():
        yield from _block_records([rest], lineno)


def _block_records(lines: list[bytes], lineno: int) -> Iterator[tuple[int, Any, str | None]]:
    """The records among complete lines numbered from lineno + 1."""
    try:
        text = b"\n".join(lines).decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is None:  # some line is not UTF-8: find which, line by line
        for i, raw in enumerate(lines, lineno + 1):
            if not raw.strip():
                continue
            try:
                ln = raw.decode("utf-8")
            except UnicodeDecodeError:
                yield i, None, "not UTF-8 text (binary data?)"
                continue
            yield _record(i, ln)
        return
    numbered = [(i, ln) for i, ln in enumerate(text.split("\n"), lineno + 1) if ln.strip()]
    # Fast path: one C-level parse of the block. Only when every line is one object (starts with '{',
    # ends with '}') and the element count matches, so a record is exactly a line; and not when a
    # string may hold a lone surrogate (json accepts "\ud800"; the row must be refused by line).
    if numbered and not may_hold_surrogates(text) and \
            all(ln.lstrip()[:1] == "{" and ln.rstrip()[-1:] == "}" for _, ln in numbered):
        try:
            objs = json.loads("[" + ",".join(ln for _, ln in numbered) + "]")
        except (ValueError, RecursionError):  # a bad line, or one nested too deeply: found line by line
            objs = None
        if objs is not None and len(objs) == len(numbered):
            for (i, _), obj in zip(numbered, objs):
                yield i, obj, None
            return
    for i, ln in numbered:
        yield _record(i, ln)


def _record(lineno: int, line: str) -> tuple[int, Any, str | None]:
    try:
        return lineno, loads_line(line, broken_text="refuse"), None
    except BrokenText as e:
        return lineno, None, str(e)
    except json.JSONDecodeError as e:
        return lineno, None, f"not valid JSON ({e.msg} at column {e.colno})"
    except ValueError as e:  # nested too deeply, a number of thousands of digits
        return lineno, None, str(e) if str(e) == TOO_DEEP else f"not valid JSON ({e})"


def _json_array(path: Path, data: bytes) -> Iterator[tuple[int, Any, str | None]]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise DataError(f"{path}: not UTF-8 text (binary data?)") from None
    try:
        arr = json.loads(text)
    except json.JSONDecodeError as e:
        raise DataError(f"{path}:{e.lineno}: not valid JSON ({e.msg} at column {e.colno})") from None
    except (ValueError, RecursionError) as e:
        raise DataError(f"{path}: {TOO_DEEP}" if isinstance(e, RecursionError) else f"{path}: not valid JSON ({e})") \
            from None
    check = may_hold_surrogates(text)
    for i, obj in enumerate(arr, 1):
        bad = lone_surrogate(obj) if check else None
        if bad:
            yield i, None, f"a string holds a lone surrogate {bad} (broken text, not Unicode)"
        else:
            yield i, obj, None


def _read_datasets(path: Path) -> list[dict[str, Any]]:
    try:
        import datasets
    except ImportError as e:  # pragma: no cover - datasets is a dependency
        raise DataError(f"{path}: reading parquet files / datasets folders needs `datasets` ({e})") from None
    try:
        if path.is_dir():
            ds = datasets.load_from_disk(str(path))
            if isinstance(ds, datasets.DatasetDict):
                ds = ds["train"] if "train" in ds else next(iter(ds.values()))
        else:
            ds = datasets.Dataset.from_parquet(str(path))
    except Exception as e:
        kind = "datasets folder (save_to_disk)" if path.is_dir() else "parquet file"
        raise DataError(f"{path}: cannot read as a {kind} ({type(e).__name__}: {e})") from None
    return ds.to_list()


# --------------------------------------------------------------------------------------------------
# Rows


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


def _text(obj: dict, key: str, *, required: bool = True) -> str:
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


def _alpaca(obj: dict, system: list[dict]) -> dict[str, Any]:
    for ins_key, inp_key, out_key in ALIASES:
        if _has(obj, ins_key) or _has(obj, out_key):
            if ins_key == "prompt" and out_key == "response" and not _has(obj, "response") \
                    and _has(obj, "completion"):
                continue  # TRL's {"prompt", "completion"}: the last alias
            ins = _text(obj, ins_key)
            out = _text(obj, out_key)
            inp = _text(obj, inp_key, required=False) if inp_key else ""
            user = f"{ins}\n{inp}" if inp.strip() else ins
            return {"prompt": system + [{"role": "user", "content": user}],
                    "completion": [{"role": "assistant", "content": out}]}
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


def _messages(obj: dict) -> dict[str, Any]:
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
        raise ValueError(f"expected a JSON object, got {_json_type(obj)}")
    if fmt == "alpaca":
        return _alpaca(obj, [{"role": "system", "content": system_prompt}] if system_prompt else [])
    if fmt == "messages":
        return _messages(obj)
    if fmt == "text":
        return {"text": _text(obj, "text")}
    raise ValueError(f"unknown format {fmt!r}")


def _json_type(obj: Any) -> str:
    return {list: "an array", str: "a string", bool: "a boolean", int: "a number", float: "a number",
            type(None): "null"}.get(type(obj), type(obj).__name__)


# --------------------------------------------------------------------------------------------------
# Files


def _refuse(path: Path, bad: list[RowProblem]) -> DataError:
    shown = "\n  ".join(str(b) for b in bad[:MAX_SHOWN])
    more = f"\n  ... and {len(bad) - MAX_SHOWN} more" if len(bad) > MAX_SHOWN else ""
    n = len(bad)
    return DataError(f"{n} malformed row{'s' if n > 1 else ''} in {path} "
                     f"(fix them, or set data.skip_bad / --skip-bad to drop them):\n  {shown}{more}", bad)


def load_file(path_str: str, fmt: str, system_prompt: str | None, skip_bad: bool
              ) -> tuple[list[dict], list[dict], str, list[RowProblem]]:
    """(rows, raw records, format, problems) of one file; DataError as described in the module doc."""
    path = Path(resolve_path(path_str))
    if not path.exists():
        raise DataError(f"{path}: file not found")
    rows: list[dict] = []
    raw: list[dict] = []
    bad: list[RowProblem] = []
    file = str(path)
    configured = fmt != "auto"
    detected: str | None = fmt if configured else None
    first_line = 0
    system = [{"role": "system", "content": system_prompt}] if system_prompt else []
    for lineno, obj, err in iter_records(path):
        if err is None:
            kind = detect_format(obj)
            if kind is None:
                err = (f"expected a JSON object, got {_json_type(obj)}" if not isinstance(obj, dict) else
                       f"unrecognised row (keys: {', '.join(sorted(obj)[:6]) or 'none'}): expected "
                       "instruction/output, messages, or text")
            elif detected is None:
                detected, first_line = kind, lineno
            elif kind != detected:
                err = (f"mixed formats: this row is {kind}, but data.format is {detected}" if configured else
                       f"mixed formats: this row is {kind}, the file is {detected} (from line {first_line})")
        if err is None:
            try:
                if detected == "alpaca":
                    rows.append(_alpaca(obj, system))
                elif detected == "messages":
                    rows.append(_messages(obj))
                else:
                    rows.append({"text": _text(obj, "text")})
                raw.append(obj)
                continue
            except ValueError as e:
                err = str(e)
        bad.append(RowProblem(file, lineno, err))
    if bad and not skip_bad:
        raise _refuse(path, bad)
    if not rows:
        raise DataError(f"{path}: no usable rows" + (f" ({len(bad)} malformed, all skipped)" if bad
                                                      else " (the file is empty)"), bad)
    return rows, raw, detected or "auto", bad


def load_training_data(data_cfg: DataConfig, *, skip_bad: bool | None = None, seed: int = 42) -> LoadedData:
    """Load `data_cfg.path` (and `eval_path`, or split `eval_ratio` off with `seed`) as TRL rows.

    `skip_bad` overrides `data_cfg.skip_bad`. Raises DataError (file:line: what) on malformed rows
    (unless skipping), on an empty file, or when nothing usable is left."""
    skip = data_cfg.skip_bad if skip_bad is None else skip_bad
    rows, raw, fmt, bad = load_file(data_cfg.path, data_cfg.format, data_cfg.system_prompt, skip)
    eval_rows: list[dict] = []
    eval_source = None
    if data_cfg.eval_path:
        eval_source = resolve_path(data_cfg.eval_path)
        eval_rows, _, _, ebad = load_file(data_cfg.eval_path, fmt, data_cfg.system_prompt, skip)
        bad = bad + ebad
    elif data_cfg.eval_ratio > 0 and len(rows) >= 2:
        order = list(range(len(rows)))
        random.Random(seed).shuffle(order)
        n_eval = min(len(rows) - 1, max(1, int(len(rows) * data_cfg.eval_ratio)))
        held = sorted(order[:n_eval])
        mask = bytearray(len(rows))
        for i in held:
            mask[i] = 1
        eval_rows = [rows[i] for i in held]
        raw = [r for r, m in zip(raw, mask) if not m]
        rows = [r for r, m in zip(rows, mask) if not m]
    return LoadedData(rows=rows, eval_rows=eval_rows, format=fmt, source=resolve_path(data_cfg.path),
                      bad=bad, skipped=len(bad), raw=raw, eval_source=eval_source)
