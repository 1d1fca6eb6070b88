"""A long log read the first time and again (cockpit.logs.cache), side by side in one invocation:
`cockpit diagnose --json` (wall, CPU, peak memory) and `cockpit replay` in tmux (on screen / whole log),
cold (an empty cache folder) then warm (the entry the cold read left), per log, repeated.

    .venv/bin/python bench/bench_cache.py /tmp/big/events-1000000 /tmp/big/llamafactory-1000000 --reps 2

Logs come from `bench/gen_log.py` / `bench/gen_formats.py`; their logged steps are read from the trailing
number of their names, as in bench_reading_ab.py. The diagnose output of the cold and warm reads is
compared byte for byte."""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.bench_reading import USER_ENV, first_frame_process, measured  # noqa: E402
from bench.bench_reading_ab import steps_of  # noqa: E402


def wait_for_entry(d: Path, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(d.glob("*.pickle")):
            return
        time.sleep(0.1)
    raise SystemExit(f"no cache entry in {d} after {timeout} s")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("logs", nargs="+", type=Path)
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--no-frames", action="store_true")
    a = ap.parse_args()
    print(f"load average at start: {os.getloadavg()[0]:.1f}", file=sys.stderr)
    print("| log | read | `diagnose --json` wall | its CPU | peak memory | `cockpit replay`: on screen / whole log |")
    print("|---|---|---|---|---|---|")
    for log in a.logs:
        steps = steps_of(log)
        got: dict[str, list] = {"cold": [], "warm": []}
        frames: dict[str, list] = {"cold": [], "warm": []}
        for _ in range(a.reps):
            d = Path(tempfile.mkdtemp(prefix="bench-cache-"))
            env = {**USER_ENV, "COCKPIT_CACHE_DIR": str(d / "histories")}
            argv = [sys.executable, "-m", "cockpit.cli", "diagnose", "--json", str(log)]
            for name in ("cold", "warm"):
                got[name].append(measured(argv, env=env))
                wait_for_entry(d / "histories")
            exact = subprocess.run(argv, env={**env, "COCKPIT_NO_CACHE": "1"}, cwd=ROOT, capture_output=True).stdout
            cached = subprocess.run(argv, env=env, cwd=ROOT, capture_output=True).stdout
            if exact != cached:
                raise SystemExit(f"{log}: diagnose --json differs between the cold and the warm read")
            if not a.no_frames:
                shutil.rmtree(d / "histories")
                for name in ("cold", "warm"):
                    os.environ["COCKPIT_CACHE_DIR"] = str(d / "histories")  # tmux passes our environment on
                    frames[name].append(first_frame_process(log, steps))
                    wait_for_entry(d / "histories")
            shutil.rmtree(d)
        for name in ("cold", "warm"):
            wall, cpu, mem = (statistics.median(r[i] for r in got[name]) for i in range(3))
            shown = statistics.median(f[0] for f in frames[name]) if frames[name] else float("nan")
            whole = statistics.median(f[1] for f in frames[name]) if frames[name] else float("nan")
            print(
                f"| {log.name} | {name} | {wall:.2f} s | {cpu:.2f} s | {mem:.0f} MiB | {shown:.2f} s / {whole:.2f} s |",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
