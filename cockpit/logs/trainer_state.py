"""Hugging Face `trainer_state.json`: the Trainer's `log_history` as `run_started` + `metrics` + `eval`
events, so replay, diagnose and report treat someone else's run exactly like ours.

A file up to WHOLE_BYTES is parsed whole. A longer one (10,000,000 entries are 459 MB: parsed whole,
4.9 GB and 97 s) is streamed: its `log_history` read a few MB of entries at a time (`state_stream`), so
memory stays with the History's columns. Bytes that are not UTF-8 are replaced (U+FFFD) and counted in
the notes rather than refusing the file as binary."""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterator
from itertools import chain, compress, repeat
from operator import not_
from pathlib import Path
from typing import Any

from cockpit.logs.errors import LogError
from cockpit.logs.foreign import plural
from cockpit.logs.jsonline import loads_line
from cockpit.rundir import MAX_STEP, ReadStats, as_event, step_ok

NAME = "trainer_state"
TITLE = "trainer_state.json (Hugging Face Trainer; or a folder holding one, or its checkpoints)"

WHOLE_BYTES = 16 << 20
"""Up to this size the file is parsed in one call (fastest); past it, streamed (bounded memory)."""

# HF `log_history` keys that are run summaries, not per-step metrics.
_SUMMARY_KEYS = {"train_runtime", "train_samples_per_second", "train_steps_per_second", "total_flos", "train_loss"}
_RENAME = {"train_tokens_per_second": "tokens_per_s"}
_CONFIG_KEYS = ("logging_steps", "eval_steps", "save_steps", "train_batch_size", "num_train_epochs")
_NOT_STATE = "not a trainer_state.json (expected an object with a 'log_history' list)"


def trainer_state_events(path: Path, stats: ReadStats | None = None) -> Iterator[dict[str, Any]]:
    """Convert an HF `trainer_state.json` into our events (metrics / eval / a summary state)."""
    return chain.from_iterable(blocks(path, stats if stats is not None else ReadStats()))


def blocks(path: Path, stats: ReadStats) -> Iterator[list[dict[str, Any]]]:
    """The events, a list per few MB of `log_history` entries (formats.py)."""
    try:
        size = path.stat().st_size
    except OSError as e:
        raise LogError(f"{path}: cannot read ({e})") from None
    if size > WHOLE_BYTES:
        from cockpit.logs.state_stream import stream

        header, lists = stream(path, stats)
    else:
        header = _whole(path, stats)
        lists = iter((header.pop("log_history"),))
    yield [_run_started(header)]
    read = 0
    for entries in lists:
        yield _events(entries, read, stats)
        read += len(entries)
    total, global_step = _count(header.get("max_steps")), _count(header.get("global_step"))
    if global_step and total and global_step >= total:
        yield [{"v": 1, "t": None, "kind": "state", "state": "finished", "step": global_step}]


_INT = frozenset((int,))
_METRICS = {"v": 1, "t": None, "kind": "metrics"}


def _events(entries: list[Any], read: int, stats: ReadStats) -> list[dict[str, Any]]:
    """The events of these entries (the `read` before them already counted). The training steps' entries
    are made events in place in a few C loops over all of them (`_entry_event` an entry took 5 s of a
    1,000,000-entry log's 8); the others (evals, the summary) and any batch with an odd entry go through
    it one by one."""
    got = _in_bulk(entries, read, stats)
    return got if got is not None else _one_by_one(entries, read, stats)


def _in_bulk(entries: list[Any], read: int, stats: ReadStats) -> list[dict[str, Any]] | None:
    if not entries or not all(map(dict.__instancecheck__, entries)):
        return None
    steps = list(map(dict.get, entries, repeat("step")))
    if not _INT.issuperset(map(type, steps)) or min(steps) < 0 or max(steps) > MAX_STEP:
        return None
    trained = list(map(dict.__contains__, entries, repeat("loss")))
    rows = list(compress(entries, trained)) if not all(trained) else entries
    keys = set().union(*rows)
    if " eval_" in " " + " ".join(keys) or "train_tokens_per_second" in keys:
        return None  # (`_entry_event`'s test of one entry, made of all of them at once)
    stats.lines += len(entries)
    deque(map(dict.update, rows, repeat(_METRICS)), 0)
    if rows is entries:
        return entries
    out, done = [], 0
    for i in compress(range(len(entries)), map(not_, trained)):  # evals, the summary: few
        out += entries[done:i]
        _add(out, _entry_event(entries[i]), read + i, stats)
        done = i + 1
    return out + entries[done:]


def _one_by_one(entries: list[Any], read: int, stats: ReadStats) -> list[dict[str, Any]]:
    stats.lines += len(entries)
    out: list[dict[str, Any]] = []
    for i, entry in enumerate(entries):
        _add(out, _entry_event(entry), read + i, stats)
    return out


