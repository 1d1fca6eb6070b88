"""One `cockpit study` process per study directory: an flock on `.study.lock`, held while it runs.

Two study processes on one ledger would each start the stage's trials and overwrite each other's
decisions; the cockpit's `a` also asks here before it starts the study's next step. The lock file holds
the holder's pid for the message; the lock itself is the flock, so a killed study leaves nothing stale.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

LOCK_FILE = ".study.lock"

_held: dict[str, int] = {}  # study dir -> the descriptor this process holds it by (open for its lifetime)


class StudyBusy(Exception):
    """Another process runs this study."""

    def __init__(self, study_dir: Path, pid: int | None):
        super().__init__(f"{study_dir} is already being run by " + (f"pid {pid}" if pid else "another process"))
        self.pid = pid


def hold(study_dir: Path) -> None:
    """Take the study's lock for this process, or raise StudyBusy. The descriptor is not inherited by
    the trainers the study starts (Python opens files close-on-exec)."""
    key = str(Path(study_dir).resolve())
    if key in _held:  # this process already runs it (a study continued in the same process)
        return
    fd = os.open(Path(study_dir) / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise StudyBusy(Path(study_dir), holder(study_dir)) from None
    os.ftruncate(fd, 0)
    os.write(fd, str(os.getpid()).encode())
    _held[key] = fd


def holder(study_dir: Path) -> int | None:
    """The pid of the process running the study (0 when it cannot be read), or None when none does."""
    try:
        fd = os.open(Path(study_dir) / LOCK_FILE, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            try:
                return int(os.read(fd, 32).decode().strip() or 0)
            except ValueError:
                return 0
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)
