"""The traceback a crashed command printed, read back from trainer.log (whatever process printed it)."""

from __future__ import annotations

import re
from pathlib import Path

RANK_PREFIX = re.compile(r"^\[(?:rank|default)\d+\]:\s?")
"""torchrun's workers may print each line as `[rank0]: ...`."""
HEAD = "Traceback (most recent call last):"


def last_traceback(log: Path, max_bytes: int = 200_000) -> str | None:
    """The last `Traceback (most recent call last):` block and the exception line that ends it."""
    try:
        with open(log, "rb") as f:
            f.seek(0, 2)
            f.seek(max(0, f.tell() - max_bytes))
            text = f.read().decode("utf-8", "replace")
    except OSError:
        return None
    # Lines end at \n only: a progress bar's \r-redrawn line may run straight into "Traceback (...".
    lines = [RANK_PREFIX.sub("", line) for line in text.split("\n")]
    starts = [i for i, line in enumerate(lines) if HEAD in line]
    if not starts:
        return None
    first = lines[starts[-1]]
    block = [first[first.index(HEAD) :]]
    for line in lines[starts[-1] + 1 :]:
        line = line.split("\r")[0]  # a progress bar redrawn after the exception line
        block.append(line)
        if line and not line[0].isspace():
            break  # the exception line: `ValueError: ...`
    return "\n".join(block)


def exception_line(tb: str | None) -> str | None:
    return tb.rstrip().splitlines()[-1] if tb else None
