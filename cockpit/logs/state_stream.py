"""Streaming a long `trainer_state.json`: its header keys, then its `log_history` entries a few MB at a time.

The document is one JSON object; only `log_history` grows with the run. The text is decoded a piece at a
time, cut after an ASCII byte (never inside a character). Entries are parsed in batches: the text up to
the last entry end in the buffer, wrapped in brackets, in one `loads_line` call (orjson, or json where
NaN literals are); a cut that is not an entry end (a brace inside a string, a nested object) fails to
parse as a whole, and that stretch is read one value at a time instead. The Trainer writes its keys
sorted, so `max_steps` comes after `log_history`: the header keys after the list are read first from
the file's tail, so `run_started` still leads.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cockpit.logs.errors import LogError
from cockpit.logs.jsonline import loads_line
from cockpit.rundir import ReadStats

PIECE = 8 << 20
"""Bytes decoded and parsed at a time: large enough that the per-batch overhead vanishes, small enough
that a batch of dicts stays a few tens of MB."""
TAIL = 1 << 20
"""How much of the file's end is searched for the header keys written after `log_history`."""

_WS = re.compile(r"[ \t\r\n]*")
_HF_ENTRY_END = "\n    }"  # how the Trainer's indent=2 closes an entry of log_history
_DECODER = json.JSONDecoder()  # raw_decode: one value at a position; accepts NaN / Infinity


class _Text:
    """The document's text as a sliding buffer over the file."""

    def __init__(self, path: Path, stats: ReadStats):
        self.path, self.stats = path, stats
        self.f = open(path, "rb")  # noqa: SIM115 - closed by `close`, when the stream is done
        self.buf, self.pos = "", 0
        self.lines_before = 0  # newlines in text already dropped from the buffer (for error positions)
        self.eof = False
        self.bad_bytes = 0

    def more(self) -> bool:
        """Append the next piece; False at the end of the file."""
        if self.eof:
            return False
        raw = self.f.read(PIECE)
        while raw and raw[-1] >= 0x80:  # end the piece on an ASCII byte: never inside a character
            extra = self.f.read(1)
            if not extra:
                break
            raw += extra
        if not raw:
            self.eof = True
            return False
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            self.bad_bytes += len(raw) - len(raw.decode("utf-8", "ignore").encode("utf-8"))
            text = raw.decode("utf-8", "replace")
        dropped = self.buf[: self.pos]
        self.lines_before += dropped.count("\n")
        self.buf, self.pos = self.buf[self.pos :] + text, 0
        return True

    def skip_ws(self) -> str:
        """The next character after blank space ('' at the end of the file)."""
        while True:
            self.pos = _WS.match(self.buf, self.pos).end()
            if self.pos < len(self.buf) or not self.more():
                return self.buf[self.pos : self.pos + 1]

    def value(self) -> Any:
        """The JSON value at the position (read on until it is whole)."""
        self.skip_ws()
        while True:
            try:
                _, end = _DECODER.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError as e:
                if self.more():  # the value may go on in the next piece
                    continue
                raise self.error(e.msg, e.pos) from None
            except RecursionError:
                raise LogError(f"{self.path}: cannot read as JSON: nested too deeply") from None
            if end == len(self.buf) and not self.eof and self.more():
                continue  # a number may go on in the next piece
            try:
                v = loads_line(self.buf[self.pos : end])  # the readers' own rules (surrogates, big ints)
            except ValueError as e:
                raise LogError(f"{self.path}: cannot read as JSON: {e}") from None
            self.pos = end
            return v

    def expect(self, ch: str) -> None:
        if self.skip_ws() != ch:
            raise self.error(f"Expecting '{ch}'", self.pos)
        self.pos += 1

    def error(self, msg: str, pos: int) -> LogError:
        line = self.lines_before + self.buf.count("\n", 0, pos) + 1
        col = pos - self.buf.rfind("\n", 0, pos)
        return LogError(f"{self.path}:{line}:{col}: not valid JSON ({msg})")

    def close(self) -> None:
        self.f.close()


