"""Many `str(timedelta)` texts ('0:02:12', '3 days, 21:03:44') in seconds at once: a LLaMA-Factory log has
one a line, and `foreign.seconds` on each of a million took 5 s; read column-wise in numpy, ~0.2 s."""

from __future__ import annotations

from typing import Any

import numpy as np

from cockpit.logs.foreign import seconds

_TEXT_OR_NONE = frozenset((str, type(None)))


def durations(texts: list[Any]) -> np.ndarray:
    """`foreign.seconds` of each text as float64, NaN where it gives None. Texts in the shapes str(timedelta)
    prints ('H:MM:SS', 'HH:MM:SS', either after 'N day, ' or 'N days, ') are read by position from their
    end, in bulk; any other (a fraction of a second, spaces around, a non-ASCII digit, None) goes through
    `seconds` itself, so the two agree on every input."""
    n = len(texts)
    out = np.full(n, np.nan)
    if not n:
        return out
    raw = None
    if _TEXT_OR_NONE.issuperset(map(type, texts)) and "\0" not in "".join(filter(None, texts)):
        try:  # NUL-padded ASCII, one row a text (None becomes b'None', which is no clock: one by one)
            raw = np.array(texts, dtype=np.bytes_)
        except UnicodeEncodeError:
            pass
    if raw is None or raw.dtype.itemsize < 7:
        return _one_by_one(texts, out, range(n))
    width = raw.dtype.itemsize
    u = raw.view(np.uint8).reshape(n, width)
    length = np.count_nonzero(u, axis=1)
    ok = np.zeros(n, bool)
    # Texts of one length have their clock's bytes in the same columns: read a column at a time.
    for size in np.unique(length).tolist():
        if size >= 7:
            rows = np.flatnonzero(length == size)
            fine, value = _clocks(u[rows, :size])
            ok[rows[fine]] = True
            out[rows[fine]] = value[fine]
    slow = np.flatnonzero(~ok)
    if len(slow):
        _one_by_one(texts, out, slow.tolist())
    return out


_WORDS = tuple(np.frombuffer(w, np.uint8) for w in (b" day, ", b" days, "))
_MAX_DAY_DIGITS = 9
"""N days in seconds stays an exact int64 and float64 up to here; a longer N goes through `seconds`."""


def _clocks(text: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(read, seconds) of texts of one length, a row of bytes each: read where the row is 'H:MM:SS' or
    'HH:MM:SS', alone or after 'N day, ' / 'N days, '. Column by column: a text's bytes as a matrix of
    ints cost 0.3 s a million texts, its few columns 0.05 s."""
    size = len(text[0])
    ok = np.ones(len(text), bool)

    def digit(j: int) -> np.ndarray:
        """Column j's digit values; `ok` (whichever rows it is at the time) keeps only rows with a digit there."""
        nonlocal ok
        d = text[:, j].astype(np.int64) - 48
        ok &= (d >= 0) & (d <= 9)
        return d

    value = digit(-1) + 10 * digit(-2) + 60 * (digit(-4) + 10 * digit(-5)) + 3600 * digit(-7)
    ok &= (text[:, -3] == 58) & (text[:, -6] == 58)  # the colons
    if size >= 8:
        tens = text[:, -8].astype(np.int64) - 48
        two = (tens >= 0) & (tens <= 9)  # two digits of hours
        value += np.where(two, 36000 * tens, 0)
    else:
        two = np.zeros(len(text), bool)
    read = np.zeros(len(text), bool)
    clock_ok = ok
    for hours_two, clock in ((False, 7), (True, 8)):
        head = size - clock  # what comes before the clock: nothing, or 'N day(s), '
        these = clock_ok & (two == hours_two)
        if head == 0:
            read |= these
            continue
        for word in _WORDS:
            k = head - len(word)  # N's digits
            if not 1 <= k <= _MAX_DAY_DIGITS:
                continue
            ok = these & (text[:, k:head] == word).all(axis=1)
            days = np.zeros(len(text), np.int64)
            for j in range(k):
                days = days * 10 + digit(j)
            value = np.where(ok, value + 86400 * days, value)
            read |= ok
    return read, value


def _one_by_one(texts: list[Any], out: np.ndarray, where) -> np.ndarray:
    for i in where:
        s = seconds(texts[i])
        if s is not None:
            out[i] = s
    return out
