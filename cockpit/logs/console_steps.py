"""The step of each dict a Trainer printed to its console. A printed log carries no step: it is the count
of the training progress bar drawn just before it (the Trainer writes each log through that bar; a count
below the last step is a run resumed from a checkpoint into the same console); without bars, the
previous log's step plus `logging_steps` when the run printed its arguments, else plus the last
interval seen.

A million-step console has a million bars and dicts, so a piece of the file is taken whole: its bars as
arrays (`bars`), and the steps of its dicts in a few numpy passes when every training log in it has a
bar of its own that counts on (`Steps.at`); any other piece goes a dict at a time (`Steps.one_by_one`,
the reference that tests/test_bulk_reading.py holds the bulk path to)."""

from __future__ import annotations

import re
from typing import NamedTuple

import numpy as np

from cockpit.logs.foreign import plural

# A tqdm bar: '  5%|###  | 10/200 [00:10<...'. Split on, so that each bar's position, count and total come
# out of one C call; the text before each is kept to tell the Trainer's bars from named ones.
_BAR = re.compile(rb"(%\|[^|\r\n]*\| *(\d+)/(\d+) \[)")
_0, _9, _COLON, _SPACE = b"0"[0], b"9"[0], b":"[0], b" "[0]


class Bars(NamedTuple):
    """The Trainer's training and eval bars in a piece: where each ends, its count and its total."""

    ends: np.ndarray
    n: np.ndarray
    total: np.ndarray


def bars(chunk: bytes) -> Bars:
    parts = _BAR.split(chunk)
    before, whole, ns, totals = parts[0:-1:4], parts[1::4], parts[2::4], parts[3::4]
    count = len(whole)
    ends = np.cumsum(np.fromiter(map(len, before), np.int64, count) + np.fromiter(map(len, whole), np.int64, count))
    keep = _unnamed(np.frombuffer(chunk, np.uint8), ends - np.fromiter(map(len, whole), np.int64, count))
    try:
        n = np.fromiter(map(int, ns), np.int64, count)
        total = np.fromiter(map(int, totals), np.int64, count)
    except (OverflowError, ValueError):  # a count past an int64 is no bar (nor one int() refuses to read)
        fits = [_fits(a) and _fits(b) for a, b in zip(ns, totals)]
        keep &= np.array(fits, bool)
        n = np.fromiter((int(d) if ok else 0 for d, ok in zip(ns, fits)), np.int64, count)
        total = np.fromiter((int(d) if ok else 0 for d, ok in zip(totals, fits)), np.int64, count)
    keep &= n <= total
    return Bars(ends[keep], n[keep], total[keep])


def _fits(digits: bytes) -> bool:
    return len(digits) <= 19 and int(digits) < 1 << 63


