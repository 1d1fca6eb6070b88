"""The run browser on a folder of many runs (issue #38, item 4): how long until every run's name is on
screen, against how long until every row is read (kind, config, the advisor's verdict). Both in one
Pilot session, side by side; runs written by tests/tuihelpers.write_run.

    OMP_NUM_THREADS=1 .venv/bin/python bench/bench_browser.py [N_RUNS] [STEPS]
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent.parent / "tests"))

from cockpit.tui.browser_app import BrowserApp  # noqa: E402
from tuihelpers import write_run  # noqa: E402


async def measure(root: Path, n: int) -> tuple[float, float]:
    app = BrowserApp(root)
    t0 = time.perf_counter()
    named = None
    async with app.run_test(size=(160, 48)) as pilot:
        while True:
            screen = app.screen
            if named is None and getattr(screen, "entries", None) and screen.table.row_count == n:
                named = time.perf_counter() - t0
            if getattr(screen, "read_all", False):
                return named or 0.0, time.perf_counter() - t0
            await pilot.pause(0.01)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    steps = int(sys.argv[2]) if len(sys.argv) > 2 else 300
    with tempfile.TemporaryDirectory() as d:
        root = Path(d) / "runs"
        for i in range(n):
            write_run(root / f"run-{i:04d}", steps, state="finished")
        named, read = asyncio.run(measure(root, n))
    print(f"{n} runs of {steps} steps: every name listed after {named:.2f} s, every row read after {read:.2f} s")


if __name__ == "__main__":
    main()
