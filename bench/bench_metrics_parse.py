"""Our events.jsonl's metrics lines, parsed: orjson's dicts against events_columns' typed rows (msgspec),
and their columns, side by side in one process (best of 3), 4 MB of lines at a time and with the cyclic
GC paused, as the reader does.

    .venv/bin/python bench/bench_metrics_parse.py EVENTS_JSONL [MB]"""

from __future__ import annotations

import gc
import sys
import time
from itertools import chain
from operator import attrgetter, itemgetter
from pathlib import Path

import numpy as np
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cockpit.logs import events_columns  # noqa: E402


def best(what: str, f):
    times = []
    for _ in range(3):
        t = time.perf_counter()
        out = f()
        times.append(time.perf_counter() - t)
    print(f"{what:<40} {min(times):.3f} s")
    return out


def main() -> None:
    gc.disable()
    mb = int(sys.argv[2]) if len(sys.argv) > 2 else 170
    with open(sys.argv[1], "rb") as f:
        lines = [x for x in f.read(mb << 20).split(b"\n")[1:-1] if b'"kind":"metrics"' in x]
    keys = tuple(orjson.loads(lines[0]))
    metrics = [k for k in keys if k not in ("v", "t", "kind", "step", "mem_kind")]
    print(f"{len(lines):,} metrics lines, {len(metrics)} metrics each")
    dicts = best("orjson, a dict a line", lambda: list(map(orjson.loads, lines)))
    best("  its columns", lambda: np.fromiter(chain.from_iterable(map(itemgetter(*metrics), dicts)), np.float64))
    pieces = [lines[i : i + 12_000] for i in range(0, len(lines), 12_000)]  # ~4 MB each
    rows = best("msgspec, a typed row a line", lambda: list(chain.from_iterable(map(events_columns._typed, pieces))))
    fields = [type(rows[0]).field_of[k] for k in metrics]
    best("  its columns", lambda: np.fromiter(chain.from_iterable(map(attrgetter(*fields), rows)), np.float64))


if __name__ == "__main__":
    main()
