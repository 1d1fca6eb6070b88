"""Our events.jsonl's metrics lines read straight into columns: what `History.extend_prefolded` takes,
with no dict made of a line.

A million-step log is a million metrics lines of the same keys. orjson makes a dict of each (~2.5 µs a
line here, half of reading the log); msgspec, told the keys and that each value is a number, reads them
into one small object each in less than half that (bench/README.md). A run of metrics lines whose keys
are all those of its first, each a known metric holding a number or null, is read so; anything else (a
line with other keys or values, a blank or damaged line, steps that do not rise) sends its piece down
the exact path, `prefold_blocks` of `parse_lines`, which tests/test_bulk_reading.py holds this one to."""

from __future__ import annotations

from array import array
from collections.abc import Iterator
from functools import cache
from itertools import chain, compress, repeat
from operator import attrgetter, not_
from pathlib import Path
from typing import Any, Literal

import numpy as np

from cockpit.history.blocks import (
    BLOCK_ROWS,
    MIN_BLOCK_ROWS,
    NOT_METRICS,
    SERIES_KEYS,
    MetricsBlock,
    block_of,
    extra_keys,
    metrics_block,
    prefold_blocks,
)
from cockpit.logs import columns
from cockpit.logs.jsonline import fast_loads
from cockpit.rundir.events import MAX_STEP, parse_line
from cockpit.rundir.reading import ReadStats, line_blocks, parse_lines

_MARK = b'"kind":"metrics"'  # in every metrics line our writer makes (orjson: no spaces)
_NAN = array("d", [float("nan")])


def prefolded(path: Path, stats: ReadStats, start: int = 0, end: int | None = None) -> Iterator[Any]:
    try:
        import msgspec  # noqa: F401  (a base dependency; an older install without it reads as before)
    except ImportError:
        yield from prefold_blocks(parse_lines(lines, stats, n) for lines, n in line_blocks(path, stats, start, end))
        return
    last: list[int | None] = [None]  # the last step of the previous block here that took the column path
    for lines, lineno in line_blocks(path, stats, start, end):
        items = _piece(lines, last)
        if items is None:
            items = list(prefold_blocks([parse_lines(lines, stats, lineno)]))
            last[0] = None  # (its first block keeps its events: see prefold_blocks)
        else:
            stats.lines += len(lines)
        yield from items


def _piece(lines: list[bytes], last: list[int | None]) -> list[Any] | None:
    """A piece's events and MetricsBlocks, as prefold_blocks makes them of its parsed lines (runs of
    metrics cut at every other event but a system reading, which is given before its run's block); None
    when a line is not as this path needs it (the exact path then reads the piece)."""
    n = len(lines)
    others = list(compress(range(n), map(not_, map(bytes.__contains__, lines, repeat(_MARK)))))
    parsed = {}
    for i in others:  # (a few a piece: checkpoints, acks, system readings)
        ev = parse_line(lines[i])
        if ev is None or ev["kind"] == "metrics":
            return None  # a blank or damaged line (counted by the exact path), or a metrics line written otherwise
        parsed[i] = ev
    out: list[Any] = []
    a = j = 0  # the run's first line; the next of `others` not yet given
    for cut in (*(i for i in others if parsed[i]["kind"] != "system"), n):
        held = []  # the system readings inside the run
        while j < len(others) and others[j] < cut:
            held.append(parsed[others[j]])
            j += 1
        j += j < len(others) and others[j] == cut
        run = lines[a:cut] if not held else [lines[i] for i in range(a, cut) if i not in parsed]
        out += held
        for b in range(0, len(run), BLOCK_ROWS):
            block = _block(run[b : b + BLOCK_ROWS], last)
            if block is None:
                return None
            out.append(block)
        if cut < n:
            out.append(parsed[cut])
        a = cut + 1
    return out


