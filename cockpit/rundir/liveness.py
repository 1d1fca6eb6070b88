"""Whether a trainer's process is alive, suspended or gone, and how long a silence means it is hung."""

from __future__ import annotations

import os


def pid_alive(pid: int | None) -> bool:
    if not pid or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (exited, not yet reaped by its parent) is dead for our purposes.
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().split(b") ", 1)[1][:1] != b"Z"
    except (OSError, IndexError):
        return True


def process_state(pid: int | None) -> str:
    """ "running", "suspended" (stopped by SIGSTOP / SIGTSTP, or held by a debugger: alive, but it will not
    make a step until continued) or "gone". A suspended trainer is not a running one, whatever kill(0) says."""
    if not pid_alive(pid):
        return "gone"
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            code = f.read().rsplit(b") ", 1)[1][:1]
    except (OSError, IndexError):
        return "running"  # no /proc (macOS) or not ours to read: alive is all we know
    return "suspended" if code in (b"T", b"t") else "running"


STALL_MIN_S = 60.0
"""No event for this long from a running trainer is worth saying (or 10 steps' time, if longer)."""


def stall_after(step_time: float | None) -> float:
    """Seconds without an event after which a running trainer looks hung."""
    if isinstance(step_time, (int, float)) and step_time == step_time and step_time > 0:
        return max(STALL_MIN_S, 10 * step_time)
    return STALL_MIN_S
