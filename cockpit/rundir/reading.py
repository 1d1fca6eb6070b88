"""Reading events.jsonl whole or backwards: tolerant of a torn last line (the writer may be mid-write),
corrupt lines (skipped and counted) and unknown kinds and fields. The tailer is in tail.py."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import chain, compress, repeat
from pathlib import Path
from typing import Any

from cockpit.logs.jsonline import fast_loads, nested_deeper
from cockpit.rundir.events import MAX_STEP, parse_line


@dataclass
class ReadStats:
    """What a tolerant reader skipped, to show the user rather than hide."""

    lines: int = 0
    bad: int = 0
    bad_lines: list[int] = field(default_factory=list)
    torn_tail: bool = False
    end_lineno: int = 0
    """Lines (blank ones too) a ranged read went through: where the next range's numbering starts."""
    notes: list[str] = field(default_factory=list)
    """What else a reader of another tool's log must say: foreign lines left out, bytes replaced."""

    def note_bad(self, lineno: int) -> None:
        self.bad += 1
        if len(self.bad_lines) < 20:
            self.bad_lines.append(lineno)


_STEP_TYPES = frozenset((int, type(None)))


def _steps_ok(events: list[dict[str, Any]]) -> bool:
    """Every event's `step` absent or an int in range, checked in a few C loops (no Python per event):
    the common case of a long log. False sends the lines down the exact per-line path."""
    steps = list(map(dict.get, events, repeat("step")))
    if not _STEP_TYPES.issuperset(map(type, steps)):
        return False
    present = list(filter(None, steps))  # ints only now: this drops None and 0, both in range
    return not present or (min(present) >= 0 and max(present) <= MAX_STEP)


_not_metrics = "metrics".__ne__


def parse_lines(lines: list[bytes], stats: ReadStats, lineno: int) -> list[dict[str, Any]]:
    """The events among complete lines (numbered from lineno + 1); the rest is counted in stats."""
    try:  # the common case, every line an event: one C loop for the lines and one for their kinds
        events = list(map(fast_loads, lines))
        kinds = list(map(dict.get, events, repeat("kind")))
    except (ValueError, TypeError):
        pass  # a blank, torn, NaN-holding, too deep or non-object line: the line-by-line path finds which
    else:
        if (
            all(map(str.__instancecheck__, kinds))
            and _steps_ok(events)
            and not any(map(nested_deeper, compress(events, map(_not_metrics, kinds))))
        ):
            stats.lines += len(events)
            return events
    out = []
    append = out.append
    for raw in lines:
        lineno += 1
        if not raw or raw.isspace():
            continue
        stats.lines += 1
        ev = parse_line(raw)
        if ev is None:
            stats.note_bad(lineno)
            continue
        append(ev)
    return out


def read_events(
    path: str | os.PathLike[str], stats: ReadStats | None = None, start: int = 0, end: int | None = None
) -> Iterator[dict[str, Any]]:
    """Stream every event of a file, or of the bytes [start, end) when both fall on line starts. A final
    line without newline is treated as torn (skipped). Line numbers in `stats` count from `start`."""
    return chain.from_iterable(read_blocks(path, stats, start, end))


def read_blocks(
    path: str | os.PathLike[str], stats: ReadStats | None = None, start: int = 0, end: int | None = None
) -> Iterator[list[dict[str, Any]]]:
    """`read_events`, one list per few MB of lines: a reader that folds them in bulk
    (`History.extend_blocks`) takes no Python step per event (two generators a line cost ~0.7 µs)."""
    stats = stats if stats is not None else ReadStats()
    for lines, lineno in line_blocks(path, stats, start, end):
        yield parse_lines(lines, stats, lineno)


def line_blocks(
    path: str | os.PathLike[str], stats: ReadStats, start: int = 0, end: int | None = None
) -> Iterator[tuple[list[bytes], int]]:
    """The complete lines of the bytes [start, end), a few MB at a time, each list with the number of
    the lines before it; `stats` learns where the range ends and whether its last line is torn."""
    lineno = 0
    rest = b""
    left = None if end is None else end - start
    with open(path, "rb") as f:
        f.seek(start)
        while left is None or left > 0:
            # big reads split in C: iterating a file line by line costs more
            block = f.read(4 << 20 if left is None else min(4 << 20, left))
            if not block:
                break
            if left is not None:
                left -= len(block)
            lines = (rest + block).split(b"\n")
            rest = lines.pop()
            yield lines, lineno
            lineno += len(lines)
    stats.end_lineno = lineno
    if rest.strip():
        stats.torn_tail = True


def last_event(path: str | os.PathLike[str], kind: str, block: int = 1 << 16) -> dict[str, Any] | None:
    """The last event of `kind`, read backwards from the end: cheap on a long log, whose state events
    are rare and whose last one is usually near the end."""
    needle = f'"kind":"{kind}"'.encode()
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        return None
    with f:
        end = f.seek(0, os.SEEK_END)
        carry = b""
        long_line: list[bytes] = []  # blocks of one line longer than a block, last first: joined once
        while end > 0:
            start = max(0, end - block)
            f.seek(start)
            data = f.read(end - start)
            if start > 0 and b"\n" not in data:
                # A 50 MB sample is one line: re-joining it to each block read was quadratic (minutes).
                long_line.append(data)
                end = start
                continue
            data += b"".join(reversed(long_line)) + carry
            long_line.clear()
            lines = data.split(b"\n")
            carry = lines.pop(0) if start > 0 else b""
            for raw in reversed(lines):
                if needle in raw:
                    ev = parse_line(raw)
                    if ev is not None and ev.get("kind") == kind:
                        return ev
            end = start
    return None


def tail_text(path: Path, n: int = 20) -> list[str]:
    """The last n lines of a text file (for showing trainer.log after a crash)."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 64 * 1024))
            data = f.read().decode("utf-8", "replace")
    except OSError:
        return []
    return data.splitlines()[-n:]
