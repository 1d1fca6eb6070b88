"""Reading other tools' logs: `cockpit diagnose` (process) and the replay cockpit's first frame
(in-process, headless) on N-step logs of each tracker format written by `bench/gen_tracker_logs.py`.

    .venv/bin/python bench/bench_tracker_reading.py --sizes tensorboard=10000,wandb=10000:100000:1000000 ...

Prints a Markdown table (medians of --reps); our own events.jsonl of the same size is timed in the same
run, side by side (bench/bench_reading.py has the full table for it)."""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.bench_reading import first_frame, timed  # noqa: E402
from bench.gen_log import write as write_events  # noqa: E402

DEFAULT = "events=10000:100000,tensorboard=10000,wandb=10000:100000,wandb_export=10000:100000,trackio=10000:100000,mlflow=10000:100000"


def generate(fmt: str, n: int, out: Path) -> tuple[Path, float]:
    t0 = time.perf_counter()
    if fmt == "events":
        path = write_events(n, out)
    else:
        cmd = [sys.executable, str(ROOT / "bench" / "gen_tracker_logs.py"), fmt, str(n), str(out)]
        path = Path(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1])
    return path, time.perf_counter() - t0


def size(path: Path) -> float:
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in files) / 2**20


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default=DEFAULT)
    ap.add_argument("--reps", type=int, default=3)
    a = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for spec in a.sizes.split(","):
            fmt, ns = spec.split("=")
            for n in map(int, ns.split(":")):
                path, gen = generate(fmt, n, Path(tmp) / f"{fmt}-{n}")
                argv = [sys.executable, "-m", "cockpit.cli", "diagnose", str(path)]
                diag = statistics.median(timed(argv) for _ in range(a.reps))
                frame = statistics.median(first_frame(path) for _ in range(a.reps))
                rows.append((fmt, n, size(path), diag, frame))
                print(
                    f"{fmt} {n}: diagnose {diag:.2f} s, first frame {frame:.2f} s (written in {gen:.0f} s)",
                    file=sys.stderr,
                )
    print("| format | steps | on disk | `diagnose` (process) | replay first frame (in-process) |")
    print("|---|---|---|---|---|")
    for fmt, n, mb, diag, frame in rows:
        print(f"| {fmt} | {n:,} | {mb:.1f} MiB | {diag:.2f} s | {frame:.2f} s |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
