"""Following an append-only JSONL file as it grows, and saying so when it cannot be read.

A read that fails (EIO, a stale NFS handle, EACCES after a chmod) must not end the reader or be mistaken
for a quiet run: `Tail.error` holds a ReadError until a read works again, and reads are retried with a
growing pause so a passing fault recovers by itself without a busy loop on a lasting one."""

from __future__ import annotations

import errno as errno_codes
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cockpit.rundir.reading import ReadStats, parse_lines

RETRY_FIRST_S = 0.1
RETRY_MAX_S = 5.0
"""The pause before the next read after a failed one: doubled after each failure in a row, up to this."""


@dataclass(frozen=True)
class ReadError:
    """Why a Tail cannot read its file now. Not FileNotFoundError: a file not written yet is no fault."""

    path: Path
    errno: int | None
    reason: str
    failures: int
    """Failed reads in a row."""
    since: float
    """Unix time of the first of them."""
    retry_in: float
    """Seconds until the next read."""

    def __str__(self) -> str:
        code = errno_codes.errorcode.get(self.errno, "") if self.errno is not None else ""
        return f"cannot read {self.path}: {self.reason}" + (f" ({code})" if code else "")


class Tail:
    """Incremental reader of an append-only JSONL file: each `poll()` returns only the new complete
    lines since the last call (never re-reads the file). Holds back a torn last line until it is whole.
    `poll()` never raises OSError: a failed read returns nothing new and sets `error` (see ReadError)."""

    def __init__(self, path: str | os.PathLike[str], offset: int = 0):
        self.path = Path(path)
        self.offset = offset
        self._partial = b""
        self.stats = ReadStats()
        self._lineno = 0
        self._inode: int | None = None
        self.error: ReadError | None = None
        self._retry_at = 0.0

    def resume_at(self, offset: int, lineno: int) -> None:
        """Go on from a line start that another reader reached (the attach preload)."""
        self.offset, self._lineno, self._partial = offset, lineno, b""

    def poll(self, max_bytes: int = 8 << 20) -> list[dict[str, Any]]:
        if self.error is not None and time.monotonic() < self._retry_at:
            return []
        try:
            chunk = self._read_new(max_bytes)
        except FileNotFoundError:
            chunk = b""  # not written yet, or being replaced: nothing new
        except OSError as e:
            self._failed(e)
            return []
        self.error = None
        if not chunk:
            return []
        self.offset += len(chunk)
        lines = (self._partial + chunk).split(b"\n")
        self._partial = lines.pop()
        out = parse_lines(lines, self.stats, self._lineno)
        self._lineno += len(lines)
        return out

    def _read_new(self, max_bytes: int) -> bytes:
        """The bytes past `offset` (at most max_bytes), or b"" when there are none."""
        with open(self.path, "rb") as f:
            st = os.fstat(f.fileno())
            if self._inode is not None and (st.st_ino != self._inode or st.st_size < self.offset):
                # Replaced or truncated: start over rather than read garbage from a stale offset.
                self.offset, self._partial = 0, b""
            self._inode = st.st_ino
            if st.st_size <= self.offset:
                return b""
            f.seek(self.offset)
            return f.read(max_bytes)

    def _failed(self, e: OSError) -> None:
        prev = self.error
        failures = prev.failures + 1 if prev is not None else 1
        pause = min(RETRY_MAX_S, RETRY_FIRST_S * 2 ** (failures - 1))
        self._retry_at = time.monotonic() + pause
        self.error = ReadError(
            self.path,
            e.errno,
            e.strerror or str(e) or type(e).__name__,
            failures,
            prev.since if prev is not None else time.time(),
            pause,
        )
