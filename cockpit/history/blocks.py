"""Folding runs of `metrics` events column-wise: the part of reading a long log that costs (~2 µs a
step), kept apart from the History that receives the columns so `cockpit.logs.preload` can convert a log's
tail in one process while another still reads the History it goes onto."""

from __future__ import annotations

import gc
from array import array
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import compress, islice, repeat
from typing import Any

from cockpit.history.fields import list_or_none, strictly_increasing_ints
from cockpit.logs import columns
from cockpit.run_kind import METHOD_KEYS
from cockpit.rundir import METRIC_KEYS


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Parsing a long log makes ~15 objects per line (held until their batch is folded); the cyclic GC
    would walk that growing heap again and again: 6% of `diagnose` on 100,000 steps. Events are trees
    of JSON values, never cycles, so reference counting frees them all the same."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


SERIES_KEYS = (*METRIC_KEYS, *METHOD_KEYS, "epoch", "t")
"""The History's metric columns, in order: the SFT metrics, then what preference, RL and reward-model
trainers log instead (cockpit.run_kind), then epoch and time."""

NOT_METRICS = frozenset(("v", "kind", "step", "mem_kind", "mem_per_rank"))
"""Fields of a `metrics` event that are not a metric to chart."""


def extra_keys(keys) -> list[str]:
    """The keys of a `metrics` event beyond SERIES_KEYS that may be metrics (a custom one, a method's
    own): kept as columns too so the metric picker can chart any numeric key the run logs."""
    return sorted(k for k in keys if type(k) is str and k not in _SERIES_SET and k not in NOT_METRICS)


_SERIES_SET = frozenset(SERIES_KEYS)


@dataclass
class MetricsBlock:
    """A run of consecutive `metrics` events already turned into columns. Converting is the costly part
    of folding (~2 µs a step); keeping it apart from appending lets `cockpit.logs.preload` convert a log's tail
    while the History it goes onto is still being read by another process."""

    events: list[dict[str, Any]] | None
    """The events themselves, for the per-event path; None once it is certain they will not be needed
    (freeing 50,000 parsed events costs ~40 ms, better spent while preload waits for its child)."""
    t_first: Any = None
    t_last: Any = None
    steps: list[int] | None = None
    """None: too short to be worth it, or steps not strictly increasing ints (the per-event path)."""
    columns: list[array] = field(default_factory=list)
    """One column per SERIES_KEYS entry."""
    nonfinite: dict[str, list[int]] = field(default_factory=dict)
    mem_kind: str | None = None
    per_rank_mem: list[Any] | None = None
    extra: dict[str, array] = field(default_factory=dict)
    """Columns of the numeric keys beyond SERIES_KEYS (`extra_keys`), only those holding a number."""


MIN_BLOCK_ROWS = 64
"""A shorter run of `metrics` events is folded one event at a time (columns would not pay)."""

BLOCK_ROWS = 65536
"""The most `metrics` events one MetricsBlock holds (a few MB of columns)."""

_not_metrics = "metrics".__ne__


def prefold(events: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any] | MetricsBlock]:
    """The events, with each run of consecutive `metrics` events (up to BLOCK_ROWS) as one MetricsBlock.

    A `system` event inside such a run does not end it: it is held and given just before the block. The
    History folds system readings on their own steps, apart from the metric rows, so the order between
    them does not matter; and a run that logs every step, at a step a second, has a reading every 15
    logged steps: cut there, a 100,000-step log folded per event took 4.1 s instead of 0.7 s."""
    it = iter(events)
    return prefold_blocks(iter(lambda: list(islice(it, 4096)), []))


