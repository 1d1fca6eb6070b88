"""A run's history folded from its events: columnar metric series plus the sparse events around them.

Everyone who reads a run (the live cockpit, replay, the advisor, report, `ls`) folds events into a
`History`. Metrics are stored column-wise in `array('d')` (NaN where a field is missing) so a
1,000,000-step log costs tens of MB, not a dict per step.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from cockpit.event_text import describe_event
from cockpit.history.blocks import (
    SERIES_KEYS,
    MetricsBlock,
    cyclic_gc_paused,
    extra_keys,
    prefold,
    prefold_blocks,
)
from cockpit.history.fields import event_step, event_time, list_or_none
from cockpit.logs.columns import num
from cockpit.own.user_terms import script_config, script_of
from cockpit.rundir import FINAL_STATES

NAN = float("nan")

_NOT_SYSTEM_NUMBERS = frozenset(("v", "t", "step"))

OPERATOR_KINDS = ("ack", "guard", "checkpoint", "merge", "state")
"""Events shown as marks on the timeline (operator actions and what the trainer did by itself)."""


@dataclass
class Mark:
    """An operator action or trainer decision placed on the timeline at a step."""

    step: int
    kind: str
    label: str
    event: dict[str, Any]


@dataclass
class History:
    """Everything known about one run, as of the last event folded in."""

    steps: array = field(default_factory=lambda: array("q"))
    series: dict[str, array] = field(default_factory=lambda: {k: array("d") for k in SERIES_KEYS})
    eval_steps: array = field(default_factory=lambda: array("q"))
    eval_series: dict[str, array] = field(default_factory=dict)
    sys_steps: array = field(default_factory=lambda: array("q"))
    sys_series: dict[str, array] = field(default_factory=dict)
    """The `system` events' numbers (CPU, RAM, disk, GPU), on their own steps: one reading every few seconds."""
    run_started: dict[str, Any] | None = None
    state: str = "unknown"
    state_event: dict[str, Any] | None = None
    marks: list[Mark] = field(default_factory=list)
    samples: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    acks: dict[str, dict[str, Any]] = field(default_factory=dict)
    other: list[dict[str, Any]] = field(default_factory=list)
    mem_kind: str | None = None
    last_event_t: float | None = None
    first_event_t: float | None = None
    world_size: int = 1
    per_rank_mem: list[float] | None = None
    nonfinite: dict[str, list[int]] = field(default_factory=dict)
    """Steps where loss / grad_norm were logged as NaN or inf (a NaN in `series` may just mean missing)."""
    step_backs: int = 0
    """Times a `metrics` step was at or below the one before: a resume re-logging from its checkpoint, or
    a log out of order."""
    superseded: int = 0
    """Logged steps a step-back dropped (the later values are kept, as after a resume)."""
    strays: int = 0
    """Step-backs the log did not re-log from: the next step went on past where the log had been (or
    nothing came after). A resume re-logs; a stray low step, a reversed or interleaved log does not."""
    _back_from: int | None = None
    """The last step before the latest step-back, until the step after it shows whether it re-logs."""

    # ---- folding ---------------------------------------------------------------------------------

    def add(self, ev: dict[str, Any]) -> None:
        kind = ev.get("kind")
        t = event_time(ev.get("t"))
        if t is not None:
            if self.first_event_t is None:
                self.first_event_t = t
            self.last_event_t = t
        if kind == "metrics":
            self._add_metrics(ev)
        elif kind == "eval":
            self._add_eval(ev)
        elif kind == "run_started":
            self.run_started = ev
            ws = ev.get("world_size")
            self.world_size = ws if type(ws) is int and 1 <= ws <= 1 << 20 else 1
        elif kind == "state":
            self.state = str(ev.get("state", self.state))
            self.state_event = ev
            self._mark(ev)
        elif kind == "ack":
            self.acks[str(ev.get("id", ""))] = ev
            self._mark(ev)
        elif kind in ("guard", "checkpoint", "merge"):
            self._mark(ev)
        elif kind == "system":
            self._add_system(ev)
        elif kind == "sample":
            self.samples.append(ev)
        elif kind == "error":
            self.errors.append(ev)
            self._mark(ev)
        else:
            self.other.append(ev)

    def extend(self, events: Iterable[dict[str, Any]]) -> History:
        """Fold many events. Runs of consecutive `metrics` events are folded column-wise (what makes a
        100,000-step log open in well under a second); every other event goes through `add` in order."""
        return self.extend_prefolded(prefold(events))

    def extend_blocks(self, blocks: Iterable[list[dict[str, Any]]]) -> History:
        """`extend`, for events that come a list at a time (`cockpit.rundir.read_blocks`, a reader's
        `blocks`): the fast path of a long log, no Python step per metrics event."""
        return self.extend_prefolded(prefold_blocks(blocks))

    def extend_prefolded(self, items: Iterable[dict[str, Any] | MetricsBlock]) -> History:
        """Fold what `prefold` made of events that follow the ones folded so far."""
        with cyclic_gc_paused():
            for item in items:
                if type(item) is MetricsBlock:
                    self._add_metrics_block(item)
                else:
                    self.add(item)
        return self

    def _add_metrics_block(self, block: MetricsBlock) -> None:
        t = event_time(block.t_last)
        if t is not None:
            t0 = event_time(block.t_first)
            if self.first_event_t is None and t0 is not None:
                self.first_event_t = t0
            self.last_event_t = t
        if self._back_from is not None and block.steps is not None and block.steps[0] > self.steps[-1]:
            self._settle_step_back(block.steps[0])
        if block.steps is None or (self.steps and block.steps[0] <= self.steps[-1]):
            assert block.events is not None, "prefold dropped events a block needs"
            for ev in block.events:  # short runs, resumes, odd steps: the exact per-event path
                self._add_metrics(ev)
            return
        before = len(self.steps)
        self.steps.extend(block.steps)
        for k, new in zip(SERIES_KEYS, block.columns):
            self.series[k].extend(new)
        for k, new in block.extra.items():
            col = self.series.get(k)
            if col is None:  # (not setdefault: its default, a column of NaNs as long as the run, is made every time)
                col = self.series[k] = array("d", [NAN]) * before
            col.extend(new)
        for col in self.series.values():
            if len(col) < len(self.steps):  # an extra key this block does not log
                col.extend(array("d", [NAN]) * (len(self.steps) - len(col)))
        for k, steps in block.nonfinite.items():
            self.nonfinite.setdefault(k, []).extend(steps)
        if block.mem_kind:
            self.mem_kind = block.mem_kind
        if block.per_rank_mem:
            self.per_rank_mem = [num(x) for x in block.per_rank_mem]

    def _add_metrics(self, ev: dict[str, Any]) -> None:
        step = event_step(ev.get("step"))
        if step is None:  # no step, or one the reader would have refused (2**70, NaN, -1)
            return
        if self._back_from is not None:
            self._settle_step_back(step)
        if self.steps and step <= self.steps[-1]:
            # A resume re-logs from its checkpoint: keep the later values, drop the superseded tail.
            self.step_backs += 1
            self._back_from = self.steps[-1]
            self.superseded += self._truncate_from(step)
        self.steps.append(step)
        for k in extra_keys(ev.keys() - self.series.keys()):
            if num(ev[k]) == num(ev[k]):  # a new numeric key: a column, missing before this step
                self.series[k] = array("d", [NAN]) * (len(self.steps) - 1)
        for k, col in self.series.items():
            v = num(ev.get(k))
            col.append(v)
            if v != v or v in (math.inf, -math.inf):
                if k in ("loss", "grad_norm") and ev.get(k) is not None:
                    self.nonfinite.setdefault(k, []).append(step)
        if ev.get("mem_kind") and type(ev["mem_kind"]) is str:
            self.mem_kind = ev["mem_kind"]
        if list_or_none(ev.get("mem_per_rank")):
            self.per_rank_mem = [num(x) for x in ev["mem_per_rank"]]

    def _settle_step_back(self, step: int) -> None:
        """The step after a step-back: past where the log had been, the low step was a stray."""
        if step > self._back_from:
            self.strays += 1
        self._back_from = None

    @property
    def out_of_order(self) -> bool:
        """Whether the steps went back other than as a resume does (then read the log in step order)."""
        return self.strays > 0 or self._back_from is not None

    def _truncate_from(self, step: int) -> int:
        """Drop the logged steps at or after `step`; how many were dropped."""
        for k in self.nonfinite:
            self.nonfinite[k] = [s for s in self.nonfinite[k] if s < step]
        i = len(self.steps)
        while i > 0 and self.steps[i - 1] >= step:
            i -= 1
        dropped = len(self.steps) - i
        del self.steps[i:]
        for col in self.series.values():
            del col[i:]
        return dropped

    def _add_eval(self, ev: dict[str, Any]) -> None:
        step = event_step(ev.get("step"))
        if step is None:
            return
        self.eval_steps.append(step)
        n = len(self.eval_steps)
        for k, v in ev.items():
            if k.startswith(("eval_", "general_eval_")) and isinstance(v, (int, float)) and not isinstance(v, bool):
                col = self.eval_series.setdefault(k, array("d", [NAN] * (n - 1)))
                col.append(num(v))
        for col in self.eval_series.values():
            if len(col) < n:
                col.append(NAN)

    def _add_system(self, ev: dict[str, Any]) -> None:
        step = event_step(ev.get("step"))
        if step is None:
            return
        if self.sys_steps and step <= self.sys_steps[-1]:  # a resume (or a second Trainer) reads again from here
            i = len(self.sys_steps)
            while i > 0 and self.sys_steps[i - 1] >= step:
                i -= 1
            del self.sys_steps[i:]
            for col in self.sys_series.values():
                del col[i:]
        self.sys_steps.append(step)
        n = len(self.sys_steps)
        for k, v in ev.items():
            if k not in _NOT_SYSTEM_NUMBERS and type(v) in (int, float):  # a field a later writer adds is charted too
                col = self.sys_series.get(k)
                if col is None:  # made only when new: a default built at every reading cost O(readings) each
                    col = self.sys_series[k] = array("d", [NAN]) * (n - 1)
                col.append(num(v))
        for col in self.sys_series.values():
            if len(col) < n:
                col.append(NAN)

    def _mark(self, ev: dict[str, Any]) -> None:
        step = event_step(ev.get("step"))
        if step is None:
            step = self.steps[-1] if self.steps else 0
        said = describe_event(ev)  # worded as the cockpit's event log and `--headless` word it
        self.marks.append(Mark(step, str(ev.get("kind")), said.text[:200] if said else str(ev.get("kind")), ev))

    # ---- reading ---------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.steps)

    @property
    def step(self) -> int:
        return self.steps[-1] if self.steps else 0

    @property
    def total_steps(self) -> int | None:
        if self.run_started:
            t = event_step(self.run_started.get("total_steps"))
            if t:
                return t
        return None

    @property
    def config(self) -> dict[str, Any]:
        """The run's config; for a user's own script, only what its Trainer told (`cockpit.own.user_terms`)."""
        c = (self.run_started or {}).get("config")
        if isinstance(c, dict):
            return c
        return script_config(self.script) if self.script is not None else {}

    @property
    def script(self) -> dict[str, Any] | None:
        """What a user's own script's run read from its Trainer; None for our runs and replayed logs."""
        return script_of(self.run_started)

    @property
    def finished(self) -> bool:
        return self.state in FINAL_STATES

    def last(self, key: str) -> float:
        """The last finite value of a metric, or NaN."""
        col = self.series.get(key)
        if not col:
            return NAN
        for i in range(len(col) - 1, max(-1, len(col) - 200), -1):
            if not math.isnan(col[i]):
                return col[i]
        return NAN

    def has(self, key: str) -> bool:
        col = self.series.get(key)
        return bool(col) and any(not math.isnan(x) for x in col[-1000:])

    def side_series(self, key: str) -> tuple[array, array] | None:
        """(steps, values) of a metric logged apart from the `metrics` events, an evaluation's or the
        system's, on its own steps; None for a training metric (or a key the run never logged)."""
        if key in self.series:
            return None
        if key in self.eval_series:
            return self.eval_steps, self.eval_series[key]
        if key in self.sys_series:
            return self.sys_steps, self.sys_series[key]
        return None

    def window(self, lo: int, hi: int) -> History:
        """Metric rows lo..hi (and the events up to row hi): what a rule looking back from a cursor sees."""
        h = self.upto(hi, lo)
        if lo > 0:
            first = h.steps[0] if h.steps else 0
            h.nonfinite = {k: [s for s in v if s >= first] for k, v in h.nonfinite.items()}
        return h

    def upto(self, n: int, lo: int = 0) -> History:
        """A copy holding the first n metric rows (from row lo) and the events up to that step (replay cursor)."""
        h = History()
        h.steps = self.steps[lo:n]
        h.series = {k: v[lo:n] for k, v in self.series.items()}
        last = h.steps[-1] if h.steps else -1
        ne = sum(1 for s in self.eval_steps if s <= last)
        h.eval_steps = self.eval_steps[:ne]
        h.eval_series = {k: v[:ne] for k, v in self.eval_series.items()}
        ns = sum(1 for s in self.sys_steps if s <= last)
        h.sys_steps = self.sys_steps[:ns]
        h.sys_series = {k: v[:ns] for k, v in self.sys_series.items()}
        h.run_started = self.run_started
        h.marks = [m for m in self.marks if m.step <= last]
        h.samples = [s for s in self.samples if (event_step(s.get("step")) or 0) <= last]
        h.errors = [e for e in self.errors if (event_step(e.get("step")) or 0) <= last]
        h.mem_kind, h.world_size, h.per_rank_mem = self.mem_kind, self.world_size, self.per_rank_mem
        h.nonfinite = {k: [s for s in v if s <= last] for k, v in self.nonfinite.items()}
        state_marks = [m for m in h.marks if m.kind == "state"]
        h.state = state_marks[-1].event.get("state", "unknown") if state_marks else ("running" if n else "unknown")
        h.state_event = state_marks[-1].event if state_marks else None
        h.first_event_t = self.first_event_t
        ts = [x for x in h.series["t"][-1:] if x == x]
        h.last_event_t = ts[0] if ts else self.first_event_t
        return h
