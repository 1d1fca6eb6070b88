"""A long log's History kept after its first read, so the next `diagnose`, `replay`, `report` or `compare`
of the same file does not parse it again.

Parsing is the cost of a long log, whatever its format: a million logged steps take 4-14 s of CPU here
(JSON, a console's regex, TensorBoard's records), loading them back from here ~0.3 s (bench/README.md,
"Long logs, opened again"). Only files of MIN_BYTES or more are kept; an entry answers only for the same
file unchanged (its device and inode, size, modification time, and a hash of its first and last 64 KB)
read by the same reading code (a hash of the `cockpit.logs` and `cockpit.history` sources), so an edited,
grown or replaced log, or an upgraded cockpit, reads the file again. A log still being written (`cockpit
attach`) is never kept.

Where: $COCKPIT_CACHE_DIR, else $XDG_CACHE_HOME/lora-cockpit/histories, else ~/.cache/lora-cockpit/histories;
`COCKPIT_NO_CACHE=1` turns it off. The entries are pickles, so the folder must be the user's own and
closed to everyone else (0700): one that is not is neither read nor written. The folder is kept under
MAX_BYTES, the oldest entries going first. Writing happens in a detached process after the answer is
shown, so a first read costs no more than it did.
"""

from __future__ import annotations

import copy
import hashlib
import math
import os
import pickle
import stat
import sys
import threading
import time
from array import array
from itertools import islice
from pathlib import Path
from typing import Any

MIN_BYTES = 16 << 20
"""Logs below this (~50,000 of our logged steps, read in well under a second) are not kept."""

MAX_BYTES = 2 << 30
"""The most the folder holds; past it the least recently used entries are removed."""

EDGE_BYTES = 64 << 10
"""How much of the file's start and end goes into its fingerprint."""

FORMAT = 1
"""Bumped when what an entry holds changes shape."""


def folder() -> Path | None:
    if os.environ.get("COCKPIT_NO_CACHE"):
        return None
    base = os.environ.get("COCKPIT_CACHE_DIR")
    if base:
        return Path(base)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "lora-cockpit" / "histories"


MAX_FILES = 4096
"""A folder log (TensorBoard, W&B) of more files than this is not kept: fingerprinting it would cost."""

EDGE_FILES = 64
"""Of a folder log's files, this many (the largest) have their first and last bytes hashed; the rest are
known by their stat alone."""


def key(path: str | os.PathLike[str]) -> str | None:
    """The entry name for the log at `path` as it is now, or None when it is not one to keep (small, too
    many files, unreadable, the cache off). A file is known by its stat and its first and last 64 KB, with
    its SQLite write-ahead log beside it (MLflow and trackio write there first); a folder (TensorBoard,
    W&B) by every file under it."""
    if folder() is None:
        return None
    p = Path(path)
    try:
        if p.is_dir():
            found = list(islice(p.rglob("*"), 4 * MAX_FILES))  # `cockpit replay ~` must not walk a disk
            files = sorted(f for f in found if f.is_file())
            if len(found) == 4 * MAX_FILES or len(files) > MAX_FILES:
                return None
        else:
            files = [p, *(w for w in (p.with_name(p.name + "-wal"),) if w.is_file())]
        stats = [(f, os.stat(f)) for f in files]
    except OSError:
        return None
    if not stats or not stat.S_ISREG(stats[0][1].st_mode) or sum(st.st_size for _, st in stats) < MIN_BYTES:
        return None
    h = hashlib.sha256(f"{FORMAT}\0{_code_hash()}\0".encode())
    edges = {f for f, _ in sorted(stats, key=lambda fs: -fs[1].st_size)[:EDGE_FILES]}
    for f, st in stats:
        name = f.relative_to(p) if f != p and p.is_dir() else f.name
        h.update(f"{name}\0{st.st_dev}\0{st.st_ino}\0{st.st_size}\0{st.st_mtime_ns}\0".encode())
        if f in edges:
            try:
                with open(f, "rb") as fh:
                    h.update(fh.read(EDGE_BYTES))
                    fh.seek(max(0, st.st_size - EDGE_BYTES))
                    h.update(fh.read(EDGE_BYTES))
            except OSError:
                return None
    return h.hexdigest()[:40]


def has(path: str | os.PathLike[str]) -> bool:
    """Whether an entry answers for the log file at `path` (cheap: no entry is read)."""
    k = key(path)
    d = _own_folder(create=False) if k is not None else None
    return d is not None and (d / f"{k}.pickle").is_file()


def load(path: str | os.PathLike[str]) -> tuple[Any, Any, str] | None:
    """(History, ReadStats, order) kept for the file as it is now, or None."""
    k = key(path)
    d = _own_folder(create=False)
    if k is None or d is None:
        return None
    entry = d / f"{k}.pickle"
    try:
        with open(entry, "rb") as f:
            if os.fstat(f.fileno()).st_uid != os.getuid():
                return None
            got = pickle.load(f)
        os.utime(entry)  # recently used: pruned last
    except FileNotFoundError:
        return None
    except Exception:  # noqa: BLE001 - a torn or foreign entry is a miss, never a failure of the command
        try:
            entry.unlink()
        except OSError:
            pass
        return None
    if type(got) is not tuple or len(got) != 4 or got[0] != k:
        return None
    return unpacked(got[1]), got[2], got[3]