def prefold_blocks(blocks: Iterable[list[dict[str, Any]]]) -> Iterator[dict[str, Any] | MetricsBlock]:
    """`prefold` of events that come a list at a time (`cockpit.rundir.read_blocks`): each list is cut at
    its few non-metrics events by list slicing, so a metrics event costs no Python step of its own."""
    batch: list[dict[str, Any]] = []
    held: list[dict[str, Any]] = []
    last_step = None  # the last step of the previous block when it took the column path

    def block(rows: list[dict[str, Any]]) -> MetricsBlock:
        nonlocal last_step
        b = metrics_block(rows)
        if b.steps is None:
            last_step = None
            return b
        if last_step is not None and b.steps[0] > last_step:
            b.events = None  # it follows a column-path block: it cannot take the per-event path
        last_step = b.steps[-1]
        return b

    for evs in blocks:
        n = len(evs)
        # where the events that are not metrics sit (a kind "metrics" is the only one __ne__ calls False)
        others = list(compress(range(n), map(_not_metrics, map(dict.get, evs, repeat("kind")))))
        a = 0
        for i in (*others, n):
            if i > a:
                batch += evs[a:i]
                while len(batch) >= BLOCK_ROWS:
                    yield from held
                    yield block(batch[:BLOCK_ROWS])
                    batch, held = batch[BLOCK_ROWS:], []
            if i < n:
                ev = evs[i]
                if batch and ev.get("kind") == "system":
                    held.append(ev)
                else:
                    if batch:
                        yield from held
                        yield block(batch)
                        batch, held = [], []
                    yield ev
            a = i + 1
    yield from held
    if batch:
        yield block(batch)


def metrics_block(batch: list[dict[str, Any]]) -> MetricsBlock:
    steps = list(map(dict.get, batch, repeat("step")))
    t_first, t_last = batch[0].get("t"), batch[-1].get("t")
    if len(batch) < MIN_BLOCK_ROWS or not strictly_increasing_ints(steps, None):
        return MetricsBlock(batch, t_first, t_last)
    present = set().union(*batch)  # once: a key no row holds (a method's own metric) needs no pass
    table = columns.columns_of(batch, SERIES_KEYS, present)
    # One C-level pass over the keys (~3 ms for 65,536 rows): a custom key may be logged every N steps.
    names = extra_keys(present)
    extra = dict(zip(names, columns.columns_of(batch, names, present) if names else ()))
    return block_of(batch, steps, table, extra, present, batch, t_first, t_last)


def block_of(
    rows: list[dict[str, Any]],
    steps: list[int],
    table: list[array],
    extra: dict[str, array],
    present: set[str],
    events: list[dict[str, Any]] | None = None,
    t_first: Any = None,
    t_last: Any = None,
) -> MetricsBlock:
    """The MetricsBlock of `rows` (events, or lines a reader turns into columns itself) with their columns
    made: `table` (SERIES_KEYS) and `extra` (kept where they hold a number); the non-finite losses and
    grad norms, the memory kind and per-rank memory read from the rows."""
    nonfinite = {}
    for k in ("loss", "grad_norm"):
        if k not in present:  # (a column of NaNs: a look at each of its rows would find nothing logged)
            continue
        bad = [i for i in columns.nonfinite_positions(table[SERIES_KEYS.index(k)], 0) if rows[i].get(k) is not None]
        if bad:
            nonfinite[k] = [steps[i] for i in bad]
    mem_kind = None
    if "mem_kind" in present:  # (else a look at every row: 0.4 s a million, for a log with no memory readings)
        mem_kind = next((ev["mem_kind"] for ev in reversed(rows) if type(ev.get("mem_kind")) is str), None)
    per_rank = None  # the last reading of each rank's memory, as the per-event path keeps it
    if "mem_per_rank" in present:
        per_rank = next((r for r in map(list_or_none, map(_get, reversed(rows), repeat("mem_per_rank"))) if r), None)
    kept = {k: col for k, col in extra.items() if columns.any_number(col)}
    return MetricsBlock(events, t_first, t_last, steps, table, nonfinite, mem_kind, per_rank, kept)


def _get(row: Any, key: str) -> Any:
    return row.get(key)
