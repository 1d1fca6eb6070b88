"""The run directory: the one contract between the trainer and any number of cockpits.

    runs/<run-id>/
      config.yaml     the resolved config the run started with
      events.jsonl    append-only, written by the trainer (and merge); one JSON object a line
      control.jsonl   append-only commands from cockpits; the trainer reads new lines at each step
      trainer.log     the trainer's stdout/stderr
      trainer.lock    pid of the one trainer allowed to write here
      checkpoints/    checkpoint-N/ as the HF Trainer writes them
      adapter/        the final adapter
      merged/         the merged model, when asked for

Every event carries `v` (schema version), `t` (unix time) and `kind`. Readers tolerate a torn last
line (the writer may be mid-write), corrupt lines (skipped and counted) and unknown kinds/fields.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import time
import uuid
from dataclasses import dataclass, field
from itertools import repeat
from pathlib import Path
from typing import Any, Iterator

SCHEMA_VERSION = 1

EVENT_KINDS = (
    "run_started", "metrics", "eval", "state", "ack", "checkpoint", "sample", "merge", "guard", "error",
    "summary", "notify",
)
STATES = ("starting", "running", "paused", "stopping", "finished", "stopped", "crashed", "resumed")
FINAL_STATES = ("finished", "stopped", "crashed")
COMMANDS = ("pause", "resume", "set_lr", "scale_lr", "save", "stop", "sample", "merge")

METRIC_KEYS = (
    "loss", "grad_norm", "entropy", "learning_rate", "mean_token_accuracy", "num_tokens",
    "mem_used", "mem_total", "step_time", "tokens_per_s",
)
"""Numeric fields of a `metrics` event (besides step/epoch); `mem_kind` says what memory is."""


# --------------------------------------------------------------------------------------------------
# Paths


class RunDir:
    """Paths inside one run directory. Creating one touches nothing on disk."""

    __slots__ = ("path", "spawned", "resume_offset")

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)
        self.spawned = None  # the trainer process this cockpit started, if any
        self.resume_offset = 0  # where a resumed run's new events begin

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RunDir) and other.path == self.path

    def __hash__(self) -> int:
        return hash(self.path)

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def config(self) -> Path:
        return self.path / "config.yaml"

    @property
    def events(self) -> Path:
        return self.path / "events.jsonl"

    @property
    def control(self) -> Path:
        return self.path / "control.jsonl"

    @property
    def log(self) -> Path:
        return self.path / "trainer.log"

    @property
    def lock(self) -> Path:
        return self.path / "trainer.lock"

    @property
    def checkpoints(self) -> Path:
        return self.path / "checkpoints"

    @property
    def adapter(self) -> Path:
        return self.path / "adapter"

    @property
    def merged(self) -> Path:
        return self.path / "merged"

    def is_run(self) -> bool:
        return self.events.exists() or self.config.exists()

    def create(self) -> "RunDir":
        """Make the folder private (0700) and the control file 0600: whoever writes it steers the run."""
        self.path.mkdir(parents=True, exist_ok=True)
        os.chmod(self.path, 0o700)
        for p, mode in ((self.control, 0o600), (self.events, 0o644)):
            if not p.exists():
                fd = os.open(p, os.O_CREAT | os.O_WRONLY | os.O_APPEND, mode)
                os.close(fd)
        return self

    def latest_checkpoint(self) -> Path | None:
        """The newest complete `checkpoint-N` folder (temporary folders are ignored)."""
        best: tuple[int, Path] | None = None
        if self.checkpoints.is_dir():
            for p in self.checkpoints.iterdir():
                if p.is_dir() and p.name.startswith("checkpoint-"):
                    try:
                        n = int(p.name.split("-", 1)[1])
                    except ValueError:
                        continue
                    if best is None or n > best[0]:
                        best = (n, p)
        return best[1] if best else None


def control_file_problem(path: Path) -> str | None:
    """Why the trainer must not trust this control file (writable by group/others), or None."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return f"{path} is writable by other users (mode {stat.S_IMODE(st.st_mode):o}); chmod 600 it"
    if hasattr(os, "getuid") and st.st_uid != os.getuid():
        return f"{path} belongs to another user (uid {st.st_uid})"
    return None


# --------------------------------------------------------------------------------------------------
# Events


def make_event(kind: str, **fields: Any) -> dict[str, Any]:
    return {"v": SCHEMA_VERSION, "t": time.time(), "kind": kind, **fields}


from cockpit.event_writer import EventWriter  # noqa: E402,F401 - the writer has its own file; named here too


def dumps(obj: dict[str, Any]) -> str:
    # NaN/inf are written as the bare literals Python's json reads back (and HF logs use): a NaN loss
    # must survive the round trip, not become null.
    return json.dumps(obj, separators=(",", ":"), default=str)