def _unnamed(text: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Whether each bar whose '%' is at `at` is a Trainer's (training or eval): its percentage, the 1-3
    digits before the '%', does not follow ': ' (a named bar, 'Map: 100%|', counts something else)."""

    def digit(back: int) -> np.ndarray:
        i = at - back
        byte = text[np.maximum(i, 0)]
        return (i >= 0) & (byte >= _0) & (byte <= _9)

    d1 = digit(1)
    d2 = d1 & digit(2)
    first = at - 1 - d2 - (d2 & digit(3))  # where the percentage starts (a digit before it: never ': ')
    named = (first >= 2) & (text[np.maximum(first - 2, 0)] == _COLON) & (text[np.maximum(first - 1, 0)] == _SPACE)
    return d1 & ~named


class Steps:
    """Where the step of each printed log comes from, carried from one piece of the file to the next."""

    def __init__(self) -> None:
        self.total: int | None = None  # the banner's total optimization steps
        self.bar_total: int | None = None  # the total of the bar a training log was first printed after
        self.bar: tuple[int, int] | None = None  # the last unnamed bar (n, m) since the previous training log
        self.every: int | None = None  # logging_steps, when printed
        self.step = 0
        self.interval: int | None = None
        self.from_bars = self.counted = 0

    def training_total(self) -> int | None:
        return self.total or self.bar_total

    def next(self) -> int:
        """The step of a training log printed now."""
        bar, self.bar = self.bar, None
        if bar is not None and self.training_total() is None:  # without the banner: the bar a log follows
            self.bar_total = bar[1]
        if bar is not None and bar[1] == self.training_total() and (bar[0] > self.step or 0 < bar[0] < self.step):
            step = bar[0]  # (a count below the last step: the run resumed from a checkpoint, as the History reads it)
            self.from_bars += 1
        else:
            step = self.step + (self.every or self.interval or 1)
            self.counted += 1
        if self.step and step > self.step:
            self.interval = step - self.step
        self.step = step
        return step

    def now(self) -> int:
        """The step of an eval or summary printed now: a fresher training bar's, else the last log's."""
        bar = self.bar
        if bar is not None and bar[1] == self.training_total() and bar[0] > self.step:
            return bar[0]
        return self.step

    def at(self, bars: Bars, starts: np.ndarray, training: np.ndarray) -> list[int]:
        """The step of each dict of a piece (printed at `starts`; `training`: a training log's), as the bars
        stood when it was printed."""
        last = np.searchsorted(bars.ends, starts, side="right") - 1  # the last bar drawn before each dict
        at = self._in_bulk(bars, last, training)
        if at is None:
            at = self.one_by_one(bars, last, training)
        elif len(last) and last[-1] < len(bars.n) - 1:
            self.bar = (int(bars.n[-1]), int(bars.total[-1]))  # for the first dict of the next piece
        return at

    def one_by_one(self, bars: Bars, last: np.ndarray, training: np.ndarray) -> list[int]:
        counts, totals = bars.n.tolist(), bars.total.tolist()
        used = -1  # the last bar a dict came after
        at = []
        for j, trained in zip(last.tolist(), training.tolist()):
            if j > used:  # a bar drawn since the previous dict
                self.bar, used = (counts[j], totals[j]), j
            at.append(self.next() if trained else self.now())
        if used < len(counts) - 1:
            self.bar = (counts[-1], totals[-1])  # for the first dict of the next piece
        return at

    def _in_bulk(self, bars: Bars, last: np.ndarray, training: np.ndarray) -> list[int] | None:
        """The steps `one_by_one` gives, when every training log of the piece follows a bar of its own
        whose count goes on from the one before (a Trainer's console, but for its first bars); else None."""
        total = self.training_total()
        trained = np.flatnonzero(training)
        if total is None or not len(trained):
            return None
        own = last[trained]  # each training log's bar
        if own[0] < 0 or (np.diff(own) <= 0).any() or (bars.total[own] != total).any():
            return None
        steps = bars.n[own]
        if steps[0] <= self.step or (np.diff(steps) <= 0).any():
            return None
        at = np.empty(len(last), np.int64)
        at[trained] = steps
        bar, step = self.bar, self.step
        for i in np.flatnonzero(~training).tolist():  # evals, summaries, foreign dicts: a few a piece
            before = int(np.searchsorted(trained, i)) - 1  # the training log printed last before it
            j = int(last[i])
            if before >= 0:
                bar = None if j == own[before] else (int(bars.n[j]), int(bars.total[j]))
                step = int(steps[before])
            elif j >= 0:
                bar = (int(bars.n[j]), int(bars.total[j]))
            at[i] = bar[0] if bar is not None and bar[1] == total and bar[0] > step else step
        self.bar = bar if not training[-1] else None
        if len(steps) > 1:
            self.interval = int(steps[-1] - steps[-2])
        elif self.step:
            self.interval = int(steps[0]) - self.step
        self.step = int(steps[-1])
        self.from_bars += len(steps)
        return at.tolist()

    def note(self) -> str | None:
        if not self.counted:
            return None
        if not self.from_bars:
            how = f"counted in logging_steps ({self.every})" if self.every else "the logs' order (1, 2, 3, ...)"
            return f"no progress bar gives the step of a printed log: steps are {how}"
        return f"{plural(self.counted, 'printed log')} had no progress bar before it: its step follows the previous"