def stream(path: Path, stats: ReadStats) -> tuple[dict[str, Any], Iterator[list[Any]]]:
    """(header: every key but log_history, as far as known before the list; the entries, lazily, a list of
    a few MB of them at a time). The header dict is completed as the stream goes past the list."""
    text = _Text(path, stats)
    try:
        if text.skip_ws() == "":
            raise LogError(f"{path}: file is empty")
        if text.skip_ws() != "{":
            raise LogError(f"{path}: not a trainer_state.json (expected an object with a 'log_history' list)")
        text.pos += 1
        header = _keys_until_history(text)
    except BaseException:
        text.close()
        raise
    header.update({k: v for k, v in _tail_header(path).items() if k not in header})
    return header, _entries_then_rest(text, header)


def _keys_until_history(text: _Text) -> dict[str, Any]:
    header: dict[str, Any] = {}
    while True:
        ch = text.skip_ws()
        if ch == ",":
            text.pos += 1
            continue
        if ch != '"':
            raise LogError(f"{text.path}: not a trainer_state.json (expected an object with a 'log_history' list)")
        key = text.value()
        text.expect(":")
        if key == "log_history":
            if text.skip_ws() != "[":
                raise LogError(f"{text.path}: not a trainer_state.json (expected an object with a 'log_history' list)")
            text.pos += 1
            return header
        header[key] = text.value()


def _entries_then_rest(text: _Text, header: dict[str, Any]) -> Iterator[list[Any]]:
    try:
        yield from _entries(text)
        _rest(text, header)
        if text.bad_bytes:
            from cockpit.logs.foreign import plural

            text.stats.notes.append(
                f"{plural(text.bad_bytes, 'byte')} that are not UTF-8 text replaced by U+FFFD (the file is damaged there)"
            )
    finally:
        text.close()


def _entries(text: _Text) -> Iterator[list[Any]]:
    while True:
        ch = text.skip_ws()
        if ch == ",":
            text.pos += 1
            continue
        if ch == "]":
            text.pos += 1
            return
        if ch == "":
            raise text.error("Expecting ']'", text.pos)
        batch = _batch(text)
        yield batch if batch is not None else [text.value()]


def _batch(text: _Text) -> list[Any] | None:
    """The whole entries from the position to the last entry end in the buffer, parsed in one call, or
    None when no cut found parses (then one value is read alone)."""
    buf, start = text.buf, text.pos
    for end in (buf.rfind(_HF_ENTRY_END, start), buf.rfind("}", start)):
        if end < start:
            continue
        end = buf.index("}", end) + 1
        try:
            entries = loads_line("[" + buf[start:end] + "]")
        except ValueError:
            continue
        text.pos = end
        return entries
    return None


def _rest(text: _Text, header: dict[str, Any]) -> None:
    """The keys after log_history, to the object's end."""
    while True:
        ch = text.skip_ws()
        if ch == ",":
            text.pos += 1
            continue
        if ch == "}" or ch == "":
            return
        key = text.value()
        text.expect(":")
        header[key] = text.value()


def _tail_header(path: Path) -> dict[str, Any]:
    """The keys written after `log_history`, read from the file's last TAIL bytes: the object that follows
    the list's closing bracket. Empty when not found (the header then has only the keys before it)."""
    try:
        with open(path, "rb") as f:
            size = f.seek(0, 2)
            f.seek(max(0, size - TAIL))
            tail = f.read().decode("utf-8", "replace")
    except OSError:
        return {}
    i = len(tail)
    for _ in range(64):
        i = tail.rfind("]", 0, i)
        if i < 0:
            return {}
        after = tail[i + 1 :].lstrip()
        if after.startswith("}"):
            return {}
        if after.startswith(","):
            try:
                v = loads_line("{" + after[1:])
            except ValueError:
                continue
            if isinstance(v, dict):
                return v
    return {}
