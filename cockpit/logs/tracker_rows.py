"""What the trackers the Trainer reports to (TensorBoard, W&B, trackio, MLflow) hold, as our events.

Each tracker keeps the Trainer's log under its own names: TensorBoard, W&B and trackio get them rewritten
(`train/loss`, `eval/loss`, `train/global_step`), MLflow as the Trainer logged them (`loss`, `eval_loss`).
The names are mapped back here, once, and each logged row split the way the Trainer's `log_history` is
(`cockpit.logs.trainer_state`): training metrics, an evaluation, the end-of-training summary.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from functools import lru_cache
from itertools import compress, repeat
from operator import eq, itemgetter, not_
from typing import Any

from cockpit.logs.trainer_state import _RENAME
from cockpit.logs.trainer_state import _SUMMARY_KEYS as SUMMARY_KEYS
from cockpit.logs.trainer_state import _entry_event as entry_event

STEP_KEYS = ("train/global_step", "global_step")
"""The Trainer's step, logged beside the metrics (W&B's own `_step` counts log calls, not steps)."""

_PREFIXES = (("train/", ""), ("eval/", "eval_"), ("test/", "test_"))

_BOOKKEEPING = frozenset(("_step", "_runtime", "_timestamp", "_wandb", "global_step", "step", "epoch"))


@lru_cache(maxsize=4096)  # a log repeats the same few names on every row
def hf_key(name: str) -> str:
    """A tracker's metric name as the Trainer's log key: `train/loss` -> loss, `eval/loss` -> eval_loss,
    `train/learning_rate` -> learning_rate; any other name is kept."""
    for prefix, ours in _PREFIXES:
        if name.startswith(prefix):
            return ours + name[len(prefix) :]
    return name


def row_events(step: int, row: dict[str, Any], t: float | None = None) -> Iterator[dict[str, Any]]:
    """One logged row (names already mapped by `hf_key`) as the events the Trainer's log makes of it:
    its evaluation, its training metrics, its summary; a part that holds nothing but the epoch is left out
    (a W&B evaluation row carries `train/epoch` too)."""
    epoch = row.get("epoch")
    evals, summary, metrics = {}, {}, {}
    for k, v in row.items():
        if k.startswith("eval_"):
            evals[k] = v
        elif k in SUMMARY_KEYS:
            summary[k] = v
        elif k not in _BOOKKEEPING:
            metrics[k] = v
    for part in (metrics, evals, summary):
        if part:
            ev = entry_event({**part, "step": step, "epoch": epoch})
            if ev is not None:
                ev["t"] = t
                yield ev


def rows_events(steps: list[int], rows: list[dict[str, Any]], times: list[float | None]) -> list[dict[str, Any]]:
    """`row_events` of many rows, each under its tracker's names (the `hf_key` mapping is done here), in
    order. Rows come in a few shapes (the same keys in the same order: a training step's, an eval's); the
    shape of a training step's row alone is planned once and its rows made events in a few C loops (a
    Python step a row cost 9 s of a million-row trackio log's 24); any other row goes through
    `row_events`."""
    shapes = list(map(tuple, rows))  # each row's keys, in order
    plans = {shape: _Plan.of(shape) for shape in dict.fromkeys(shapes)}
    planned = [shape for shape, plan in plans.items() if plan is not None]
    if len(plans) == 1 and planned:
        return plans[planned[0]].events(rows, steps, times)
    made = {}
    for shape in planned:
        mine = list(map(eq, shapes, repeat(shape)))
        made[shape] = (mine, plans[shape].events(*(list(compress(x, mine)) for x in (rows, steps, times))))
    if len(made) == 1:  # the common mix, training rows and a few evals: the few alone, the rest in runs
        return _merged(steps, rows, times, *made[planned[0]])
    queues = {shape: iter(events) for shape, (_, events) in made.items()}
    out: list[dict[str, Any]] = []
    for step, row, t, shape in zip(steps, rows, times, shapes):
        queue = queues.get(shape)
        if queue is not None:
            out.append(next(queue))
        else:
            out += row_events(step, {hf_key(k): v for k, v in row.items()}, t)
    return out


def _merged(steps, rows, times, mine: list[bool], events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The planned rows' `events` (one a row where `mine`) and the other rows' `row_events`, in row order."""
    out: list[dict[str, Any]] = []
    done = made = 0  # rows gone through; planned events taken
    for i in (*compress(range(len(rows)), map(not_, mine)), len(rows)):
        out += events[made : made + i - done]
        made += i - done
        if i < len(rows):
            out += row_events(steps[i], {hf_key(k): v for k, v in rows[i].items()}, times[i])
        done = i + 1
    return out


