"""The one-writer lock: an flock on trainer.lock, so a run directory has at most one trainer.

The kernel holds the lock for as long as the open file lives and drops it when its last holder dies:
whether a lock is stale is never guessed from a pid. Two processes that race for a lock file a dead
process left both open the same file and flock it; the kernel lets exactly one of them have it. A lock
file is unlinked only by the process that holds it, so no one ever takes a lock another process holds.
The pid, host and role written inside are for people and readers (`cockpit ls`), not for the locking.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from cockpit.rundir.layout import RunDir, open_run_file
from cockpit.rundir.liveness import pid_alive


class LockHeld(Exception):
    """Another live process holds the run directory; `pid` and `role` say which and why."""

    def __init__(self, message: str, pid: int | None = None, role: str = ""):
        super().__init__(message)
        self.pid, self.role = pid, role


LOCK_FD_ENV = "COCKPIT_LOCK_FD"
"""The launcher takes the lock before it starts the trainer and hands the locked file to it under this
variable: two launchers racing for one run can then never both start a trainer."""

_held: dict[Path, int] = {}  # lock path -> the locked descriptor this process holds


def _lock_fields(fd: int) -> tuple[int | None, str]:
    """(pid, role) written in a lock file: `PID HOST [ROLE]`."""
    try:
        parts = os.pread(fd, 200, 0).decode("utf-8", "replace").split()
        return int(parts[0]), (parts[2] if len(parts) > 2 else "")
    except (OSError, ValueError, IndexError):
        return None, ""


def _same_file(fd: int, path: Path) -> bool:
    try:
        a, b = os.fstat(fd), os.lstat(path)
    except OSError:
        return False
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def _adopt_inherited_lock(rd: RunDir) -> int | None:
    """The locked descriptor our launcher handed down, when it is this run's lock file."""
    raw = os.environ.pop(LOCK_FD_ENV, None)
    if not raw:
        return None
    try:
        fd = int(raw)
        if not _same_file(fd, rd.lock):
            return None
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # already ours (the same open file): a no-op check
        os.set_inheritable(fd, False)  # a merge or rank process must not keep the run locked
    except (ValueError, OSError):
        return None
    return fd


def acquire_lock(rd: RunDir, pid: int | None = None, role: str = "") -> str | None:
    """Take the run's writer lock: an flock on `trainer.lock`, held as long as this process lives (the
    kernel drops it when the process dies, so a stale lock is one nobody holds, never a guess from a
    pid). Raises LockHeld when another process holds it; returns a note when it took over a lock file a
    dead process left, else None. The file says who holds it (`PID HOST [ROLE]`) for readers."""
    pid = pid or os.getpid()
    note = None
    fd = _adopt_inherited_lock(rd)
    for _ in range(5):
        if fd is not None:
            break
        fd = open_run_file(rd.lock, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            other, other_role = _lock_fields(fd)
            os.close(fd)
            what = "being resumed" if other_role == "resuming" else "in use"
            raise LockHeld(
                f"run directory {rd.path} is {what} by {'trainer ' if not other_role else ''}pid {other} "
                f"(lock {rd.lock})",
                other,
                other_role,
            ) from None
        if not _same_file(fd, rd.lock):  # its holder released it (unlinked) while we waited: take the new one
            os.close(fd)
            fd = None
            continue
        previous, _ = _lock_fields(fd)
        if previous is not None and previous != pid:
            why = "no such process" if not pid_alive(previous) else "it no longer holds the lock"
            note = f"took over a stale lock from pid {previous} ({why})"
    if fd is None:
        raise LockHeld(f"could not take the lock {rd.lock}")
    _held[rd.lock] = fd
    _write_lock(fd, pid, role)
    return note


def _write_lock(fd: int, pid: int, role: str) -> None:
    import socket  # here: every reader imports this package, only writers take the lock (3 ms)

    text = f"{pid} {socket.gethostname()}{' ' + role if role else ''}\n".encode()
    os.pwrite(fd, text.ljust(80), 0)  # one write, padded over the old text: a reader never sees it empty
    os.ftruncate(fd, len(text))


def relabel_lock(rd: RunDir, role: str = "") -> None:
    """Say in the lock we hold what this process is doing now (a resumed trainer that began training)."""
    fd = _held.get(rd.lock)
    if fd is not None:
        _write_lock(fd, os.getpid(), role)


def held_lock_fd(rd: RunDir) -> int | None:
    """The locked descriptor of this run's lock that this process holds, if any."""
    return _held.get(rd.lock)


def hand_over_lock(rd: RunDir, pid: int, role: str = "") -> None:
    """Close our descriptor of the lock without releasing it: the trainer we started (`pid`) holds it
    now. The file names it at once, so that a trainer that dies before it says so itself is seen dead."""
    fd = _held.pop(rd.lock, None)
    if fd is not None:
        if _lock_fields(fd)[0] != pid:  # (the trainer may have written itself already)
            _write_lock(fd, pid, role)
        os.close(fd)


def read_lock_pid(rd: RunDir) -> int | None:
    try:
        fd = open_run_file(rd.lock, os.O_RDONLY)
    except OSError:
        return None
    try:
        return _lock_fields(fd)[0]
    finally:
        os.close(fd)


def release_lock(rd: RunDir, pid: int | None = None) -> None:
    """Let go of the lock and remove its file. A process that never took the lock it was handed (a
    trainer that failed before acquire_lock) takes it first; one that holds nothing removes a file that
    names it (`pid`, default this process) only when no one holds its flock: a lock another process
    holds is never removed, whatever its file says."""
    fd = _held.pop(rd.lock, None)
    if fd is None:
        fd = _adopt_inherited_lock(rd)
    if fd is None:
        fd = _unheld_lock_naming(rd, pid or os.getpid())
        if fd is None:
            return
    # Unlink while still holding it: a process that opened the old file and waits retries on the new.
    if _same_file(fd, rd.lock):
        try:
            rd.lock.unlink()
        except FileNotFoundError:
            pass
    os.close(fd)


def _unheld_lock_naming(rd: RunDir, pid: int) -> int | None:
    """The lock file, flock-ed by us now, when it names `pid` and no one held it; else None."""
    try:
        fd = open_run_file(rd.lock, os.O_RDWR)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    if _lock_fields(fd)[0] != pid:
        os.close(fd)
        return None
    return fd
