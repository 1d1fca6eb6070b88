"""Console output saved from a Trainer run (transformers, TRL, axolotl, Unsloth): the dicts the Trainer
prints at each log, found among progress bars, warnings and any other prints.

    10%|█         | 40/400 [01:48<06:51,  1.14s/it]{'loss': 4.1484, 'grad_norm': 2.39, 'learning_rate': 4.6e-05, 'epoch': 0.1}
    {'eval_loss': '1.17', 'eval_runtime': '8.043', 'epoch': '1'}          <- newer transformers print strings
    {'train_runtime': 2279.1, 'train_samples_per_second': 2.996, 'train_loss': 1.229, 'epoch': 3.0}

The dicts carry no step. The step is the training progress bar's count printed just before a dict (the
Trainer writes each log through that bar); without bars, the log's order times `logging_steps` when the
run printed its arguments, else the log's order itself, and the notes say which (`console_steps`)."""

from __future__ import annotations

import ast
import re
from collections import deque
from collections.abc import Iterator
from itertools import chain, compress, repeat
from operator import not_
from pathlib import Path
from typing import Any

import numpy as np

from cockpit.logs.console_steps import Steps, bars
from cockpit.logs.foreign import chunks, number, plural, run_started
from cockpit.logs.jsonline import loads_line
from cockpit.rundir import ReadStats

NAME = "console"
TITLE = "console output of a Trainer / TRL / axolotl / Unsloth run (its {'loss': ...} lines)"

SNIFF_BYTES = 4 << 20
"""How far into a file a log dict is looked for: a console log may open with pages of downloads and
warnings, but a Trainer's first log comes well within this."""

_LOG_DICT = re.compile(rb"\{'(?:loss|eval_[A-Za-z0-9_/]+|train_runtime)': ")
# Dicts and bars (console_steps) are found by two patterns, each with a literal start (what lets the regex
# engine skip ahead: one pattern with both as alternatives took 2.5 times as long), merged by position.
# A flat dict as Python prints it (nested ones are no log), split on: one C call gives them all.
_DICT = re.compile(rb"(\{'[^{}\r\n]*\})")
# The banner's total and the printed arguments' logging_steps: apart, each with its literal start (as one
# pattern of two alternatives, its search took ~1 s of a million-log console's read).
_TOTAL = re.compile(rb"Total optimization steps = ([\d,]+)")
_EVERY = re.compile(rb"logging_steps[=:] *(\d+)")
_BARE = re.compile(rb": (nan|-?inf|None|True|False)(?=[,}])")
_JSON_OF = {
    b"nan": b"NaN",
    b"inf": b"Infinity",
    b"-inf": b"-Infinity",
    b"None": b"null",
    b"True": b"true",
    b"False": b"false",
}
_SUMMARY = frozenset(
    ("train_runtime", "train_samples_per_second", "train_steps_per_second", "total_flos", "train_loss")
)
_RENAME = {"train_tokens_per_second": "tokens_per_s"}


def sniff(path: Path, head: bytes) -> bool:
    if b"\0" in head:
        return False
    if _LOG_DICT.search(head):
        return True
    if len(head) < 4096:
        return False
    try:
        with open(path, "rb") as f:
            return _LOG_DICT.search(f.read(SNIFF_BYTES)) is not None
    except OSError:
        return False


def events(path: Path, stats: ReadStats) -> Iterator[dict[str, Any]]:
    return chain.from_iterable(blocks(path, stats))


class _Read:
    """What the events of one piece of the file depend on from the pieces before it."""

    def __init__(self) -> None:
        self.steps = Steps()
        self.foreign = 0  # printed dicts that are no training log
        self.summary: dict[str, Any] | None = None
        self.started = False


def blocks(path: Path, stats: ReadStats) -> Iterator[list[dict[str, Any]]]:
    """The events, a list per few MB of the file (formats.py)."""
    read = _Read()
    steps = read.steps
    for chunk in chunks(path, b"\r"):
        for m in _TOTAL.finditer(chunk):
            steps.total = int(m[1].replace(b",", b"")) or None
        for m in _EVERY.finditer(chunk) if steps.every is None else ():
            steps.every = int(m[1]) or None
            if steps.every:
                break
        parts = _DICT.split(chunk)
        dicts = parts[1::2]  # each printed dict, its step settled by the bars before it; parsed in bulk below
        starts = np.cumsum(np.fromiter(map(len, parts), np.int64, len(parts)))[0:-1:2]
        training = np.fromiter(map(bytes.startswith, dicts, repeat(b"{'loss': ")), bool, len(dicts))
        at = steps.at(bars(chunk), starts, training)
        if dicts:
            yield _events(_parse_all(dicts), at, read, stats)
    if not read.started:
        yield [run_started(NAME, steps.training_total())]
    if read.foreign:
        stats.notes.append(
            f"left out {plural(read.foreign, 'printed dict')} that are not training logs (configs, samples, ...)"
        )
    if (note := steps.note()) is not None:
        stats.notes.append(note)
    if read.summary is not None:
        yield [{"v": 1, "t": None, "kind": "state", "state": "finished", "step": read.summary["step"]}]


