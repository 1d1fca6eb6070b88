"""The column-wise fold of long logs gives exactly what folding one event at a time gives."""

from __future__ import annotations

import math
import random

from cockpit.history import History, MetricsBlock, blocks, prefold
from cockpit.rundir import METRIC_KEYS


def _metrics(step: int, rng: random.Random) -> dict:
    ev = {"v": 1, "t": 1000.0 + step, "kind": "metrics", "step": step, "epoch": step / 100, "mem_kind": "vram"}
    for k in METRIC_KEYS:
        r = rng.random()
        if r < 0.05:
            continue  # missing
        ev[k] = (
            None
            if r < 0.07
            else float("nan")
            if r < 0.08
            else "NaN"
            if r < 0.09
            else float("inf")
            if r < 0.1
            else rng.randint(0, 9)
            if r < 0.2
            else rng.random() * 10
        )
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
    _assert_same(bulk, one)
    assert bulk.nonfinite["loss"]


def _assert_same(bulk: History, one: History) -> None:
    assert list(bulk.steps) == list(one.steps)
    for k in one.series:
        assert all(_same(a, b) for a, b in zip(bulk.series[k], one.series[k], strict=True)), k
    assert bulk.nonfinite == one.nonfinite
    assert [(m.step, m.label) for m in bulk.marks] == [(m.step, m.label) for m in one.marks]
    assert (bulk.mem_kind, bulk.first_event_t, bulk.last_event_t, bulk.state) == (
        one.mem_kind,
        one.first_event_t,
        one.last_event_t,
        one.state,
    )


def test_a_tail_prefolded_apart_appends_onto_any_head():
    # What preload does: the tail of a log is turned into columns before the head's History exists.
    evs = _log(random.Random(11))
    one = History()
    for ev in evs:
        one.add(ev)
    for cut in (0, 1, 50, 97, 98, 300, 399, 401, 402, 450, len(evs) - 3, len(evs)):
        tail = list(prefold(evs[cut:]))
        _assert_same(History().extend(evs[:cut]).extend_prefolded(tail), one)


def test_prefold_keeps_the_events_only_where_the_per_event_path_may_need_them():
    rng = random.Random(3)
    save = {"v": 1, "t": 1.0, "kind": "ack", "id": "a", "cmd": "save", "ok": True}
    evs = (
        [_metrics(s, rng) for s in range(1, 101)]
        + [save]
        + [_metrics(s, rng) for s in range(101, 201)]
        + [save]
        + [_metrics(s, rng) for s in range(150, 300)]
        + [save]
        + [_metrics(s, rng) for s in range(300, 310)]
    )
    blocks = [b for b in prefold(evs) if isinstance(b, MetricsBlock)]
    # The first block may overlap what a head holds; the next follows it in order, so its events go; a
    # resume (150 after 200) and a short run take the per-event path and keep theirs.
    assert [b.events is not None for b in blocks] == [True, False, True, True]
    assert blocks[2].steps[0] == 150 and blocks[3].steps is None
    one = History()
    for ev in evs:
        one.add(ev)
    _assert_same(History().extend_prefolded(prefold(evs)), one)


def test_events_a_list_at_a_time_fold_as_one_at_a_time(monkeypatch):
    # A reader hands the History a list of events per few MB of file (`read_blocks`): wherever the lists
    # are cut (inside a run of metrics, at an ack, at a resume) and however long a block may grow.
    monkeypatch.setattr(blocks, "BLOCK_ROWS", 128)
    evs = _log(random.Random(5))
    one = History()
    for ev in evs:
        one.add(ev)
    rng = random.Random(9)
    for _ in range(12):
        cuts = sorted(rng.sample(range(1, len(evs)), rng.randint(0, 9)))
        lists = [evs[a:b] for a, b in zip([0, *cuts], [*cuts, len(evs)])]
        _assert_same(History().extend_blocks(lists), one)
    assert max(len(b.steps or ()) for b in blocks.prefold_blocks([evs]) if isinstance(b, MetricsBlock)) == 128


def test_columns_of_rows_that_lack_keys_or_hold_none():
    """The column path for a log written before a metric existed (the key in no row), a metric logged on
    some steps only, and a None in a key the first row holds: NaN where there is no number."""
    import math

    from cockpit.logs.columns import columns_of

    rows = [{"loss": 1.0 + i, "grad_norm": 0.5, **({"eval": 3.0} if i == 2 else {})} for i in range(4)]
    loss, gn, ev, absent = (list(c) for c in columns_of(rows, ["loss", "grad_norm", "eval", "update_ratio"]))
    assert loss == [1.0, 2.0, 3.0, 4.0] and gn == [0.5] * 4
    assert [math.isnan(x) for x in ev] == [True, True, False, True] and ev[2] == 3.0
    assert len(absent) == 4 and all(math.isnan(x) for x in absent)
    rows[1]["grad_norm"] = None
    assert math.isnan(columns_of(rows, ["loss", "grad_norm"])[1][1]) and columns_of(rows, ["loss"])[0][3] == 4.0
