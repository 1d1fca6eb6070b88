"""Read a long log in a forked child while this process imports what it will show the log with.

`cockpit replay`, `report` and `diagnose` spend their first 0.3-0.8 s importing (numpy, pydantic,
textual) and about 0.5 s per 100,000 logged steps parsing JSON. The two do not depend on each other:
on Linux a child forked before the imports reads and folds the log and sends the History back through
a pipe, so the user waits for the longer of the two rather than their sum. Small logs, platforms
without fork, and any failure of the child read the log in-process, exactly as before
(`COCKPIT_NO_PRELOAD=1` forces that).
"""

from __future__ import annotations

import os
import pickle
import sys
from pathlib import Path
from typing import Any

MIN_BYTES = 4 << 20
"""Below this (~12,000 logged steps) reading takes less time than a fork round trip saves."""


class Preload:
    """`Preload(path)` starts reading; `.result()` returns (History, LoadedLog) or raises LogError/OSError."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.pid: int | None = None
        self.fd: int | None = None
        off = os.environ.get("COCKPIT_NO_PRELOAD")  # for side-by-side benchmarks and debugging
        if not off and sys.platform.startswith("linux") and _size(self.path) >= MIN_BYTES:
            self._fork()

    def _fork(self) -> None:
        r, w = os.pipe()
        try:
            pid = os.fork()
        except OSError:
            os.close(r)
            os.close(w)
            return
        if pid == 0:  # the child: read, fold, send, and leave without running the parent's exit handlers
            os.close(r)
            try:
                payload = pickle.dumps(("ok", _read(self.path)), protocol=pickle.HIGHEST_PROTOCOL)
            except BaseException as e:  # noqa: BLE001 - whatever it is, the parent re-raises or retries
                try:
                    payload = pickle.dumps(("error", e))
                except Exception:
                    payload = b""
            try:
                with os.fdopen(w, "wb") as f:
                    f.write(payload)
            finally:
                os._exit(0)
        os.close(w)
        self.pid, self.fd = pid, r

    def result(self) -> tuple[Any, Any]:
        if self.fd is None:
            return _read(self.path)
        with os.fdopen(self.fd, "rb") as f:
            payload = f.read()
        self.fd = None
        try:
            os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass
        try:
            kind, value = pickle.loads(payload)
        except Exception:  # the child died (killed, out of memory): read it here instead
            return _read(self.path)
        if kind == "error":
            raise value
        return value


def _read(path: Path):
    from cockpit.logs import resolve

    log = resolve(path)
    return log.history(), log


def _size(path: Path) -> int:
    try:
        if path.is_dir():
            path = path / "events.jsonl"
        return path.stat().st_size
    except OSError:
        return 0
