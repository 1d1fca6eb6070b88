"""trackio's local project database (`~/.cache/huggingface/trackio/<project>.db`, SQLite): the rows a
Trainer logged (`train/loss`, `eval/loss`, `train/global_step`, ...) as our events. Read with the
standard library's sqlite3: no extra is needed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from itertools import chain, repeat
from pathlib import Path
from typing import Any

from cockpit.logs import sqlite_store
from cockpit.logs.errors import LogError
from cockpit.logs.foreign import run_started
from cockpit.logs.jsonline import fast_loads, loads_line
from cockpit.logs.tracker_rows import STEP_KEYS, finished_event, hf_key, row_events, rows_events, training_config
from cockpit.rundir import MAX_STEP, ReadStats, step_ok

NAME = "trackio"
TITLE = "trackio project database (<project>.db, SQLite, or its folder when it holds one)"


def find(directory: Path) -> Path | None:
    """The folder's project database when it holds one alone (trackio keeps one `<project>.db` per
    project in its folder: with several, each is a run of its own to name)."""
    dbs = list(directory.glob("*.db"))
    return dbs[0] if len(dbs) == 1 else None


def sniff(path: Path, head: bytes) -> bool:
    return {"metrics", "configs"} <= sqlite_store.tables(path, head) and _has_run_column(path)


def _has_run_column(path: Path) -> bool:
    try:
        with sqlite_store.connect(path) as db:
            return "run_name" in {r[1] for r in db.execute("PRAGMA table_info(metrics)")}
    except Exception:  # noqa: BLE001 - sniff never raises
        return False


def events(path: Path, stats: ReadStats) -> Iterator[dict[str, Any]]:
    return chain.from_iterable(blocks(path, stats))


def blocks(path: Path, stats: ReadStats) -> Iterator[list[dict[str, Any]]]:
    """The run's events, a list per BATCH rows (formats.py)."""
    with sqlite_store.connect(path) as db:
        runs = db.execute("SELECT run_name, run_name FROM metrics GROUP BY run_name ORDER BY min(id)").fetchall()
        run, note = sqlite_store.chosen(path, runs, "trackio")
        if note:
            stats.notes.append(note)
        training = training_config(_config(db, run))
        total = training.get("training", {}).get("max_steps")
        yield [run_started(NAME, total, config=training, run_name=run)]
        last = 0
        cur = db.execute("SELECT step, timestamp, metrics FROM metrics WHERE run_name = ? ORDER BY id", (run,))
        while batch := cur.fetchmany(BATCH):
            events, top = _in_bulk(batch, stats)
            if events is None:
                events, top = _one_by_one(batch, stats)
            last = max(last, top)
            yield events
    if stats.lines == 0:
        raise LogError(f"{path}: trackio run '{run}' logged no metrics")
    done = finished_event(last, total)
    if done:
        yield [done]


BATCH = 1 << 16
"""Rows fetched and made events at a time."""
_INT = frozenset((int,))


def _in_bulk(batch: list[tuple[Any, Any, Any]], stats: ReadStats) -> tuple[list[dict[str, Any]] | None, int]:
    """(events, the highest step) of rows fetched, made in a few C loops a key (`rows_events`), or (None,
    0) when some row needs `_one_by_one` (not JSON, not an object, its step odd or found two ways)."""
    steps, stamps, texts = map(list, zip(*batch))
    try:
        rows = list(map(fast_loads, texts))
    except (ValueError, TypeError):  # a NaN a Python writer left bare, or no text: each row alone
        rows = list(map(_loads_or_none, texts))
    if not all(map(dict.__instancecheck__, rows)):
        return None, 0
    for key in STEP_KEYS:  # the step logged beside the metrics, when every row has it; none: the row's own
        has = list(map(dict.__contains__, rows, repeat(key)))
        if all(has):
            steps = list(map(dict.get, rows, repeat(key)))
            break
        if any(has):
            return None, 0
    if not _INT.issuperset(map(type, steps)) or min(steps) < 0 or max(steps) > MAX_STEP:
        return None, 0
    stats.lines += len(rows)
    return rows_events(steps, rows, _unix_all(stamps)), max(steps)


def _loads_or_none(text: Any) -> Any:
    try:
        return loads_line(text)
    except (ValueError, TypeError):
        return None


def _one_by_one(batch: list[tuple[Any, Any, Any]], stats: ReadStats) -> tuple[list[dict[str, Any]], int]:
    out: list[dict[str, Any]] = []
    last = 0
    for step, stamp, text in batch:
        stats.lines += 1
        try:
            row = loads_line(text)
        except ValueError:
            row = None
        if not isinstance(row, dict):
            stats.note_bad(stats.lines)
            continue
        step = next((row[k] for k in STEP_KEYS if k in row), step)
        if step is None or not step_ok(step):  # (step_ok lets an absent one by)
            stats.note_bad(stats.lines)
            continue
        last = max(last, int(step))
        out += row_events(int(step), {hf_key(k): v for k, v in row.items()}, _unix(stamp))
    return out, last


def _config(db, run: str) -> dict[str, Any]:
    row = db.execute("SELECT config FROM configs WHERE run_name = ? ORDER BY id DESC LIMIT 1", (run,)).fetchone()
    try:
        config = loads_line(row[0]) if row else {}
    except ValueError:
        return {}
    return config if isinstance(config, dict) else {}


def _unix_all(stamps: list[Any]) -> list[float | None]:
    """`_unix` of each stamp: in C loops when all are ISO texts (a Python call each took 1.6 s a million)."""
    if _TEXT.issuperset(map(type, stamps)):
        try:
            return list(map(datetime.timestamp, map(datetime.fromisoformat, stamps)))
        except ValueError:
            pass
    return list(map(_unix, stamps))


_TEXT = frozenset((str,))


def _unix(stamp: Any) -> float | None:
    try:
        return datetime.fromisoformat(str(stamp)).timestamp()
    except ValueError:
        return None
