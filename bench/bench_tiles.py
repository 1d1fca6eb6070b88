"""What the tiles' EMA costs a frame: one tile's chart on a 100,000-step live run (10 new steps a frame),
raw bars alone against raw bars with the EMA (tile_ema.py, kept from frame to frame), interleaved, on the
widths a tile has at 80x24 (22), 160x48 (29 beside its y labels) and the lead tile at 160x48 (68); and
the first frame (the whole run's EMA).

    python bench/bench_tiles.py [--steps N] [--rounds R]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import numpy as np

from cockpit.thresholds import Thresholds
from cockpit.tui.chart import draw_scaled
from cockpit.tui.tile_ema import TileEma


def frame(values, width: int, ema: TileEma | None) -> None:
    smooth = ema.columns(values, width) if ema else None
    draw_scaled(values, "loss", width, 4, Thresholds(), smooth=smooth)
    if ema:
        ema.last(values)  # the value line's `ema`


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=30)
    args = ap.parse_args(argv)
    rng = np.random.default_rng(0)
    values = (
        3 * np.exp(-np.arange(args.steps) / (args.steps / 5)) + 0.5 + rng.normal(0, 0.1, args.steps)
    )  # an array, as the tile holds
    print(f"{args.steps:,} steps, {args.rounds} interleaved rounds, ms per tile per frame (median)")
    for width in (22, 29, 68):
        times = {False: [], True: []}
        kept = TileEma()
        t = time.perf_counter()
        frame(values[: args.steps - 10 * args.rounds], width, kept)
        first = (time.perf_counter() - t) * 1000
        for r in range(args.rounds):
            shown = values[: args.steps - 10 * (args.rounds - r - 1)]
            for smoothed in (False, True):
                t = time.perf_counter()
                frame(shown, width, kept if smoothed else None)
                times[smoothed].append((time.perf_counter() - t) * 1000)
        raw, ema = statistics.median(times[False]), statistics.median(times[True])
        print(
            f"width {width:3d}: raw {raw:6.2f} ms   EMA on {ema:6.2f} ms   ratio {ema / raw:.2f}   first {first:.1f} ms"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
