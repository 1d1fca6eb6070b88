"""Starting `python -m cockpit.merge` in the background for a run: from the trainer (a `merge` command,
once its checkpoint is saved) or from the cockpit (`m` on a run that is over). The merge outlives its
starter, writes its output to the run's merge.log and its progress as `merge` events in events.jsonl,
which the cockpit's event log shows."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from cockpit.detached import spawn_detached
from cockpit.rundir import open_run_file


def spawn_merge(
    run_dir: Path, *, checkpoint: int | None = None, options: dict[str, Any] | None = None
) -> subprocess.Popen:
    """`checkpoint`: merge that checkpoint (else the run's final adapter, or its latest checkpoint).
    `options`: the `merge` command's validated value (`dtype`, `out`)."""
    argv = [sys.executable, "-m", "cockpit.merge", str(run_dir)]
    if checkpoint is not None:
        argv += ["--checkpoint", str(checkpoint)]
    for k in ("dtype", "out"):
        if (options or {}).get(k):
            argv += [f"--{k}", str(options[k])]
    # never through a link planted as merge.log
    log = open_run_file(Path(run_dir) / "merge.log", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    return spawn_detached(argv, log)
