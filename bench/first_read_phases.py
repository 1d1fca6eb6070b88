"""Where `cockpit diagnose --json LOG` spends a first read: timestamps of its phases, in this process.

    COCKPIT_NO_CACHE=1 .venv/bin/python bench/first_read_phases.py LOG [CHILD_SHARE]

Prints, in seconds from the start: the preload child forked, the advisor imported, this process's share
of the log read, the child's History through the pipe, unpickled, the whole History settled, done."""

from __future__ import annotations

import contextlib
import io
import os
import pickle
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

T0 = time.perf_counter()


def say(what: str) -> None:
    print(f"{time.perf_counter() - T0:6.2f} s  {what}", file=sys.stderr)


from cockpit.logs import cache, preload  # noqa: E402


def receive(self):
    with os.fdopen(self.fd, "rb") as f:
        payload = f.read()
    say("the child's answer read from the pipe")
    self.fd = None
    with contextlib.suppress(ChildProcessError):
        os.waitpid(self.pid, 0)
    answer = pickle.loads(payload)
    if answer[0] == "ok":
        cache.unpacked(answer[1][0])
    say("unpickled")
    return answer


def timed(name: str, what: str):
    real = getattr(preload.Preload, name)

    def wrapped(*a, **k):
        out = real(*a, **k)
        say(what)
        return out

    return wrapped


preload.Preload._receive = receive
preload.Preload._read_tail = timed("_read_tail", "this process's share read")
preload.Preload.result = timed("result", "the History whole and settled")

pre = preload.Preload(sys.argv[1], share=float(sys.argv[2]) if len(sys.argv) > 2 else preload.CHILD_SHARE)
say("child forked")
from cockpit.advisor.diagnose import main  # noqa: E402

say("advisor imported")
with contextlib.redirect_stdout(io.StringIO()):
    main(sys.argv[1], as_json=True, preload=pre)
say("done")
