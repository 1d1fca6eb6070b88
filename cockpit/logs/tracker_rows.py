"""What the trackers the Trainer reports to (TensorBoard, W&B, trackio, MLflow) hold, as our events.

Each tracker keeps the Trainer's log under its own names: TensorBoard, W&B and trackio get them rewritten
(`train/loss`, `eval/loss`, `train/global_step`), MLflow as the Trainer logged them (`loss`, `eval_loss`).
The names are mapped back here, once, and each logged row split the way the Trainer's `log_history` is
(`cockpit.logs.trainer_state`): training metrics, an evaluation, the end-of-training summary.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from typing import Any

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
