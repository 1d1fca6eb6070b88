"""The run directory: the one contract between the trainer and any number of cockpits.

    runs/<run-id>/
      config.yaml     the resolved config the run started with
      events.jsonl    append-only, written by the trainer (and merge); one JSON object a line
      control.jsonl   append-only commands from cockpits; the trainer reads new lines at each step
      trainer.log     the trainer's stdout/stderr
      trainer.lock    flock-ed by the one trainer allowed to write here (its pid inside)
      checkpoints/    checkpoint-N/ as the HF Trainer writes them
      adapter/        the final adapter
      merged/         the merged model, when asked for

Every event carries `v` (schema version), `t` (unix time) and `kind`. Readers tolerate a torn last
line (the writer may be mid-write), corrupt lines (skipped and counted) and unknown kinds/fields.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import socket
import stat
import time
import uuid
from dataclasses import dataclass, field
from itertools import compress, repeat
from pathlib import Path
from typing import Any, Iterator

from cockpit.jsonline import fast_loads, loads_line, nested_deeper

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
    "mem_used", "mem_total", "step_time", "tokens_per_s", "update_ratio", "data_wait", "pad_share",
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
        """Make a new private (0700) run directory, or take an empty one this user owns as it is (never
        chmod-ed: it is not ours to change). The control file is 0600: whoever writes it steers the run.
        Refuses (RunDirError) a symlink, another user's or a world-writable directory, or one that holds
        anything, so a run never writes through files someone else prepared."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.mkdir(self.path, 0o700)
        except FileExistsError:
            check_empty_own_dir(self.path)
        for p, mode in ((self.control, 0o600), (self.events, 0o644)):
            os.close(open_run_file(p, os.O_CREAT | os.O_EXCL | os.O_WRONLY, mode))
        return self

    def symlinked_files(self) -> list[Path]:
        """Run files that are symbolic links (dangling or not): nothing may be read or written through them."""
        out = []
        for p in (self.config, self.events, self.control, self.log, self.lock):
            try:
                if stat.S_ISLNK(os.lstat(p).st_mode):
                    out.append(p)
            except OSError:
                pass
        return out

    def symlink_problem(self) -> str | None:
        """Why this run directory must not be used (a run file is a symbolic link), or None."""
        links = self.symlinked_files()
        if not links:
            return None
        names = ", ".join(p.name for p in links)
        return (f"{self.path}: {names} {'is a symbolic link' if len(links) == 1 else 'are symbolic links'} "
                f"(-> {os.readlink(links[0])}); run files must be plain files, refusing to follow "
                f"{'it' if len(links) == 1 else 'them'}")

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


class RunDirError(OSError):
    """A run directory or run file that must not be used (symlink, another user's, not empty)."""

    def __str__(self) -> str:  # the message alone: "[Errno 40]" says nothing to a user
        return self.strerror or super().__str__()


_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def open_run_file(path: str | os.PathLike[str], flags: int, mode: int = 0o600) -> int:
    """`os.open` that never follows a symbolic link as the last part of the path: a link planted in a run
    directory (dangling or not) must not make the trainer create or write a file elsewhere."""
    try:
        return os.open(path, flags | _NOFOLLOW | os.O_CLOEXEC, mode)
    except OSError as e:
        if e.errno == errno.ELOOP:
            try:
                target = f" -> {os.readlink(path)}"
            except OSError:
                target = ""
            raise RunDirError(errno.ELOOP, f"{path} is a symbolic link{target}; run files must be plain files, "
                                           "refusing to follow it") from None
        raise


