"""A run of plain LLaMA-Factory training lines made a MetricsBlock straight from the parsed lines, with
no event made of each: the same columns `history.metrics_block` folds from the events
`llamafactory._as_metrics` makes of them (`lr` as learning_rate, `throughput` as tokens_per_s,
`total_tokens` as num_tokens, the elapsed time as step_time, the rest as logged), read a key at a time."""

from __future__ import annotations

from array import array
from itertools import repeat
from operator import is_, is_not
from typing import Any

import numpy as np

from cockpit.history.blocks import NOT_METRICS, SERIES_KEYS, MetricsBlock, block_of, extra_keys
from cockpit.logs import columns
from cockpit.logs.foreign import number

_RENAMED = {"learning_rate": "lr", "tokens_per_s": "throughput", "num_tokens": "total_tokens"}
_DROPPED = frozenset(("lr", "elapsed_time", "remaining_time", *NOT_METRICS))
"""Keys `_as_metrics` pops (text times, `lr` once renamed) or sets itself (v, t, kind, step)."""


def metrics_block(rows: list[dict[str, Any]], steps: list[int], step_time: np.ndarray) -> MetricsBlock:
    """`rows`: lines with a loss and no eval, steps `steps` (ints, rising); `step_time` as `_in_bulk` has
    it (NaN where none)."""
    present = set().union(*rows)
    read = [k for k in SERIES_KEYS if k in present and k != "t"]
    read += [k for k in _RENAMED.values() if k in present]
    extra = extra_keys(present - _DROPPED)  # (throughput, total_tokens among them: kept as logged too)
    wanted = list(dict.fromkeys(read + extra))
    got = dict(zip(wanted, columns.columns_of(rows, wanted, present)))
    n = len(rows)

    def col(key: str) -> np.ndarray:
        c = got.get(key)
        return np.frombuffer(c, dtype=np.float64) if c is not None else np.full(n, np.nan)

    made = {"t": np.full(n, np.nan)}
    if "lr" in present:  # `lr` when logged (not None), else a `learning_rate` the line may hold
        logged = np.fromiter(map(is_not, map(dict.get, rows, repeat("lr")), repeat(None)), bool, n)
        made["learning_rate"] = np.where(logged, col("lr"), col("learning_rate"))
    if "throughput" in present:  # a float (or text of one) above 0, as `_metrics` takes it
        raw = list(map(dict.get, rows, repeat("throughput")))
        if str in set(map(type, raw)):
            raw = list(map(number, raw))
        floats = np.fromiter(map(float.__instancecheck__, raw), bool, n)
        if floats.all():
            rate = col("throughput")
        else:  # (ints, None, words among them: only the floats' values count)
            rate = np.array([x if f else np.nan for x, f in zip(raw, floats.tolist())], dtype=np.float64)
        with np.errstate(invalid="ignore"):
            made["tokens_per_s"] = np.where(floats & (rate > 0), rate, col("tokens_per_s"))
    if "total_tokens" in present:  # an int above 0
        ints = np.fromiter(map(is_, map(type, map(dict.get, rows, repeat("total_tokens"))), repeat(int)), bool, n)
        tokens = col("total_tokens")
        with np.errstate(invalid="ignore"):
            made["num_tokens"] = np.where(ints & (tokens > 0), tokens, col("num_tokens"))
    made["step_time"] = np.where(step_time == step_time, step_time, col("step_time"))
    table = [array("d", made[k].tobytes()) if k in made else (got[k] if k in got else _nans(n)) for k in SERIES_KEYS]
    return block_of(rows, steps, table, {k: got[k] for k in extra}, present)


def _nans(n: int) -> array:
    return array("d", [np.nan]) * n
