"""`make bench`: the CPU benchmarks, each printing a Markdown table (under 10 minutes on 2 cores)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
STEPS = [
    (
        "Training overhead (a/b/c)",
        [
            "bench_overhead.py",
            "--steps",
            "60",
            "--reps",
            "3",
            "--hook-times",
            "--interleaved-steps",
            "1600",
            "--block",
            "4",
        ],
    ),
    ("Memory readings", ["bench_memory.py"]),
    ("The cockpit watching a run", ["bench_cockpit.py", "--seconds", "8", "--rates", "10,1000"]),
    ("Reading long logs", ["bench_reading.py", "--reps", "1"]),
    ("Control latency in steps", ["bench_control.py"]),
]


def main() -> int:
    t0 = time.time()
    for title, argv in STEPS:
        print(f"\n## {title}\n", flush=True)
        r = subprocess.run([sys.executable, str(HERE / argv[0]), *argv[1:]], capture_output=True, text=True)
        table = [ln for ln in r.stdout.splitlines() if ln.startswith(("|", "(")) or not ln.strip()]
        text = "\n".join(table).strip()
        print(text if "|" in text else r.stdout[-2000:] + r.stderr[-2000:], flush=True)
    print(f"\n(total {time.time() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
