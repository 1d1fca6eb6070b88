"""Reading long logs: history fold, `diagnose`, `report`, and the replay cockpit's first frame, for
10k / 100k / 1M-step logs. Prints a Markdown table (median of --reps runs each)."""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.gen_log import write  # noqa: E402


def timed(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, capture_output=True, check=False, cwd=ROOT)
    return time.perf_counter() - t0


def first_frame(path: Path) -> float:
    """Seconds from opening the log to the replay cockpit's first frame (in-process, headless)."""
    from cockpit.logs import resolve
    from cockpit.tui.app import CockpitApp
    from cockpit.tui.sources import ReplaySource

    async def go() -> float:
        t0 = time.perf_counter()
        log = resolve(path)
        app = CockpitApp(ReplaySource(log.history(), log.title), run_dir=None)
        async with app.run_test(size=(160, 48)) as pilot:
            await pilot.pause(0)
            return time.perf_counter() - t0

    return asyncio.run(go())


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--reps", type=int, default=3)
    a = ap.parse_args()
    py = sys.executable
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in [int(x) for x in a.sizes.split(",")]:
            rd = write(n, Path(tmp) / f"run-{n}")
            mb = (rd / "events.jsonl").stat().st_size / 2**20
            from cockpit.logs import load_history

            tracemalloc.start()
            t0 = time.perf_counter()
            load_history(rd)
            fold = time.perf_counter() - t0
            peak = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
            diag = statistics.median(timed([py, "-m", "cockpit.cli", "diagnose", str(rd)]) for _ in range(a.reps))
            rep = statistics.median(timed([py, "-m", "cockpit.cli", "report", str(rd)]) for _ in range(a.reps))
            frame = statistics.median(first_frame(rd) for _ in range(a.reps))
            rows.append((n, mb, fold, peak, diag, rep, frame))
            print(f"{n} steps done", file=sys.stderr)
    print("| steps | events.jsonl | fold to History | peak memory of the fold | `diagnose` (process) | "
          "`report` (process) | replay first frame |")
    print("|---|---|---|---|---|---|---|")
    for n, mb, fold, peak, diag, rep, frame in rows:
        print(f"| {n:,} | {mb:.0f} MiB | {fold:.2f} s | {peak:.0f} MiB | {diag:.2f} s | {rep:.2f} s | {frame:.2f} s |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
