"""Open any training log as a stream of our events: `resolve(PATH)` finds the log behind a path (a run
directory, a file, a folder holding one) by asking each format in `formats.FORMATS` in turn."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cockpit.history import History
from cockpit.logs import cache, formats
from cockpit.logs.errors import LogError
from cockpit.logs.foreign import plural
from cockpit.rundir import ReadStats, RunDir
from cockpit.rundir.events import FINAL_STATES

__all__ = ["LoadedLog", "LogError", "load_history", "resolve"]


@dataclass
class LoadedLog:
    """A log resolved from a user's PATH."""

    source: Path
    kind: str  # the format's NAME: "events" (ours), "trainer_state", ...
    run_dir: RunDir | None
    stats: ReadStats = field(default_factory=ReadStats)
    order: str = "file"
    """'file', or 'steps' when the log was out of order and folded sorted by step (see `settle`)."""

    def events(self) -> Iterator[dict[str, Any]]:
        yield from formats.by_name(self.kind).events(self.source, self.stats)

    def history(self) -> History:
        """The log folded; a long one comes from `cockpit.logs.cache` when it was read before unchanged."""
        got = cache.load(self.source)
        if got is not None:
            h, self.stats, self.order = got
            return h
        h = self.read()
        self.keep(h)
        return h

    def keep(self, h: History) -> None:
        """Put `h`, folded from this whole log, in the cache: our own log only once its run has ended
        (one still training grows, and its next read would miss anyway)."""
        if not self.ours or h.state in FINAL_STATES:
            cache.store(self.source, h, self.stats, self.order)

    def read(self) -> History:
        """The log parsed and folded, from the file."""
        prefolded = getattr(formats.by_name(self.kind), "prefolded", None)
        if prefolded is not None:  # runs of training lines already columns: no event made of each
            return self.settle(History().extend_prefolded(prefolded(self.source, self.stats)))
        blocks = getattr(formats.by_name(self.kind), "blocks", None)
        if blocks is not None:  # a list of events at a time: folded with no Python step per metrics line
            return self.settle(History().extend_blocks(blocks(self.source, self.stats)))
        return self.settle(History().extend(self.events()))

    def settle(self, h: History) -> History:
        """`h` folded from this log, or, when its steps went back other than as a resume does (a reversed,
        interleaved or stray entry: folding in file order would keep only what follows the last
        step-back), the log folded again in step order. The notes say which."""
        if self.stats.lines and not len(h) and not len(h.eval_steps):
            # Every entry unreadable; or another tool's log in which nothing was a training log (a script
            # that prints {'loss': 'mse'}, a LLaMA-Factory log of closing lines): no run to show.
            all_bad = self.stats.bad == self.stats.lines
            if all_bad or self.kind not in ("events", "trainer_state"):
                where = f" (the first bad one at line {min(self.stats.bad_lines)})" if self.stats.bad_lines else ""
                raise LogError(
                    f"{self.source}: nothing readable: it looked like {formats.by_name(self.kind).TITLE}, but "
                    f"none of its {plural(self.stats.lines, 'entry', 'entries')} is a training log{where}. "
                    f"Known formats: {formats.known()}"
                )
        if h.out_of_order:
            backs = h.step_backs
            stats, self.stats = self.stats, ReadStats()
            h = History().extend(in_step_order(self.events()))
            self.stats = stats
            self.stats.notes.append(
                f"the steps go back {plural(backs, 'time')}, not as a resume does (the log goes on past where "
                "it was instead of re-logging): read in step order"
                + (f"; {plural(h.superseded, 'step')} logged twice, the later value kept" if h.superseded else "")
            )
            h.step_backs = h.superseded = h.strays = 0
            self.order = "steps"
        elif h.superseded:
            self.stats.notes.append(
                f"{plural(h.superseded, 'logged step')} superseded: the log goes back {plural(h.step_backs, 'time')} "
                "to an earlier step and re-logs from there (a resume); the later values are kept"
            )
        return h

    def facts(self) -> dict[str, Any]:
        """What a reader should know about how this log was read, for `diagnose --json` and the views:
        only what there is to say (our own and HF logs read cleanly add nothing)."""
        out: dict[str, Any] = {}
        if self.kind not in ("events", "trainer_state"):
            out["format"] = self.kind
        if self.stats.notes:
            out["notes"] = list(self.stats.notes)
        if self.missing:
            out["not_in_format"] = sorted(self.missing)
        return out

    @property
    def missing(self) -> frozenset[str]:
        """Signals this log's format never carries (LLaMA-Factory: grad_norm)."""
        return formats.missing(self.kind)

    @property
    def ours(self) -> bool:
        """Our own events.jsonl: it may still grow, and its run directory holds a config."""
        return self.kind == "events"

    @property
    def title(self) -> str:
        if self.run_dir is not None:
            return self.run_dir.name
        if not self.ours:
            return f"{self.source.parent.name}/{self.source.name}"
        return self.source.name


def resolve(path: str | Path) -> LoadedLog:
    """Find the log behind PATH, or raise LogError saying what was found and which formats are known."""
    p = Path(path).expanduser()
    if not p.exists():
        raise LogError(f"{p}: no such file or directory")
    if p.is_dir():
        return _resolve_dir(p)
    head = _head(p)
    for fmt in formats.modules():
        if fmt.sniff(p, head):
            return _loaded(p, fmt.NAME)
    raise LogError(f"{p}: {_what_is(p, head)}, not a training log the cockpit reads. Known formats: {formats.known()}")


def _what_is(p: Path, head: bytes) -> str:
    """What a file the formats refused holds, in a few words: empty, binary, or its first line."""
    if not head.strip():
        return "an empty file" if not head else "a file holding only blank space"
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as e:
        if b"\0" in head or e.start < len(head) - 4:  # not a character cut at the end of the head
            return "a binary file"
        text = head[: e.start].decode("utf-8")
    if "\0" in text:
        return "a binary file"
    first = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    return f"text whose first line is {first[:80]!r}"


def _resolve_dir(p: Path) -> LoadedLog:
    for fmt in formats.modules():
        find = getattr(fmt, "find", None)
        inner = find(p) if find is not None else None
        if inner is not None and fmt.sniff(inner, _head(inner)):
            return _loaded(inner, fmt.NAME)
        if inner is None and fmt.sniff(p, b""):
            return _loaded(p, fmt.NAME)
    raise LogError(
        f"{p}: not a run directory (no events.jsonl) and holds no trainer_state.json nor another log the "
        f"cockpit reads. Known formats: {formats.known()}"
    )


def _loaded(path: Path, kind: str) -> LoadedLog:
    run_dir = RunDir(path.parent) if kind == "events" and path.name == "events.jsonl" else None
    return LoadedLog(path, kind, run_dir)


def _head(p: Path) -> bytes:
    try:
        with open(p, "rb") as f:
            return f.read(formats.HEAD_BYTES)
    except OSError as e:
        raise LogError(f"{p}: cannot read ({e})") from None


def in_step_order(events: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The events with a step sorted by it (stable: of two entries for one step the later stays later, and
    folding keeps it); `run_started` first, events without a step after."""
    first, stepped, rest = [], [], []
    for ev in events:
        if ev.get("kind") == "run_started":
            first.append(ev)
        elif ev.get("step") is not None:
            stepped.append(ev)
        else:
            rest.append(ev)
    stepped.sort(key=_step_of)
    return first + stepped + rest


def _step_of(ev: dict[str, Any]) -> int:
    return int(ev["step"])


def load_history(path: str | Path) -> tuple[History, LoadedLog]:
    log = resolve(path)
    return log.history(), log
