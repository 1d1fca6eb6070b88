"""The traceback a crashed command printed, read back from trainer.log (whatever process printed it)."""

from __future__ import annotations

import re
from pathlib import Path

RANK_PREFIX = re.compile(r"^\[(?:rank|default)\d+\]:\s?")
"""torchrun's workers may print each line as `[rank0]: ...`."""


def last_traceback(log: Path, max_bytes: int = 200_000) -> str | None:
    """The last `Traceback (most recent call last):` block and the exception line that ends it."""
    try:
        with open(log, "rb") as f:
            f.seek(0, 2)
            f.seek(max(0, f.tell() - max_bytes))
            text = f.read().decode("utf-8", "replace")
    except OSError:
        return None
    lines = [RANK_PREFIX.sub("", line) for line in text.splitlines()]
    starts = [i for i, line in enumerate(lines) if line.startswith("Traceback (most recent call last):")]
    if not starts:
        return None
    block = [lines[starts[-1]]]
    for line in lines[starts[-1] + 1 :]:
        block.append(line)
        if line and not line[0].isspace():
            break  # the exception line: `ValueError: ...`
    return "\n".join(block)


def exception_line(tb: str | None) -> str | None:
    return tb.rstrip().splitlines()[-1] if tb else None
