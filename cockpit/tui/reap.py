"""Reap a trainer this cockpit process started (`cockpit run`, `cockpit demo`) once it has exited.

The trainer is this process's child (launch.py's Popen): until it is waited for it stays `<defunct>`,
and a zombie still answers `kill -0`, so the cockpit would also take it for alive."""

from __future__ import annotations

import os


def reap(pids) -> list[int]:
    """waitpid(WNOHANG) each pid that is our child and has exited; the ones reaped. Others are untouched:
    a pid that is not our child (an attach, another cockpit's trainer) raises ChildProcessError here."""
    done = []
    for pid in pids:
        try:
            got, _status = os.waitpid(pid, os.WNOHANG)
        except (ChildProcessError, OSError):
            continue
        if got == pid:
            done.append(pid)
    return done
