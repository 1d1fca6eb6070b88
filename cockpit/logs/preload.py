"""Read a long log in a forked child while this process imports what it will show the log with.

`cockpit replay`, `report` and `diagnose` spend their first 0.2-0.6 s importing (numpy, Textual) and
about 0.5 s per 100,000 logged steps parsing JSON. The two do not depend on each other:
on Linux a child forked before the imports reads and folds the log and sends the History back through
a pipe, so the user waits for the longer of the two rather than their sum. For an `events.jsonl` or a
LLaMA-Factory `trainer_log.jsonl` (`LINE_FORMATS`: a JSON object a line, which a reader can start
mid-file) the child takes the first CHILD_SHARE of the file; this process, once its imports are done, parses the rest
itself, turns its metrics into columns (`history.prefold`), and appends them onto the child's History
in order (folding is incremental, so nothing needs merging): the two cores of a small box both read.
Small logs, platforms without fork, and any failure of the child read the log in-process, exactly as
before (`COCKPIT_NO_PRELOAD=1` forces that).
"""

from __future__ import annotations

import os
import pickle
import signal
import sys
from itertools import islice
from pathlib import Path
from typing import Any

from cockpit.logs import cache

MIN_BYTES = 4 << 20
"""Below this (~12,000 logged steps) reading takes less time than a fork round trip saves."""

CHILD_SHARE = 0.5
"""Share of an events file the child reads, for a command whose own imports are light (diagnose, report:
~0.2 s). Both processes parse and turn metrics into columns; the child also imports numpy. The fastest
share of those measured on 2 cores, 100,000 steps (bench/README.md, "Long logs")."""


TWO_READERS_BYTES = 48 << 20
"""From this size (~150,000 steps) a child asked for the whole log forks a second reader: below it one
reader is done before the replay's screen is (~0.8 s), and a third process would only slow the screen
on two cores."""


