"""A reading command under several source trees, interleaved: is this tree slower than that commit's?

    mkdir /tmp/old && git archive ae09187 cockpit | tar -x -C /tmp/old
    python bench/gen_log.py 100000 /tmp/log100k
    python bench/ab_trees.py --reps 15 /tmp/log100k old=/tmp/old new=.

Every tree runs `python -m cockpit.cli CMD LOG` from a neutral directory with PYTHONPATH set to it, in
the same venv, once per round, in an order that reverses every round (no tree always runs first after
another's warm caches). Prints each tree's median wall time and its median CPU time (user + sys of the
command and the child it forks to read the log): on a shared, loaded machine the CPU time moves less.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run_once(cmd: list[str], tree: str) -> tuple[float, float]:
    """(wall, cpu) seconds of one run of `cmd` with the cockpit package taken from `tree`."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPATH")}
    env["PYTHONPATH"] = str(Path(tree).resolve())
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    r = subprocess.run(cmd, cwd=tempfile.gettempdir(), env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if r.returncode != 0:
        raise SystemExit(f"{tree}: {' '.join(cmd)} exited {r.returncode}: {r.stderr[-2000:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("log")
    ap.add_argument("trees", nargs="+", help="NAME=DIR: DIR holds the cockpit package; the first is the baseline")
    ap.add_argument("--cmd", default="report")
    ap.add_argument("--reps", type=int, default=9)
    a = ap.parse_args()
    trees = dict(t.split("=", 1) for t in a.trees)
    names = list(trees)
    cmd = [sys.executable, "-m", "cockpit.cli", a.cmd, str(Path(a.log).resolve())]
    wall: dict[str, list[float]] = {n: [] for n in names}
    cpu: dict[str, list[float]] = {n: [] for n in names}
    for i in range(a.reps + 1):  # round 0 warms the bytecode caches and is not counted
        for n in names if i % 2 == 0 else names[::-1]:
            w, c = run_once(cmd, trees[n])
            if i:
                wall[n].append(w)
                cpu[n].append(c)
    base = names[0]
    print(f"| `cockpit {a.cmd}`, {a.reps} rounds | wall (median) | ratio | CPU (median) | ratio |")
    print("|---|---|---|---|---|")
    for n in names:
        w, c = statistics.median(wall[n]), statistics.median(cpu[n])
        wb, cb = statistics.median(wall[base]), statistics.median(cpu[base])
        print(f"| {n} | {w:.3f} s | {w / wb:.3f} | {c:.3f} s | {c / cb:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