def check_empty_own_dir(path: Path) -> None:
    """An existing directory may become a run directory only when it is a real directory, this user's,
    not writable by every user, and empty."""
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode):
        raise RunDirError(errno.ELOOP, f"{path} is a symbolic link (-> {os.readlink(path)}); give a new directory "
                                       "or the real path of an empty one you own")
    if not stat.S_ISDIR(st.st_mode):
        raise RunDirError(errno.ENOTDIR, f"{path} exists and is not a directory")
    if hasattr(os, "getuid") and st.st_uid != os.getuid():
        raise RunDirError(errno.EPERM, f"{path} belongs to another user (uid {st.st_uid}); a run directory must be "
                                       "new or an empty directory you own")
    if st.st_mode & stat.S_IWOTH:
        raise RunDirError(errno.EPERM, f"{path} is writable by every user (mode {stat.S_IMODE(st.st_mode):o}); "
                                       "give a new directory or chmod 700 it first")
    with os.scandir(path) as it:
        names = sorted(e.name for e in it)
    if names:
        shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        raise RunDirError(errno.ENOTEMPTY, f"{path} is not empty (holds {shown}); --run-dir takes a new or "
                                           "empty directory")


def control_file_problem(path: Path) -> str | None:
    """Why the trainer must not trust this control file (a link, writable by group/others), or None."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(st.st_mode):
        return f"{path} is a symbolic link; run files must be plain files, refusing to follow it"
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


MAX_STEP = 2 ** 53
"""The largest step a reader takes: past it a step is no longer exact as a double, and it would
overflow the History's int64 column (a `step` of 2**70 in a hand-edited line)."""

_STEP_TYPES = frozenset((int, type(None)))


def step_ok(step: Any) -> bool:
    """Whether an event's `step` is absent or a number a reader can hold: 0 <= step <= MAX_STEP (a float
    counts, as HF logs may write 12.0; readers take its int())."""
    if step is None:
        return True
    if type(step) is int:
        return 0 <= step <= MAX_STEP
    return type(step) is float and 0 <= step <= MAX_STEP  # NaN fails both comparisons


def as_event(obj: Any) -> dict[str, Any] | None:
    """obj when it is an event a reader can fold: an object with a string `kind`, a sane `step`, and,
    unless it is `metrics` (whose known fields are read as numbers, the rest ignored), no nesting deeper
    than MAX_DEPTH (a reader keeps such an event, and shows or pickles it)."""
    if type(obj) is not dict:
        return None
    kind = obj.get("kind")
    if type(kind) is not str or not step_ok(obj.get("step")):
        return None
    if kind != "metrics" and nested_deeper(obj):
        return None
    return obj


def parse_line(line: bytes | str) -> dict[str, Any] | None:
    """One event, or None for anything else (corrupt, nested too deep, wrong shape, binary, absurd step)."""
    try:
        obj = loads_line(line)
    except ValueError:
        return None
    return as_event(obj)


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
        if all(map(str.__instancecheck__, kinds)) and _steps_ok(events) and not any(
                map(nested_deeper, compress(events, map(_not_metrics, kinds)))):
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
    fd = open_run_file(rd.control, os.O_CREAT | os.O_WRONLY | os.O_APPEND, 0o600)
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
    """One command, or None for a line that is not one (corrupt, nested too deep, binary, no `cmd`)."""
    try:
        obj = loads_line(line)
    except ValueError:
        return None
    if not isinstance(obj, dict) or not isinstance(obj.get("cmd"), str) or nested_deeper(obj):
        return None  # too deep: acking it would repr the value (RecursionError from ~1,000 levels)
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
    """Another live process holds the run directory; `pid` and `role` say which and why."""

    def __init__(self, message: str, pid: int | None = None, role: str = ""):
        super().__init__(message)
        self.pid, self.role = pid, role


LOCK_FD_ENV = "COCKPIT_LOCK_FD"
"""The launcher takes the lock before it starts the trainer and hands the locked file to it under this
variable: two launchers racing for one run can then never both start a trainer."""

_held: dict[Path, int] = {}  # lock path -> the locked descriptor this process holds


def _lock_fields(fd: int) -> tuple[int | None, str]:
    """(pid, role) written in a lock file: `PID HOST [ROLE]`."""
    try:
        parts = os.pread(fd, 200, 0).decode("utf-8", "replace").split()
        return int(parts[0]), (parts[2] if len(parts) > 2 else "")
    except (OSError, ValueError, IndexError):
        return None, ""