class Preload:
    """`Preload(path)` starts reading; `.result()` returns (History, LoadedLog) or raises LogError/OSError."""

    def __init__(self, path: str | Path, share: float = CHILD_SHARE, live: bool = False):
        """`share`: of an events file, what the child reads (1.0: all of it, as the replay cockpit asks,
        since it has its own screen to draw meanwhile). `live`: a run that may still be writing (`cockpit
        attach`): the child reads up to the last whole line there is now, and the cockpit's own reader
        tails the file from there (`result_live`)."""
        self.path = Path(path)
        self.pid: int | None = None
        self.fd: int | None = None
        self.lines = _line_log(self.path)  # (file, format) of a log two processes can read
        self.split: int | None = None  # the child reads bytes [0, split) of it; this process the rest
        self.live = live
        self.share = share
        self._said = False  # (in the child: whether it told the parent if the guess was right)
        off = os.environ.get("COCKPIT_NO_PRELOAD")  # for side-by-side benchmarks and debugging
        self.cached = not live and _cached(self.path)
        if self.cached:
            return  # read back from the cache (`result` -> LoadedLog.history): nothing to parse, no child
        if not off and sys.platform.startswith("linux") and _size(self.path) >= MIN_BYTES:
            if live:
                self.split = _last_line_end(self.lines[0]) if self.lines and self.lines[1] == "events" else None
                if self.split is None:
                    return
            else:
                self.split = _split_point(self.lines[0], share) if self.lines and share < 1 else None
            self._fork()

    def _fork(self) -> None:
        r, w = os.pipe()
        parent = os.getpid()
        try:
            pid = os.fork()
        except OSError:
            os.close(r)
            os.close(w)
            return
        if pid == 0:  # the child: read, fold, send, and leave without running the parent's exit handlers
            os.close(r)
            _own_group()
            _die_with(parent)
            try:
                history, log = self._child_read(w)  # columns with no number sent as their length: 1M steps,
                answer = (cache.packed(history), log)  # 248 -> 104 MB, ~1 s less of pickling and the pipe
                payload = pickle.dumps(("ok", answer), protocol=pickle.HIGHEST_PROTOCOL)
            except BaseException as e:  # noqa: BLE001 - whatever it is, the parent re-raises or retries
                try:
                    payload = pickle.dumps(("error", e))
                except Exception:
                    payload = b""
                if self._asks and not self._said:
                    payload = b"0" + payload  # (the parent reads that byte first)
            try:
                with os.fdopen(w, "wb") as f:
                    f.write(payload)
            finally:
                os._exit(0)
        os.close(w)
        _own_group(pid)
        self.pid, self.fd = pid, r

    def _child_read(self, pipe: int):
        """What the child sends back. The whole of one of our logs (the replay asks for it while it draws
        its screen, which leaves a core free) is read by two processes: this child forks one more for the
        first half and parses the second itself, as `diagnose` does with its own process. A 1,000,000-step
        log: about half the time of one reader (bench/README.md, "Long logs, again")."""
        if self.share >= 1 and self.lines is not None and not self.live and _size(self.path) >= TWO_READERS_BYTES:
            return Preload(self.path, share=CHILD_SHARE).result()  # (share < 1: it forks no further)

        def said(same: bool) -> None:
            os.write(pipe, b"1" if same else b"0")
            self._said = True

        return _read(self.path, self.split, self.lines, said if self._asks else None)

    @property
    def _asks(self) -> bool:
        """Whether the child first says if the log it found is the one guessed (`_line_log`), before this
        process reads its share of it: a guess that is not ours can be wrong (a LLaMA-Factory folder
        holding a trainer_state.json or TensorBoard files is read as those). Ours never is, and a live
        read (`wait`) must not see a byte before its answer."""
        return self.split is not None and self.lines is not None and self.lines[1] != "events" and not self.live

    @property
    def forked(self) -> bool:
        """A child is reading: `result()` will mostly wait on it (it can be called from a thread)."""
        return self.fd is not None

    @property
    def slow(self) -> bool:
        """`result()` will take a while (a child reads a long log, or a long log's History is loaded from
        the cache, ~0.4 s a million steps): worth calling from a thread while a screen is drawn."""
        return self.forked or self.cached

    def result(self) -> tuple[Any, Any]:
        if self.fd is None:
            return _read(self.path)
        if self._asks and os.read(self.fd, 1) != b"1":  # another log than guessed (or the child died)
            self.split = None
        tail, tail_stats = self._read_tail()
        answer = self._receive()
        if answer is None:  # the child died (killed, out of memory): read it here instead
            return _read(self.path)
        kind, value = answer
        if kind == "error":
            raise value
        history, log = value
        if self.split is None or (log.source, log.kind) != self.lines:
            return value  # (the child found another log there than guessed, and read it whole)
        history.extend_prefolded(tail)
        _add_stats(log.stats, tail_stats)
        history = log.settle(history)
        log.keep(history)
        return history, log

    def wait(self, timeout: float) -> bool:
        """Whether the child's answer can be read now (waits up to `timeout` s); True when none forked."""
        if self.fd is None:
            return True
        import select

        return bool(select.select([self.fd], [], [], timeout)[0])

    def cancel(self) -> None:
        """Stop a child nobody will read (the cockpit closed first): it would block on the full pipe."""
        if self.fd is None:
            return
        try:
            try:  # the child and the reader it may have forked (`_child_read`)
                os.killpg(self.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        os.close(self.fd)
        self.fd = None

    def result_live(self) -> tuple[Any, Any, int] | None:
        """For `live`: (History of the events before byte `split`, their ReadStats, `split`), or None when
        no child read them (not forked, or it failed): the caller then reads the whole file itself."""
        if self.fd is None or not self.live or self.split is None:
            return None
        answer = self._receive()
        if answer is None or answer[0] != "ok":
            return None
        history, log = answer[1]
        return history, log.stats, self.split

    def _receive(self) -> tuple[str, Any] | None:
        """The child's ("ok", (History, LoadedLog)) or ("error", exception), once it is reaped; None when
        its answer cannot be read (it died)."""
        with os.fdopen(self.fd, "rb") as f:
            payload = f.read()
        self.fd = None
        try:
            os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass
        try:
            answer = pickle.loads(payload)
        except Exception:
            return None
        if answer[0] == "ok":
            cache.unpacked(answer[1][0])
        return answer

    def _read_tail(self):
        """This process's share: the events after the split, parsed and their metrics turned into
        columns (appended once the child's History is here)."""
        from cockpit.history import cyclic_gc_paused, prefold_blocks
        from cockpit.rundir import ReadStats

        stats = ReadStats()
        if self.split is None:
            return [], stats
        path, kind = self.lines
        module = _module(kind)
        with cyclic_gc_paused():
            if hasattr(module, "prefolded"):
                return list(module.prefolded(path, stats, start=self.split)), stats
            return list(prefold_blocks(module.blocks(path, stats, start=self.split))), stats


def _read(path: Path, end: int | None = None, lines: tuple[Path, str] | None = None, said=None):
    """(History, LoadedLog) of the log behind PATH, or of its bytes before `end` when it is the log
    `lines` guessed (else all of it: `result` then sees the guess was wrong). `said(same)`: told at once
    whether it is."""
    from cockpit.history import History
    from cockpit.logs import resolve

    log = resolve(path)
    same = (log.source, log.kind) == lines
    if said is not None:
        said(same)
    if end is None or not same:
        return log.history(), log
    module = _module(log.kind)
    if hasattr(module, "prefolded"):
        return History().extend_prefolded(module.prefolded(log.source, log.stats, end=end)), log
    return History().extend_blocks(module.blocks(log.source, log.stats, end=end)), log


LINE_FORMATS = ("events", "llamafactory")
"""Formats whose reader can take a range of the file's lines (`blocks(path, stats, start, end)`)."""


def _module(kind: str):
    from importlib import import_module

    return import_module(f"cockpit.logs.{kind}")


def _die_with(parent: int) -> None:
    """Have the kernel kill this child when the process that forked it ends (Linux's PR_SET_PDEATHSIG):
    a replay quit while its log is still being read leaves no reader behind to finish a million lines
    for nobody."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1: PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # it ended before the request was in place
        os._exit(0)


_in_child = False
"""Set in a preload child: a reader it forks stays in its group."""


def _own_group(pid: int = 0) -> None:
    """Put a child of the command in a process group of its own (called in both processes, so neither
    waits on the other): `cancel` then stops it and any reader it forked with one signal."""
    global _in_child
    if _in_child:
        return
    try:
        os.setpgid(pid, 0)
    except OSError:  # already done by the other side, or the child has exited
        pass
    _in_child = pid == 0


def _add_stats(head, tail) -> None:
    """Fold the tail's reading stats onto the head's, numbering the tail's lines after the head's."""
    head.lines += tail.lines
    head.bad += tail.bad
    head.bad_lines.extend(head.end_lineno + n for n in tail.bad_lines[: max(0, 20 - len(head.bad_lines))])
    head.torn_tail = tail.torn_tail
    head.end_lineno += tail.end_lineno


def _line_log(path: Path) -> tuple[Path, str] | None:
    """(file, format) of the log behind PATH when it is one of LINE_FORMATS (what `cockpit.logs.resolve`
    would pick in the common layouts; the child checks), sniffed without importing the other readers:
    other formats (a trainer_state.json is one JSON document) are read whole by the child, not split."""
    from cockpit.logs import events

    if path.is_dir():
        for kind in LINE_FORMATS:
            found = _module(kind).find(path)
            if found is not None and found.is_file():
                return found, kind
        return None
    if not path.is_file():
        return None
    try:
        with open(path, "rb") as f:
            head = f.read(4096)
    except OSError:
        return None
    if events.sniff(path, head) and path.suffix == ".jsonl":
        return path, "events"
    from cockpit.logs import llamafactory

    return (path, "llamafactory") if llamafactory.sniff(path, head) else None


def _split_point(ev: Path, share: float = CHILD_SHARE) -> int | None:
    """The start of the first line at or after `share` of the events file, or None (no split)."""
    try:
        with open(ev, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            f.seek(int(size * share))
            chunk = f.read(1 << 20)
    except OSError:
        return None
    i = chunk.find(b"\n")
    return None if i < 0 else int(size * share) + i + 1


def _last_line_end(ev: Path) -> int | None:
    """The offset just past the file's last newline (where a live tail resumes), or None."""
    try:
        with open(ev, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            start = max(0, size - (1 << 20))
            f.seek(start)
            i = f.read(size - start).rfind(b"\n")
    except OSError:
        return None
    return None if i < 0 else start + i + 1


def _cached(path: Path) -> bool:
    """Whether the log behind PATH has a cache entry: the file itself, or the file a run's or a trainer's
    folder holds (what `cockpit.logs.resolve` would pick there in the common layouts), found without
    importing the readers: this runs before the command's imports, and a miss must fork at once."""
    if path.is_dir():
        named = [path / n for n in ("events.jsonl", "trainer_state.json", "trainer_log.jsonl") if (path / n).is_file()]
        if named:
            return any(map(cache.has, named))
        # the folder itself (TensorBoard, W&B), or the one store it holds (trackio's or MLflow's .db)
        try:
            inside = [Path(e.path) for e in islice(os.scandir(path), 100) if e.is_file()]
        except OSError:
            inside = []
        return cache.has(path) or any(map(cache.has, inside))
    return cache.has(path)


def _size(path: Path) -> int:
    """The bytes of the log behind PATH: a run's events.jsonl, or the files a folder of another tool's log
    holds, its first 1,000 entries (`output_dir/runs/<stamp>/` of TensorBoard, a trackio folder): read in
    the child too, so the replay is on screen at once."""
    try:
        if not path.is_dir():
            return path.stat().st_size
        if (path / "events.jsonl").is_file():
            return (path / "events.jsonl").stat().st_size
        return sum(f.stat().st_size for f in islice(path.rglob("*"), 1000) if f.is_file())
    except OSError:
        return 0