@dataclass
class ReadStats:
    """What a tolerant reader skipped, to show the user rather than hide."""

    lines: int = 0
    bad: int = 0
    bad_lines: list[int] = field(default_factory=list)
    torn_tail: bool = False
    end_lineno: int = 0
    """Lines (blank ones too) a ranged read went through: where the next range's numbering starts."""

    def note_bad(self, lineno: int) -> None:
        self.bad += 1
        if len(self.bad_lines) < 20:
            self.bad_lines.append(lineno)


try:  # 3-5x faster on long logs; it rejects the NaN/Infinity literals, which fall back to json
    from orjson import loads as _fast_loads
except ImportError:  # pragma: no cover - orjson is a dependency, but reading must never need it
    _fast_loads = json.loads


def parse_line(line: bytes | str) -> dict[str, Any] | None:
    """One JSON object, or None for anything else (corrupt, wrong shape, binary)."""
    try:
        obj = _fast_loads(line)
    except (ValueError, UnicodeDecodeError):
        try:
            obj = json.loads(line)
        except (ValueError, UnicodeDecodeError):
            return None
    return obj if isinstance(obj, dict) and isinstance(obj.get("kind"), str) else None


def parse_lines(lines: list[bytes], stats: ReadStats, lineno: int) -> list[dict[str, Any]]:
    """The events among complete lines (numbered from lineno + 1); the rest is counted in stats."""
    try:  # the common case, every line an event: one C loop for the lines and one for their kinds
        events = list(map(_fast_loads, lines))
        kinds = list(map(dict.get, events, repeat("kind")))
    except (ValueError, TypeError, UnicodeDecodeError):
        pass  # a blank, torn, NaN-holding or non-object line: the line-by-line path finds which
    else:
        if all(map(str.__instancecheck__, kinds)):
            stats.lines += len(events)
            return events
    out = []
    append, loads = out.append, _fast_loads
    for raw in lines:
        lineno += 1
        if not raw or raw.isspace():
            continue
        stats.lines += 1
        try:
            ev = loads(raw)
        except (ValueError, UnicodeDecodeError):
            ev = parse_line(raw)
        if type(ev) is not dict or type(ev.get("kind")) is not str:
            stats.note_bad(lineno)
            continue
        append(ev)
    return out


def read_events(path: str | os.PathLike[str], stats: ReadStats | None = None, start: int = 0,
                end: int | None = None) -> Iterator[dict[str, Any]]:
    """Stream every event of a file, or of the bytes [start, end) when both fall on line starts. A final
    line without newline is treated as torn (skipped). Line numbers in `stats` count from `start`."""
    stats = stats if stats is not None else ReadStats()
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
            yield from parse_lines(lines, stats, lineno)
            lineno += len(lines)
    stats.end_lineno = lineno
    if rest.strip():
        stats.torn_tail = True


class Tail:
    """Incremental reader of an append-only JSONL file: each `poll()` returns only the new complete
    lines since the last call (never re-reads the file). Holds back a torn last line until it is whole."""

    def __init__(self, path: str | os.PathLike[str], offset: int = 0):
        self.path = Path(path)
        self.offset = offset
        self._partial = b""
        self.stats = ReadStats()
        self._lineno = 0
        self._inode: int | None = None

    def resume_at(self, offset: int, lineno: int) -> None:
        """Go on from a line start that another reader reached (the attach preload)."""
        self.offset, self._lineno, self._partial = offset, lineno, b""

    def poll(self, max_bytes: int = 8 << 20) -> list[dict[str, Any]]:
        try:
            with open(self.path, "rb") as f:
                st = os.fstat(f.fileno())
                if self._inode is not None and (st.st_ino != self._inode or st.st_size < self.offset):
                    # Replaced or truncated: start over rather than read garbage from a stale offset.
                    self.offset, self._partial = 0, b""
                self._inode = st.st_ino
                if st.st_size <= self.offset:
                    return []
                f.seek(self.offset)
                chunk = f.read(max_bytes)
        except FileNotFoundError:
            return []
        self.offset += len(chunk)
        lines = (self._partial + chunk).split(b"\n")
        self._partial = lines.pop()
        out = parse_lines(lines, self.stats, self._lineno)
        self._lineno += len(lines)
        return out


# --------------------------------------------------------------------------------------------------
# Commands


COMMAND_TTL = 300.0
"""Seconds a command stays valid when its sender names no expiry: a trainer that reads it later (it was
stopped, hung, or still loading a model) refuses it as expired instead of acting on a stale wish."""


