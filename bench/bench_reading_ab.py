"""Before / after, side by side: `cockpit diagnose --json` (wall, CPU with its preload child, peak memory)
and `cockpit replay`'s first frame with the whole log (in tmux) on the same logs, from two checkouts run
in turns within one invocation, so a shared machine's load hits both alike.

    git worktree add --detach /tmp/before HEAD~1
    .venv/bin/python bench/bench_reading_ab.py --before /tmp/before LOG [LOG ...] --reps 3

Each LOG is a run directory or a log file of any format (`bench/gen_log.py`, `bench/gen_formats.py` make
long ones); its logged steps are what the replay's cursor must show (`--steps`, else read from the name's
trailing number: `events-1000000`). Medians over --reps; the order of the two checkouts alternates."""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.bench_reading import first_frame_process, measured  # noqa: E402


def steps_of(log: Path) -> int:
    m = re.search(r"(\d+)$", log.name) or re.search(r"(\d+)$", log.parent.name)
    if m is None:
        raise SystemExit(f"{log}: say its logged steps with --steps (no number at the end of its folder's name)")
    return int(m[1])


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("logs", nargs="+", type=Path)
    ap.add_argument("--before", type=Path, required=True, help="a checkout of the code before the change")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--steps", type=int, default=None)
    ap.add_argument("--no-frames", action="store_true", help="diagnose only")
    a = ap.parse_args()
    roots = {"before": a.before.resolve(), "after": ROOT}
    print(f"load average at start: {os.getloadavg()[0]:.1f}", file=sys.stderr)
    print(
        "| log | code | `diagnose --json` wall | its CPU (user+sys) | peak memory | "
        "`cockpit replay`: on screen / whole log |"
    )
    print("|---|---|---|---|---|---|")
    for log in a.logs:
        steps = a.steps or steps_of(log)
        got: dict[str, list] = {k: [] for k in roots}
        frames: dict[str, list] = {k: [] for k in roots}
        for rep in range(a.reps):
            order = list(roots) if rep % 2 == 0 else list(roots)[::-1]
            for name in order:
                argv = [sys.executable, "-m", "cockpit.cli", "diagnose", "--json", str(log)]
                got[name].append(measured(argv, root=roots[name]))
                if not a.no_frames:
                    frames[name].append(first_frame_process(log, steps, root=roots[name]))
        for name in roots:
            wall, cpu, mem = (statistics.median(r[i] for r in got[name]) for i in range(3))
            frame = "-"
            if frames[name]:
                shown, whole = (statistics.median(x) for x in zip(*frames[name]))
                frame = f"{shown:.2f} s / {whole:.2f} s"
            print(f"| {log.name} | {name} | {wall:.2f} s | {cpu:.2f} s | {mem:.0f} MiB | {frame} |", flush=True)
    print(f"load average at end: {os.getloadavg()[0]:.1f}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
