"""The column-wise fold of long logs gives exactly what folding one event at a time gives."""

from __future__ import annotations

import math
import random

from cockpit.history import History
from cockpit.rundir import METRIC_KEYS


def _metrics(step: int, rng: random.Random) -> dict:
    ev = {"v": 1, "t": 1000.0 + step, "kind": "metrics", "step": step, "epoch": step / 100,
          "mem_kind": "vram"}
    for k in METRIC_KEYS:
        r = rng.random()
        if r < 0.05:
            continue  # missing
        ev[k] = None if r < 0.07 else float("nan") if r < 0.08 else "NaN" if r < 0.09 else \
            float("inf") if r < 0.1 else rng.randint(0, 9) if r < 0.2 else rng.random() * 10
    return ev


def _log(rng: random.Random) -> list[dict]:
    evs = [{"v": 1, "t": 999.0, "kind": "run_started", "config": {}, "total_steps": 900}]
    for s in range(1, 400):
        evs.append(_metrics(s, rng))
        if s % 97 == 0:
            evs.append({"v": 1, "t": 1000.0 + s, "kind": "ack", "id": f"a{s}", "cmd": "save", "ok": True})
    evs.append({"v": 1, "t": 1500.0, "kind": "state", "state": "running", "step": 250})
    evs += [_metrics(s, rng) for s in range(250, 700)]  # a resume re-logs from its checkpoint
    evs += [_metrics(s, rng) for s in (700, 702, 702, 705)]  # a duplicate step
    evs += [{**_metrics(706, rng), "step": "706"}, {**_metrics(707, rng), "step": 707.0}]  # odd step types
    return evs


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


def test_batched_fold_equals_event_by_event():
    rng = random.Random(7)
    evs = _log(rng)
    one = History()
    for ev in evs:
        one.add(ev)
    bulk = History().extend(evs)
    assert list(bulk.steps) == list(one.steps)
    for k in one.series:
        assert len(bulk.series[k]) == len(one.series[k])
        assert all(_same(a, b) for a, b in zip(bulk.series[k], one.series[k])), k
    assert bulk.nonfinite == one.nonfinite and bulk.nonfinite["loss"]
    assert [(m.step, m.label) for m in bulk.marks] == [(m.step, m.label) for m in one.marks]
    assert (bulk.mem_kind, bulk.first_event_t, bulk.last_event_t, bulk.state) == \
        (one.mem_kind, one.first_event_t, one.last_event_t, one.state)
