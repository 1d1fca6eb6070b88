"""Keep a SIGCONT that follows a SIGSTOP from restarting the terminal driver.

Textual's Linux driver re-enters application mode on every SIGCONT, so that Ctrl+Z (SIGTSTP, which
it handles by leaving application mode) and `fg` work. A process stopped with SIGSTOP instead (`kill
-STOP`, a job scheduler's suspend such as SLURM's, a debugger) never left application mode, yet its
SIGCONT starts another input thread and another writer thread beside the running ones: each
stop/continue cycle leaves two more threads, every input thread reading the same terminal (a cockpit
stopped and continued a few hundred times by the overhead benchmark held 875 threads).

`guard_sigcont` passes a SIGCONT on to the driver only after a SIGTSTP went through the driver.
"""

from __future__ import annotations

import os
import signal
import threading
from typing import Any


def guard_sigcont() -> bool:
    """Wrap the SIGTSTP and SIGCONT handlers installed by the driver. Call from the main thread once
    the app runs. Returns False where there is nothing to guard (no such signals, not the main thread,
    or a driver that installed no SIGCONT handler, e.g. the headless one)."""
    if not hasattr(signal, "SIGCONT") or threading.current_thread() is not threading.main_thread():
        return False
    on_cont = signal.getsignal(signal.SIGCONT)
    on_tstp = signal.getsignal(signal.SIGTSTP)
    if not callable(on_cont):
        return False
    suspended = False

    def tstp(signum: int, frame: Any) -> None:
        nonlocal suspended
        suspended = True
        if callable(on_tstp):
            on_tstp(signum, frame)  # the driver leaves application mode and stops the process
        else:
            os.kill(os.getpid(), signal.SIGSTOP)

    def cont(signum: int, frame: Any) -> None:
        nonlocal suspended
        if suspended:
            suspended = False
            on_cont(signum, frame)

    signal.signal(signal.SIGTSTP, tstp)
    signal.signal(signal.SIGCONT, cont)
    return True