def _block(raw: list[bytes], last: list[int | None]) -> MetricsBlock | None:
    """The MetricsBlock of a run of metrics lines, as `metrics_block` makes it of their events."""
    if len(raw) < MIN_BLOCK_ROWS:  # (metrics_block leaves it to the per-event path: it needs the events)
        events = list(map(parse_line, raw))
        if None in events or any(ev["kind"] != "metrics" for ev in events):  # ('"kind":"metrics"' in another)
            return None
        last[0] = None
        return metrics_block(events)
    rows = _typed(raw)
    if rows is None:
        return None
    try:
        steps = np.fromiter(map(attrgetter(type(rows[0]).field_of["step"]), rows), np.int64, len(rows))
    except OverflowError:
        return None
    if steps[0] < 0 or steps[-1] > MAX_STEP or (np.diff(steps) <= 0).any():
        return None  # (out of range, or not rising: the exact path)
    keys = type(rows[0]).keys
    got = _columns(rows, [k for k in keys if k not in NOT_METRICS])
    n = len(rows)
    table = [got[k] if k in got else _NAN * n for k in SERIES_KEYS]
    events = None
    if last[0] is None or steps[0] <= last[0]:  # it may take the History's per-event path: keep the events
        events = list(map(parse_line, raw))
        if None in events:
            return None
    last[0] = int(steps[-1])
    t = "t" in keys
    return block_of(
        rows,
        steps.tolist(),
        table,
        {k: got[k] for k in extra_keys(keys)},  # a metric of the run's own: kept where it holds a number
        set(keys),
        events,
        rows[0].get("t") if t else None,
        rows[-1].get("t") if t else None,
    )


def _columns(rows: list[Any], keys: list[str]) -> dict[str, array]:
    """A float column per key (NaN where a row holds null)."""
    field_of = type(rows[0]).field_of
    fields = [field_of[k] for k in keys]
    n = len(rows)
    if len(fields) > 1:
        try:
            flat = np.fromiter(chain.from_iterable(map(attrgetter(*fields), rows)), np.float64, n * len(fields))
        except TypeError:  # a null somewhere: key by key
            pass
        else:
            grid = flat.reshape(n, len(fields))
            return {k: array("d", grid[:, j].tobytes()) for j, k in enumerate(keys)}
    return {k: columns.floats(list(map(attrgetter(f), rows))) for k, f in zip(keys, fields)}


def _typed(raw: list[bytes]) -> list[Any] | None:
    """The lines read as objects of the first line's keys, or None when one is not such a metrics line."""
    import msgspec

    try:
        first = fast_loads(raw[0])
    except ValueError:
        return None
    if type(first) is not dict or "step" not in first:
        return None
    try:
        return _decoder(tuple(first)).decode(b"[" + b",".join(raw) + b"]")
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None


@cache
def _decoder(keys: tuple[str, ...]) -> Any:
    """A decoder of lists of metrics lines holding exactly `keys`: each value of its type, none missing,
    none more (msgspec refuses the list otherwise)."""
    import msgspec

    def typed(key: str) -> Any:
        if key == "kind":
            return Literal["metrics"]
        if key == "step":
            return int
        if key == "t":
            return int | float | None  # (kept as written: the History's first and last times)
        return Any if key in NOT_METRICS else float | None

    fields = {f"f{i}": k for i, k in enumerate(keys)}
    row = msgspec.defstruct(
        "MetricsLine",
        [(f, typed(k)) for f, k in fields.items()],
        rename=fields,
        forbid_unknown_fields=True,
        gc=False,
        namespace={"keys": keys, "field_of": {k: f for f, k in fields.items()}, "get": _get, "__getitem__": _get},
    )
    return msgspec.json.Decoder(list[row])


def _get(row: Any, key: str, default: Any = None) -> Any:
    """`dict.get` for block_of, which reads a few keys of a few rows."""
    name = row.field_of.get(key)
    return default if name is None else getattr(row, name)
