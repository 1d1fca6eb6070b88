"""The trainer's stdout and stderr (trainer.log) must never be the thing that kills a run.

A print, a logging line or a progress bar raises OSError when trainer.log sits on a full disk, and the
trainer would die mid-line with no error event, no final state and no adapter. These streams swallow a
failed write, count what was lost, and say so once the file takes writes again.
"""

from __future__ import annotations

import os
import sys
from typing import Any


class GuardedStream:
    """A text stream over a file descriptor whose failed writes are counted, not raised."""

    def __init__(self, stream: Any):
        self._stream = stream
        self._fd = stream.fileno()
        self.lost_bytes = 0

    def write(self, text: str) -> int:
        data = text.encode(getattr(self._stream, "encoding", None) or "utf-8", "replace")
        if self.lost_bytes:
            note = f"\n[cockpit] {self.lost_bytes} bytes of trainer output were lost (disk full)\n".encode()
            if not self._write(note):
                self.lost_bytes += len(data)
                return len(text)
            self.lost_bytes = 0
        if not self._write(data):
            self.lost_bytes += len(data)
        return len(text)

    def _write(self, data: bytes) -> bool:
        view = memoryview(data)
        while view:
            try:
                n = os.write(self._fd, view)
            except InterruptedError:
                continue
            except OSError:
                return False
            view = view[n:]
        return True

    def flush(self) -> None:
        pass  # every write goes straight to the descriptor

    def fileno(self) -> int:
        return self._fd

    def isatty(self) -> bool:
        return False

    def writable(self) -> bool:
        return True

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def guard_output() -> None:
    """Replace sys.stdout and sys.stderr before anything (transformers' logging, tqdm) holds on to them."""
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if isinstance(stream, GuardedStream):
            continue
        try:
            stream.flush()
            stream.fileno()
        except (OSError, ValueError, AttributeError):
            continue  # no descriptor behind it (a test's capture): leave it alone
        setattr(sys, name, GuardedStream(stream))