def _same_file(fd: int, path: Path) -> bool:
    try:
        a, b = os.fstat(fd), os.lstat(path)
    except OSError:
        return False
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def _adopt_inherited_lock(rd: RunDir) -> int | None:
    """The locked descriptor our launcher handed down, when it is this run's lock file."""
    raw = os.environ.pop(LOCK_FD_ENV, None)
    if not raw:
        return None
    try:
        fd = int(raw)
        if not _same_file(fd, rd.lock):
            return None
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # already ours (the same open file): a no-op check
        os.set_inheritable(fd, False)  # a merge or rank process must not keep the run locked
    except (ValueError, OSError):
        return None
    return fd


def acquire_lock(rd: RunDir, pid: int | None = None, role: str = "") -> str | None:
    """Take the run's writer lock: an flock on `trainer.lock`, held as long as this process lives (the
    kernel drops it when the process dies, so a stale lock is one nobody holds, never a guess from a
    pid). Raises LockHeld when another process holds it; returns a note when it took over a lock file a
    dead process left, else None. The file says who holds it (`PID HOST [ROLE]`) for readers."""
    pid = pid or os.getpid()
    note = None
    fd = _adopt_inherited_lock(rd)
    for _ in range(5):
        if fd is not None:
            break
        fd = open_run_file(rd.lock, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            other, other_role = _lock_fields(fd)
            os.close(fd)
            what = "being resumed" if other_role == "resuming" else "in use"
            raise LockHeld(f"run directory {rd.path} is {what} by {'trainer ' if not other_role else ''}pid {other} "
                           f"(lock {rd.lock})", other, other_role) from None
        if not _same_file(fd, rd.lock):  # its holder released it (unlinked) while we waited: take the new one
            os.close(fd)
            fd = None
            continue
        previous, _ = _lock_fields(fd)
        if previous is not None and previous != pid:
            why = "no such process" if not pid_alive(previous) else "it no longer holds the lock"
            note = f"took over a stale lock from pid {previous} ({why})"
    if fd is None:
        raise LockHeld(f"could not take the lock {rd.lock}")
    _held[rd.lock] = fd
    _write_lock(fd, pid, role)
    return note


def _write_lock(fd: int, pid: int, role: str) -> None:
    text = f"{pid} {socket.gethostname()}{' ' + role if role else ''}\n".encode()
    os.pwrite(fd, text.ljust(80), 0)  # one write, padded over the old text: a reader never sees it empty
    os.ftruncate(fd, len(text))


def relabel_lock(rd: RunDir, role: str = "") -> None:
    """Say in the lock we hold what this process is doing now (a resumed trainer that began training)."""
    fd = _held.get(rd.lock)
    if fd is not None:
        _write_lock(fd, os.getpid(), role)


def held_lock_fd(rd: RunDir) -> int | None:
    """The locked descriptor of this run's lock that this process holds, if any."""
    return _held.get(rd.lock)


def hand_over_lock(rd: RunDir, pid: int, role: str = "") -> None:
    """Close our descriptor of the lock without releasing it: the trainer we started (`pid`) holds it
    now. The file names it at once, so that a trainer that dies before it says so itself is seen dead."""
    fd = _held.pop(rd.lock, None)
    if fd is not None:
        if _lock_fields(fd)[0] != pid:  # (the trainer may have written itself already)
            _write_lock(fd, pid, role)
        os.close(fd)


def read_lock_pid(rd: RunDir) -> int | None:
    try:
        fd = open_run_file(rd.lock, os.O_RDONLY)
    except OSError:
        return None
    try:
        return _lock_fields(fd)[0]
    finally:
        os.close(fd)


def release_lock(rd: RunDir, pid: int | None = None) -> None:
    fd = _held.pop(rd.lock, None)
    if fd is not None:
        # Unlink while still holding it: a process that opened the old file and waits retries on the new.
        if _same_file(fd, rd.lock):
            try:
                rd.lock.unlink()
            except FileNotFoundError:
                pass
        os.close(fd)
        return
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