class _Plan:
    """How rows of one shape whose every key is a training metric's (or bookkeeping) become events."""

    def __init__(self, keep: list[int], names: list[str], epoch: int | None) -> None:
        self.keep, self.names, self.epoch = keep, names, epoch

    @classmethod
    def of(cls, shape: tuple[str, ...]) -> _Plan | None:
        """The plan for rows of this shape, or None when `row_events` must see each (an eval, a summary, a
        row of bookkeeping alone, a name that is not text)."""
        if not all(type(k) is str for k in shape):
            return None
        mapped = {hf_key(k): i for i, k in enumerate(shape)}  # (a name twice: the later value, as a dict keeps)
        if any(k.startswith("eval_") or k in SUMMARY_KEYS for k in mapped):
            return None
        kept = [(k, i) for k, i in mapped.items() if k not in _BOOKKEEPING]
        if not kept:
            return None
        names = [k for k, _ in kept]
        if "loss" not in mapped or "train_tokens_per_second" in mapped:  # `entry_event`'s general path
            names = [_RENAME.get(k, k) for k in names]
        return cls([i for _, i in kept], names, mapped.get("epoch"))

    def events(self, rows: list[dict[str, Any]], steps: list[int], times: list[float | None]) -> list[dict[str, Any]]:
        values = list(map(tuple, map(dict.values, rows)))
        pick = itemgetter(*self.keep) if len(self.keep) > 1 else (lambda v, i=self.keep[0]: (v[i],))
        events = list(map(dict, map(zip, repeat(self.names), map(pick, values))))
        epochs = map(itemgetter(self.epoch), values) if self.epoch is not None else repeat(None)
        deque(map(dict.__setitem__, events, repeat("step"), steps), 0)
        deque(map(dict.__setitem__, events, repeat("epoch"), epochs), 0)
        deque(map(dict.update, events, repeat(_METRICS)), 0)
        deque(map(dict.__setitem__, events, repeat("t"), times), 0)
        return events


_METRICS = {"v": 1, "kind": "metrics"}


TRAINING_KEYS = ("learning_rate", "logging_steps", "eval_steps", "save_steps", "num_train_epochs", "max_steps")
"""The Trainer arguments a tracker keeps (W&B's config, trackio's config, MLflow's params) that the views
show as the run's training config."""


def training_config(config: dict[str, Any]) -> dict[str, Any]:
    """TRAINING_KEYS of a tracker's copy of the Trainer's arguments, as numbers: W&B wraps each value
    (`{"value": 3e-4}` in some versions), MLflow keeps them as text ("0.0003")."""
    out = {}
    for k in TRAINING_KEYS:
        v = config.get(k)
        if isinstance(v, dict):
            v = v.get("value")
        if isinstance(v, str):
            try:
                v = float(v) if any(c in v for c in ".eE") else int(v)
            except ValueError:
                continue
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            out[k] = v
    return {"training": out} if out else {}


def finished_event(step: int, total_steps: Any) -> dict[str, Any] | None:
    """The `finished` state once the last step reached the planned total, as for a trainer_state.json."""
    if type(total_steps) is int and total_steps > 0 and step >= total_steps:
        return {"v": 1, "t": None, "kind": "state", "state": "finished", "step": step}
    return None