def store(path: str | os.PathLike[str], history: Any, stats: Any, order: str) -> None:
    """Keep the History read from `path`, written by a detached process (the command does not wait)."""
    k = key(path)
    if k is None:
        return
    if not hasattr(os, "fork") or threading.active_count() > 1:
        # Forking a process with other threads can leave the child stuck on a lock one of them held
        # (the cockpit's workers): a thread writes instead, what is pickled here and now (a History
        # another thread goes on folding must not be pickled half-changed).
        try:
            data = pickle.dumps((k, packed(history), stats, order), protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # noqa: BLE001 - never a failure of the command
            return
        threading.Thread(target=_write, args=(k, data), name="cache-write").start()
        return
    try:
        pid = os.fork()
    except OSError:
        return
    if pid:
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass
        return
    # The first child forks the writer and ends at once, so nobody waits on the writer and it leaves
    # no zombie behind; it is in its own session, so closing the terminal does not cut a write short.
    code = 0
    try:
        os.setsid()
        if os.fork() == 0:
            try:
                _write(k, (k, packed(history), stats, order))
            finally:
                os._exit(0)
    except BaseException:  # noqa: BLE001 - a child must never run the parent's code on the way out
        code = 1
    os._exit(code)


def _write(k: str, entry: tuple | bytes) -> None:
    """Write the entry (the tuple, or its pickle) under a temporary name and move it in place whole."""
    d = _own_folder(create=True)
    if d is None:
        return
    tmp = d / f".{k}.{os.getpid()}.{threading.get_ident()}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            if isinstance(entry, bytes):
                f.write(entry)
            else:
                pickle.dump(entry, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, d / f"{k}.pickle")
    except Exception:  # noqa: BLE001 - a full disk or a gone folder: the log is simply read next time
        try:
            tmp.unlink()
        except OSError:
            pass
        return
    prune(d)


def packed(history: Any) -> Any:
    """The History with each column that holds no number (a method's key an SFT run never logs: 18 of
    30 columns of a million steps, 150 MB) kept as its length alone, to be pickled (here, and by
    `preload`'s child); `unpacked` makes the columns again. Its own object is left as it is."""
    import numpy as np

    empty = {}
    for name, col in history.series.items():
        view = np.frombuffer(col, dtype=np.float64) if len(col) else None
        if view is not None and not (view == view).any():
            empty[name] = len(col)
        del view
    if not empty:
        return history
    packed = copy.copy(history)
    packed.series = {name: (empty[name] if name in empty else col) for name, col in history.series.items()}
    return packed


def unpacked(history: Any) -> Any:
    series = getattr(history, "series", None)
    if type(series) is dict:
        for name, col in series.items():
            if type(col) is int:
                series[name] = array("d", [math.nan]) * col
    return history


def prune(d: Path, limit: int = MAX_BYTES) -> None:
    """Remove the least recently used entries until the folder holds at most `limit` bytes, and what a
    writer killed mid-write left (a temporary file over an hour old)."""
    for p in d.glob(".*.tmp"):
        try:
            if time.time() - p.stat().st_mtime > 3600:
                p.unlink()
        except OSError:
            pass
    entries = []
    for p in d.glob("*.pickle"):
        try:
            st = p.stat()
        except OSError:
            continue
        entries.append((st.st_mtime, st.st_size, p))
    total = sum(size for _, size, _ in entries)
    for _, size, p in sorted(entries):
        if total <= limit:
            break
        try:
            p.unlink()
        except OSError:
            continue
        total -= size


def _own_folder(create: bool) -> Path | None:
    """The cache folder when it is this user's and closed to others (created so), else None."""
    d = folder()
    if d is None:
        return None
    if create:
        try:
            d.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError:
            return None
    try:
        st = d.stat()
    except OSError:
        return None
    if st.st_uid != os.getuid() or st.st_mode & 0o077:
        return None
    return d


_code: str | None = None


READING_CODE = ("logs/*.py", "history/*.py", "rundir/*.py", "run_kind.py")
"""The sources a History's content depends on, relative to the package."""


def _code_hash() -> str:
    """A hash of the reading code's sources: an entry from other code is never read."""
    global _code
    if _code is None:
        h = hashlib.sha256(sys.version.encode())
        root = Path(__file__).resolve().parents[1]
        for p in sorted(p for pattern in READING_CODE for p in root.glob(pattern)):
            try:
                h.update(f"{p.relative_to(root)}\0".encode() + p.read_bytes())
            except OSError:
                pass
        _code = h.hexdigest()
    return _code
