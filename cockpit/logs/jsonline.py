"""Parsing one line of JSON the way every reader of our files must: fast, and never raising anything
but ValueError, whatever the line holds.

Lines come from files anyone can write (control.jsonl, a data set, a copied events.jsonl). The stdlib
parser recurses once per nesting level, so a line of 50,000 brackets raises RecursionError, which no
reader expected; orjson stops at 1,024 levels with its own JSONDecodeError. orjson also rejects the bare
NaN / Infinity literals that our events and HF logs hold, numbers past a double, and lone UTF-16
surrogates ("\\ud800"); the stdlib accepts those, and a lone surrogate later breaks any print or UTF-8
encode of the text (a traceback far from the line that caused it). Here both parsers agree: the line
is a value, or a ValueError that says what is wrong.
"""

from __future__ import annotations

import json
import re
from typing import Any

try:  # 3-5x faster on long logs; it rejects NaN/Infinity literals, which fall back to json
    from orjson import loads as fast_loads
except ImportError:  # pragma: no cover - orjson is a dependency, but reading must never need it
    fast_loads = json.loads

TOO_DEEP = "nested too deeply: over 1,000 levels of brackets"

MAX_DEPTH = 32
"""How deep an event or a command a reader keeps may nest (ours never pass 6). What a reader keeps is
later printed, pickled (the preload child) or shown: `pickle` raises RecursionError from ~500 levels,
`repr` from ~1,000, well inside what orjson accepts (1,024)."""

# Where a lone surrogate can come from: a \uD800-\uDFFF escape, or (in bytes, which json decodes with
# 'surrogatepass') its raw UTF-8 form ED A0..BF xx, or (in a str) the code point itself.
_SURROGATE_ESCAPE_B = re.compile(rb"\\u[dD][89a-fA-F]")
_SURROGATE_ESCAPE_S = re.compile(r"\\u[dD][89a-fA-F]")
_RAW_SURROGATE_B = re.compile(rb"\xed[\xa0-\xbf]")
_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")
"""In a str that json made, a valid surrogate pair is already one code point: any left is lone."""


class BrokenText(ValueError):
    """A string in the line holds a lone surrogate: not Unicode text."""


def may_hold_surrogates(line: bytes | str) -> bool:
    """Whether parsing `line` could give a string with a lone surrogate: searches with a literal
    prefix, a few GB/s (an alternation in one regex was slower than parsing the line)."""
    if isinstance(line, (bytes, bytearray)):
        return _SURROGATE_ESCAPE_B.search(line) is not None or (
            b"\xed" in line and _RAW_SURROGATE_B.search(line) is not None
        )
    if _SURROGATE_ESCAPE_S.search(line) is not None:
        return True
    if line.isascii():
        return False
    try:
        line.encode("utf-8")
    except UnicodeEncodeError:  # only a surrogate code point cannot be encoded
        return True
    return False


def loads_line(line: bytes | str, *, broken_text: str = "replace") -> Any:
    """The JSON value of one line, or ValueError (json.JSONDecodeError for bad syntax, with the stdlib's
    message and column; UnicodeDecodeError for bytes that are not UTF-8; a plain ValueError for a line
    nested too deeply). Integers past 64 bits come back as floats, as orjson reads them.

    `broken_text`: what a lone surrogate in a string becomes: "replace" (U+FFFD: an event keeps its other
    fields, a traceback its readable part) or "refuse" (BrokenText: a data row is refused by line)."""
    try:
        return fast_loads(line)
    except ValueError:  # orjson: NaN / Infinity, depth, surrogates, huge numbers, or not JSON at all
        pass
    try:
        obj = json.loads(line, parse_int=_int_as_orjson_reads_it)
    except RecursionError:
        raise ValueError(TOO_DEEP) from None
    if may_hold_surrogates(line):
        obj = _fix_surrogates(obj, broken_text)
    return obj


def _int_as_orjson_reads_it(digits: str) -> int | float:
    """An integer literal as orjson reads it: an int within 64 bits, else a float (inf past a double).
    So no reader meets a 400-digit int, whose float() raises OverflowError (and int() of 5,000 digits,
    ValueError), wherever the line went through."""
    if len(digits) <= 18:
        return int(digits)
    v = float(digits)
    return int(digits) if abs(v) < 2.0**63 else v


def lone_surrogate(obj: Any) -> str | None:
    """The first lone surrogate in any string (key or value) of a parsed value, as '\\ud800', or None."""
    try:
        text = json.dumps(obj, ensure_ascii=False)
    except RecursionError:  # parsed within the limit, but encoding needs a few more frames a level
        raise ValueError(TOO_DEEP) from None
    except ValueError:  # pragma: no cover - a parsed value always encodes
        return None
    m = _LONE_SURROGATE.search(text)
    return None if m is None else f"\\u{ord(m.group()):04x}"


def _fix_surrogates(obj: Any, broken_text: str) -> Any:
    try:
        text = json.dumps(obj, ensure_ascii=False)
    except RecursionError:
        raise ValueError(TOO_DEEP) from None
    m = _LONE_SURROGATE.search(text)
    if m is None:
        return obj
    if broken_text == "refuse":
        raise BrokenText(f"a string holds a lone surrogate \\u{ord(m.group()):04x} (broken text, not Unicode)")
    return json.loads(_LONE_SURROGATE.sub("\ufffd", text))


def nested_deeper(obj: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether obj nests lists / objects more than `limit` levels (the value itself is level 1). A loop,
    not recursion: it must not fail on the very input it guards against."""
    stack = [(obj, 1)]
    pop, push = stack.pop, stack.append
    while stack:
        o, d = pop()
        if type(o) is dict:
            o = o.values()
        elif type(o) is not list:
            continue
        if d > limit:
            return True
        for c in o:
            if type(c) is dict or type(c) is list:
                push((c, d + 1))
    return False