_NUMBERS = frozenset((float, int, bool))
_METRICS = {"v": 1, "t": None, "kind": "metrics"}


def _events(logs: list[Any], at: list[int], read: _Read, stats: ReadStats) -> list[dict[str, Any]]:
    """The events of a piece's printed dicts (parsed: `logs`; printed at steps `at`). The training logs
    among them are made events in place in a few C loops over all of them (`_one_by_one`, a Python step a
    dict, cost 5 s of a million-log console's 14); the others (evals, the summary, foreign dicts) go
    through `_one_by_one`, in order."""
    stats.lines += len(logs)
    if set(map(type, logs)) == {dict}:
        plain = list(map(dict.__contains__, logs, repeat("loss")))
    else:
        plain = [type(log) is dict and "loss" in log for log in logs]
    trained = list(compress(logs, plain))
    losses = list(map(dict.get, trained, repeat("loss")))
    if not _numbers(losses):  # ({'loss': 'mse'} is a model's config, not a log)
        return _one_by_one(logs, at, read)
    deque(map(dict.update, trained, repeat(_METRICS)), 0)  # values as printed: the History reads text
    deque(map(dict.__setitem__, trained, repeat("step"), compress(at, plain)), 0)
    out: list[dict[str, Any]] = []
    done = 0
    for i in (*compress(range(len(logs)), map(not_, plain)), len(logs)):
        if i > done:
            if not read.started:  # the banner and bars before the first log say the total
                out.append(run_started(NAME, read.steps.training_total()))
                read.started = True
            out += logs[done:i]
        if i < len(logs):
            out += _one_by_one(logs[i : i + 1], at[i : i + 1], read)
        done = i + 1
    return out


def _numbers(values: list[Any]) -> bool:
    """Whether each value is a number, or one written as text (newer transformers print every value so)."""
    try:
        deque(map(float, values), 0)  # (a C loop: float() takes exactly those, and bools)
        return True
    except (TypeError, ValueError):
        return False
    except OverflowError:  # an int past a double
        return _NUMBERS.issuperset(map(type, map(number, values)))


def _one_by_one(logs: list[Any], at: list[int], read: _Read) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for step, log in zip(at, logs):
        kind = _kind(log)
        if kind is None:
            read.foreign += 1
            continue
        if not read.started:  # the banner and bars before the first log say the total
            out.append(run_started(NAME, read.steps.training_total()))
            read.started = True
        if kind == "metrics":
            log["v"], log["t"], log["kind"], log["step"] = 1, None, "metrics", step
            out.append(log)  # values as printed: the History reads numbers written as text
            continue
        ev = {_RENAME.get(k, k): number(v) for k, v in log.items() if type(k) is str}
        ev.update(v=1, t=None, kind=kind, step=step)
        read.summary = ev if kind == "summary" else read.summary
        out.append(ev)
    return out


def _kind(log: dict[str, Any] | None) -> str | None:
    if not log:
        return None
    if "loss" in log:  # a number, or one written as text: {'loss': 'mse'} is a model's config
        return "metrics" if isinstance(number(log["loss"]), (int, float)) else None
    if any(type(k) is str and k.startswith("eval_") for k in log):
        return "eval"
    if _SUMMARY & log.keys():
        return "summary"
    return None


def _parse_all(dicts: list[bytes]) -> list[dict[str, Any] | None]:
    """Each printed dict's value (None for one that is no dict Python printed), parsed in one call when
    they are all plain: swapping the quotes makes JSON of what Python prints for str keys and numbers.
    (Reading the values printed as text as numbers here, with their quotes taken off, measured no faster:
    the passes over the bytes cost what the History's float() of the text does.)"""
    if not dicts:
        return []
    joined = b"[" + b",".join(dicts) + b"]"
    if b'"' not in joined:
        try:
            values = loads_line(_BARE.sub(_json_word, joined).replace(b"'", b'"'))
            if set(map(type, values)) == {dict}:
                return values
        except ValueError:
            pass
    return [_parse(d) for d in dicts]


def _json_word(m: re.Match) -> bytes:
    return b": " + _JSON_OF[m.group(1)]


def _parse(d: bytes) -> dict[str, Any] | None:
    """A printed dict's value, or None when it is no dict Python printed."""
    if b'"' not in d:
        try:
            v = loads_line(_BARE.sub(_json_word, d).replace(b"'", b'"'))
            return v if type(v) is dict else None
        except ValueError:
            pass
    try:
        v = ast.literal_eval(d.decode("utf-8", "replace"))
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return None
    return v if type(v) is dict else None
