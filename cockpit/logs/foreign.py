"""What every reader of another tool's log shares: its `run_started` event and numbers written as text."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cockpit.rundir import step_ok


def run_started(source: str, total_steps: Any = None, **extra: Any) -> dict[str, Any]:
    """The `run_started` event a foreign log begins with: no config, device or parameter count known."""
    total = total_steps if total_steps is not None and type(total_steps) is not bool and step_ok(total_steps) else None
    return {
        "v": 1,
        "t": None,
        "kind": "run_started",
        "source": source,
        "total_steps": int(total) if total else None,
        "config": {},
        "trainable_params": None,
        "device": None,
        "world_size": 1,
        **extra,
    }


def not_in_format(history: Any, key: str) -> str | None:
    """What a view shows instead of an empty chart for a signal the log's format never carries (its
    reader lists them in `run_started.not_logged`), or None."""
    rs = history.run_started or {}
    absent = rs.get("not_logged")
    if type(absent) is list and key in absent:
        return f"a {rs.get('source')} log never has it"
    return None


def number(x: Any) -> Any:
    """A logged value as a number when it is one written as text ('1.363', 'nan': newer transformers print
    strings); other values unchanged."""
    if type(x) is str:
        try:
            return float(x)
        except ValueError:
            return x
    return x


_DURATION = re.compile(r"^(?:(\d+) days?, )?(\d+):(\d\d):(\d\d(?:\.\d+)?)$")


def seconds(text: Any) -> float | None:
    """'1 day, 0:08:23' / '0:02:12' (str(timedelta), as LLaMA-Factory and the Trainer print it) in
    seconds, or None."""
    if type(text) is not str:
        return None
    h, _, rest = text.partition(":")  # the common 'H:MM:SS' without a regex: 1,000,000 lines have one each
    if h.isdigit() and len(rest) == 5 and rest[2] == ":" and rest[:2].isdigit() and rest[3:].isdigit():
        return int(h) * 3600 + int(rest[:2]) * 60 + int(rest[3:])
    m = _DURATION.match(text.strip())
    if m is None:
        return None
    days, h, mins, s = m.groups()
    return int(days or 0) * 86400 + int(h) * 3600 + int(mins) * 60 + float(s)


def plural(n: int, word: str, words: str | None = None) -> str:
    return f"{n:,} " + (word if n == 1 else words or word + "s")


def chunks(path: Path, also: bytes = b"", start: int = 0, end: int | None = None) -> Iterator[bytes]:
    """The file's bytes [start, end) a few MB at a time, each cut just after a line end (a newline, or also
    the byte `also`: a console's carriage return), so no line spans two; the last may end without one."""
    rest = b""
    left = None if end is None else end - start
    with open(path, "rb") as f:
        f.seek(start)
        while left is None or left > 0:
            block = f.read(4 << 20 if left is None else min(4 << 20, left))
            if not block:
                break
            if left is not None:
                left -= len(block)
            data = rest + block
            cut = max(data.rfind(b"\n"), data.rfind(also) if also else -1) + 1
            if cut == 0 and len(data) < 64 << 20:
                rest = data  # no line end yet: a long line goes on
                continue
            data, rest = (data[:cut], data[cut:]) if cut else (data, b"")
            yield data
    if rest:
        yield rest
