"""Reading the records of a data file, safely: JSONL a block at a time, a JSON array, parquet or a
`datasets` folder; files too large, not regular, or not text are refused by name."""

from __future__ import annotations

import codecs
import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cockpit.data.problems import DataError
from cockpit.logs.jsonline import TOO_DEEP, BrokenText, loads_line, lone_surrogate, may_hold_surrogates

DEFAULT_MAX_DATA_BYTES = 4 << 30
"""4 GiB of JSONL is ~10 million chat rows, and 10-20 GiB of RAM once parsed; `COCKPIT_MAX_DATA_BYTES`
raises it. Larger sets belong in parquet / a datasets folder."""
MAX_LINE_BYTES = 64 << 20
"""A "line" longer than this is not a row of a JSONL file (a binary file has few newlines)."""
_BLOCK = 4 << 20


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
            first = first[len(codecs.BOM_UTF8) :]
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
        raise DataError(
            f"{path}: not a regular file ({_file_kind(st.st_mode)}); data.path must name a .jsonl, "
            ".json or .parquet file or a datasets folder"
        )
    if st.st_size > cap:
        raise _too_big(path, st.st_size, cap)
    try:
        return open(path, "rb")
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e.strerror or e})") from None


def _file_kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISFIFO, "a named pipe"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "not a file"


def _too_big(path: Path, size: int, cap: int) -> DataError:
    return DataError(
        f"{path}: {_gib(size)} or more, over the {_gib(cap)} a data file may have (its rows are all "
        "held in memory): is data.path the right file? Split it, save it as parquet, or raise "
        "the limit with COCKPIT_MAX_DATA_BYTES"
    )


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
            raise DataError(
                f"{path}:{lineno + len(lines) + 1}: a line over {_gib(MAX_LINE_BYTES)} long: not a JSONL file?"
            )
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
    if (
        numbered
        and not may_hold_surrogates(text)
        and all(ln.lstrip()[:1] == "{" and ln.rstrip()[-1:] == "}" for _, ln in numbered)
    ):
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
        raise DataError(
            f"{path}: {TOO_DEEP}" if isinstance(e, RecursionError) else f"{path}: not valid JSON ({e})"
        ) from None
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
    except ImportError as e:  # the base install (no [train] extra) reads JSONL only
        raise DataError(
            f"{path}: reading parquet files / datasets folders needs `datasets`, in the [train] "
            f"extra: pip install 'lora-cockpit[train]' ({e})"
        ) from None
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