def _add(out: list[dict[str, Any]], ev: dict[str, Any] | None, index: int, stats: ReadStats) -> None:
    if ev is None:  # not an object, no step or one no run reaches (2**70, NaN), nested too deep
        stats.note_bad(index + 1)
    else:
        out.append(ev)


def _whole(path: Path, stats: ReadStats) -> dict[str, Any]:
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise LogError(f"{path}: cannot read ({e})") from None
    if not raw.strip():
        raise LogError(f"{path}: file is empty")
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        raw = replace_bad_bytes(raw, stats)
    try:
        # Python's json (the fallback) accepts the bare NaN / Infinity literals real HF logs contain.
        state = loads_line(raw)
    except json.JSONDecodeError as e:
        raise LogError(f"{path}:{e.lineno}:{e.colno}: not valid JSON ({e.msg})") from None
    except ValueError as e:  # nested too deeply, a number with thousands of digits
        raise LogError(f"{path}: cannot read as JSON: {e}") from None
    if not isinstance(state, dict) or not isinstance(state.get("log_history"), list):
        raise LogError(f"{path}: {_NOT_STATE}")
    return state


def replace_bad_bytes(raw: bytes, stats: ReadStats) -> str:
    """The text with every byte that is not UTF-8 replaced by U+FFFD, and a note of how many."""
    bad = len(raw) - len(raw.decode("utf-8", "ignore").encode("utf-8"))
    stats.notes.append(f"{plural(bad, 'byte')} that are not UTF-8 text replaced by U+FFFD (the file is damaged there)")
    return raw.decode("utf-8", "replace")


def _run_started(state: dict[str, Any]) -> dict[str, Any]:
    # Header numbers are the doc's word, not ours: one that no run has (a string, 1e400, 2**70) is absent.
    return {
        "v": 1,
        "t": None,
        "kind": "run_started",
        "source": "trainer_state",
        "total_steps": _count(state.get("max_steps")),
        "config": {"training": {k: state[k] for k in _CONFIG_KEYS if _count(state.get(k)) is not None}},
        "trainable_params": None,
        "device": None,
        "world_size": 1,
    }


def _count(x: Any) -> int | float | None:
    """A header count (max_steps, logging_steps, ...) when it is a number a run can have, else None."""
    return x if x is not None and type(x) is not bool and step_ok(x) else None


def _entry_event(entry: Any) -> dict[str, Any] | None:
    """One `log_history` entry as our event (eval / summary / metrics), or None when a reader of our own
    events would skip it. The entry's keys never override the event's own v / t / kind."""
    if type(entry) is not dict:
        return None
    step = entry.get("step")
    if type(step) is not int or not 0 <= step <= MAX_STEP:
        if step is None or not step_ok(step):
            return None
        step = int(step)
    if "loss" in entry and " eval_" not in " " + " ".join(entry) and "train_tokens_per_second" not in entry:
        # The common entry, a training step's, made an event in place: a few C calls, where the general
        # path below costs 5 us an entry (a 1,000,000-entry log spent 5 s there).
        entry["v"], entry["t"], entry["kind"], entry["step"] = 1, None, "metrics", step
        return entry
    if any(k.startswith("eval_") for k in entry):
        ev = {
            "epoch": entry.get("epoch"),
            **{k: v for k, v in entry.items() if k.startswith("eval_")},
            "v": 1,
            "t": None,
            "kind": "eval",
            "step": step,
        }
    elif _SUMMARY_KEYS & entry.keys() and "loss" not in entry:
        ev = {**entry, "v": 1, "t": None, "kind": "summary", "step": step}
    else:
        ev = {_RENAME.get(k, k): v for k, v in entry.items()}
        ev.update(v=1, t=None, kind="metrics")
    return as_event(ev)


def find(directory: Path) -> Path | None:
    """The folder's own trainer_state.json, else its newest checkpoint's (the longest history)."""
    ts = directory / "trainer_state.json"
    if ts.exists():
        return ts
    ckpts = sorted(directory.glob("checkpoint-*/trainer_state.json"), key=_ckpt_num)
    return ckpts[-1] if ckpts else None


def _ckpt_num(p: Path) -> int:
    try:
        return int(p.parent.name.split("-")[-1])
    except ValueError:
        return -1


def sniff(path: Path, head: bytes) -> bool:
    """A JSON object holding a `log_history` key near its start, or any `.json` file starting with an
    object (read and refused with the reason when it has no `log_history`)."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    return text.startswith(b"{") and (b'"log_history"' in head or path.suffix == ".json")


events = trainer_state_events
