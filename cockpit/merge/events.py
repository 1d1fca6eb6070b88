"""Merge progress and result as `merge` events in the run's events.jsonl (and lines on stdout)."""

from __future__ import annotations

import sys
from typing import Any

from cockpit.rundir import EventWriter, RunDir


class Reporter:
    def __init__(self, run_dir: RunDir | None, step: int | None):
        self.rd, self.step = run_dir, step

    def _emit(self, status: str, message: str, **fields: Any) -> None:
        # A failure is said once, on stderr (the caller prints nothing more); the rest is progress on stdout.
        print(f"merge {status}: {message}", flush=True, file=sys.stderr if status == "failed" else sys.stdout)
        if self.rd is None or not self.rd.events.exists():
            return
        # A short line per event: the trainer may be appending to the same file at the same time.
        with EventWriter(self.rd.events) as w:
            w.write("merge", status=status, message=message, step=self.step, **fields)

    def started(self, message: str, **f: Any) -> None:
        self._emit("started", message, **f)

    def progress(self, message: str) -> None:
        self._emit("progress", message)

    def done(self, result: dict[str, Any], seconds: float) -> None:
        self._emit("done", f"verified and written in {seconds:.0f}s", out=result["out"], checks=result["checks"])

    def failed(self, message: str, *, refused: bool = False, checks: dict | None = None) -> None:
        self._emit("failed", ("refused: " if refused else "") + message, checks=checks)