def new_command(cmd: str, value: Any = None, source: str = "cli", ttl: float | None = None) -> dict[str, Any]:
    now = time.time()
    c: dict[str, Any] = {"v": SCHEMA_VERSION, "t": now, "id": uuid.uuid4().hex[:12], "cmd": cmd,
                         "source": source, "expires": now + (COMMAND_TTL if ttl is None else ttl)}
    if value is not None:
        c["value"] = value
    return c


def append_command(rd: RunDir, cmd: dict[str, Any]) -> dict[str, Any]:
    """Append one command line with a single O_APPEND write (atomic for lines this short)."""
    line = (dumps(cmd) + "\n").encode()
    fd = os.open(rd.control, os.O_CREAT | os.O_WRONLY | os.O_APPEND, 0o600)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)
    return cmd


MERGE_DTYPES = ("fp32", "bf16", "fp16")


def merge_value_problem(value: Any) -> str | None:
    """Why a `merge` command's value cannot be handed to the merge process, or None. The value is empty,
    a dtype (`bf16`), or {"dtype": ..., "out": FOLDER}."""
    if value is None:
        return None
    if isinstance(value, str):
        value = {"dtype": value}
    if not isinstance(value, dict):
        return f"merge value must be a dtype ({', '.join(MERGE_DTYPES)}) or {{dtype, out}}, got {value!r}"
    unknown = set(value) - {"dtype", "out"}
    if unknown:
        return f"merge value has unknown field(s) {', '.join(sorted(map(str, unknown)))} (known: dtype, out)"
    if value.get("dtype") is not None and value["dtype"] not in MERGE_DTYPES:
        return f"merge dtype {value['dtype']!r} is not one of {', '.join(MERGE_DTYPES)}"
    out = value.get("out")
    if out is not None and (not isinstance(out, str) or not out.strip() or "\0" in out):
        return f"merge out {out!r} is not a folder path"
    return None


def parse_command(line: bytes | str) -> dict[str, Any] | None:
    try:
        obj = json.loads(line)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(obj, dict) or not isinstance(obj.get("cmd"), str):
        return None
    return obj


# --------------------------------------------------------------------------------------------------
# The one-writer lock and liveness


def pid_alive(pid: int | None) -> bool:
    if not pid or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (exited, not yet reaped by its parent) is dead for our purposes.
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().split(b") ", 1)[1][:1] != b"Z"
    except (OSError, IndexError):
        return True


def process_state(pid: int | None) -> str:
    """"running", "suspended" (stopped by SIGSTOP / SIGTSTP, or held by a debugger: alive, but it will not
    make a step until continued) or "gone". A suspended trainer is not a running one, whatever kill(0) says."""
    if not pid_alive(pid):
        return "gone"
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            code = f.read().rsplit(b") ", 1)[1][:1]
    except (OSError, IndexError):
        return "running"  # no /proc (macOS) or not ours to read: alive is all we know
    return "suspended" if code in (b"T", b"t") else "running"


STALL_MIN_S = 60.0
"""No event for this long from a running trainer is worth saying (or 10 steps' time, if longer)."""


def stall_after(step_time: float | None) -> float:
    """Seconds without an event after which a running trainer looks hung."""
    if isinstance(step_time, (int, float)) and step_time == step_time and step_time > 0:
        return max(STALL_MIN_S, 10 * step_time)
    return STALL_MIN_S


class LockHeld(Exception):
    """Another live process holds the run directory."""


def acquire_lock(rd: RunDir, pid: int | None = None) -> str | None:
    """Take the run's writer lock. Raises LockHeld when a live process has it; returns a note when a
    stale lock (dead pid) was taken over, else None."""
    pid = pid or os.getpid()
    note = None
    for _ in range(3):
        try:
            fd = os.open(rd.lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except FileExistsError:
            other = read_lock_pid(rd)
            if other is not None and other != pid and pid_alive(other):
                raise LockHeld(f"run directory {rd.path} is in use by trainer pid {other} (lock {rd.lock})") from None
            note = f"took over a stale lock from pid {other} (no such process)"
            try:
                rd.lock.unlink()
            except FileNotFoundError:
                pass
            continue
        with os.fdopen(fd, "w") as f:
            f.write(f"{pid} {socket.gethostname()}\n")
        return note
    raise LockHeld(f"could not take the lock {rd.lock}")


def read_lock_pid(rd: RunDir) -> int | None:
    try:
        return int(rd.lock.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def release_lock(rd: RunDir, pid: int | None = None) -> None:
    if read_lock_pid(rd) == (pid or os.getpid()):
        try:
            rd.lock.unlink()
        except FileNotFoundError:
            pass


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
        while end > 0:
            start = max(0, end - block)
            f.seek(start)
            data = f.read(end - start) + carry
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
