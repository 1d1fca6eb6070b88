"""Starting a process that outlives whoever started it: the trainer, the sweep's orchestrator, a merge,
a study continued from the cockpit."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence


def append_fd(path: str | os.PathLike[str]) -> int:
    """`path` opened for appending (created when missing), as a descriptor for `spawn_detached`."""
    return os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)


def spawn_detached(
    argv: Sequence[str], log: int, env: dict[str, str] | None = None, pass_fds: Sequence[int] = ()
) -> subprocess.Popen:
    """`argv` in its own session: a closed terminal or a dropped SSH connection (SIGHUP to the starter's
    process group) never reaches it. Its stdin is /dev/null, its stdout and stderr go to the descriptor
    `log`, which is closed here once the child holds its own copy (also when the start fails)."""
    try:
        return subprocess.Popen(
            argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env=env,
            pass_fds=pass_fds,
        )
    finally:
        os.close(log)
