"""A comparison that follows its runs while they train: the compare view's data, outside the UI.

Each run directory's `events.jsonl` is tailed (a Hugging Face `trainer_state.json` is read once); the
sweep and study directories given are expanded again now and then, so a trial that starts later joins
the comparison and a sweep's verdicts appear as its trials end. A read that fails is kept and said
(`errors`), never taken for a quiet run.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from cockpit.compare.model import CompareReport, build_compare
from cockpit.compare.sources import CompareError, RunSource, expand
from cockpit.history import History
from cockpit.logs import LogError, resolve
from cockpit.run_groups import is_study_dir, is_sweep_dir
from cockpit.rundir import Tail

EXPAND_EVERY_S = 5.0
"""How often the sweep and study directories are looked at again for new trials and verdicts."""


@dataclass
class Member:
    """One run of the comparison and what has been read of it."""

    source: RunSource
    history: History = field(default_factory=History)
    tail: Tail | None = None
    """The run's event log, followed; None for a trainer_state.json (read once: HF writes it whole)."""
    kind: str = "events"


class CompareFeed:
    """Usage: `feed = CompareFeed(paths)`; `feed.poll()` (in a worker thread) says whether anything changed;
    `feed.report()` is the comparison now. `CompareError` from the first poll: the paths name no runs."""

    def __init__(self, paths: list[str | Path], title: str | None = None, clock=time.monotonic):
        self.paths = [str(p) for p in paths]
        self.title = title or (", ".join(Path(p).name for p in self.paths) if len(self.paths) <= 3 else "runs")
        self.members: list[Member] = []
        self.notes: list[str] = []
        self.errors: dict[str, str] = {}
        """Run label -> why its log cannot be read now (the tail's error), until a read works again."""
        self.expand_error: str | None = None
        """Why the sweep or study directories could not be read again (the runs already read stay)."""
        self.clock = clock
        self._expanded_at: float | None = None

    def poll(self) -> bool:
        """Read what is new in every run; True when the comparison changed."""
        changed = self._expand()
        for m in self.members:
            if m.tail is None:
                continue
            while True:  # a long log comes in chunks: read all of it before drawing
                events = m.tail.poll()
                if not events:
                    break
                m.history.extend(events)
                changed = True
            err = str(m.tail.error) if m.tail.error is not None else None
            if err != self.errors.get(m.source.label):
                changed = True
                if err is None:
                    self.errors.pop(m.source.label, None)
                else:
                    self.errors[m.source.label] = err
        return changed

    def report(self) -> CompareReport:
        notes = list(self.notes)
        for m in self.members:
            if m.tail is not None and m.tail.stats.bad:
                notes.append(f"{m.source.label}: {m.tail.stats.bad} unreadable line(s) skipped")
        return build_compare(
            [m.source for m in self.members],
            [m.history for m in self.members],
            [m.kind for m in self.members],
            notes,
            self.title,
        )

    @property
    def follows_groups(self) -> bool:
        return any(is_sweep_dir(Path(p)) or is_study_dir(Path(p)) for p in self.paths)

    def _expand(self) -> bool:
        """Expand the paths (the first time, and every EXPAND_EVERY_S when they hold a sweep or a study):
        new runs join, known ones take their new label, verdict and group."""
        now = self.clock()
        first = self._expanded_at is None
        if not first and (not self.follows_groups or now - self._expanded_at < EXPAND_EVERY_S):
            return False
        self._expanded_at = now
        try:
            sources, notes = expand(self.paths)
        except CompareError as e:
            if first:
                raise
            self.expand_error = str(e)
            return True
        self.expand_error = None
        known = {m.source.path.resolve(): m for m in self.members}
        before = [(m.source.label, m.source.verdict, m.source.reason, m.source.group) for m in self.members]
        members = []
        for src in sources:
            m = known.get(src.path.resolve())
            if m is None:
                m = _member(src)
            else:
                m.source = src
            members.append(m)
        self.members, self.notes = members, notes
        after = [(m.source.label, m.source.verdict, m.source.reason, m.source.group) for m in self.members]
        return first or after != before


def _member(src: RunSource) -> Member:
    """A run to follow: its event log tailed from the start, or a trainer_state.json read now."""
    try:
        log = resolve(src.path)
    except LogError as e:
        raise CompareError(str(e)) from None
    if not log.ours:  # another tool's log, written whole or not ours to follow
        return Member(src, log.history(), None, log.kind)
    return Member(src, History(), Tail(log.source), "events")


def group_of(run_dir: Path | None) -> Path | None:
    """The sweep or study directory a run directory belongs to (its parent), or None: the runs a cockpit
    compares its run with."""
    if run_dir is None:
        return None
    parent = Path(run_dir).resolve().parent
    return parent if is_sweep_dir(parent) or is_study_dir(parent) else None
