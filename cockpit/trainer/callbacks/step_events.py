"""The run's step events: `running` when training begins, then one `metrics` event per logging step
(with the step's wall time and tokens/s), an `eval` event per evaluation, the Trainer's `summary`."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from transformers import TrainerCallback

from cockpit.trainer import dist
from cockpit.trainer.callbacks.run_control import RunControl
from cockpit.trainer.update_size import UpdateSize


class StepEventsCallback(TrainerCallback):
    """Times each step (wall clock between step ends, less pauses, generation and checkpoint writing) and
    writes what the Trainer logs, with the memory reading, the update size and the batch figures.

    Memory is gathered from every rank at each log (a collective: every rank takes part); only world
    zero writes. On a resume, steps up to `run.logged_upto` are already in events.jsonl: not written twice.
    Sets `run.metrics` to the metrics event written at this log, for the guards listed after it.

    Usage:
    ```python
    >>> mem_kind, mem_reader = make_reader(device_index)
    >>> callbacks = [..., StepEventsCallback(run, mem_reader, mem_kind, size), StopListCallback(run)]
    ```

    Args:
        run: the shared `RunControl`.
        mem_reader: () -> {"mem_used": ..., ...}, the device's memory reading (or None).
        mem_kind: what the reading measures ("cuda", "rss", ...), written with each metrics event.
        update_size: the measurement `UpdateSizeCallback` takes at logged steps, or None.
    """

    def __init__(
        self,
        run: RunControl,
        mem_reader: Callable[[], dict[str, Any]] | None,
        mem_kind: str,
        update_size: UpdateSize | None = None,
    ):
        self.run, self.mem_reader, self.mem_kind, self.update_size = run, mem_reader, mem_kind, update_size
        self._t_last_step: float | None = None
        self._step_times: list[float] = []
        self._tokens_last_log: float | None = None

    def on_train_begin(self, args, state, control, **kwargs):
        self._t_last_step = time.perf_counter()
        self.run.untimed = 0.0
        self.run.state("running", state.global_step)

    def on_step_end(self, args, state, control, **kwargs):
        now = time.perf_counter()
        if self._t_last_step is not None:
            self._step_times.append(now - self._t_last_step - self.run.untimed)
            del self._step_times[:-64]
        self._t_last_step, self.run.untimed = now, 0.0

    def on_save(self, args, state, control, **kwargs):
        self._t_last_step = time.perf_counter()  # checkpoint writing is not training time

    def on_log(self, args, state, control, logs=None, **kwargs):
        run, logs, step = self.run, logs or {}, state.global_step
        run.metrics = None
        mem = self.mem_reader() if self.mem_reader else {}
        per_rank = dist.gather_mem(mem.get("mem_used"))
        if not run.is_zero:
            return
        if any(k.startswith("eval_") for k in logs):
            run.emit(
                "eval",
                step=step,
                epoch=state.epoch,
                **{k: v for k, v in logs.items() if k.startswith(("eval_", "general_eval_"))},
            )
            return
        if "loss" not in logs and "grad_norm" not in logs:
            if "train_runtime" in logs:
                run.emit("summary", step=step, **logs)
            return
        step_time, tps = self._rates(args, logs)
        if step <= run.logged_upto:
            return
        ev = {
            "step": step,
            "epoch": state.epoch,
            **logs,
            "step_time": step_time,
            "tokens_per_s": tps,
            "update_ratio": self.update_size.take() if self.update_size else None,
            "mem_kind": self.mem_kind,
            **mem,
        }
        if run.trainer is not None and hasattr(run.trainer, "take_batch_stats"):
            ev.update(run.trainer.take_batch_stats())
        if per_rank is not None and len(per_rank) > 1:
            ev["mem_per_rank"] = per_rank
            ev["mem_used"] = max(x for x in per_rank if x is not None)
        run.emit("metrics", **ev)
        run.metrics = ev

    def _rates(self, args, logs: dict[str, Any]) -> tuple[float | None, float | None]:
        """Mean step time over the steps since the last log, and tokens/s over them."""
        recent = self._step_times[-max(1, args.logging_steps) :]
        step_time = sum(recent) / len(recent) if recent else None
        tokens = logs.get("num_tokens")
        tps = None
        if isinstance(tokens, (int, float)) and self._tokens_last_log is not None and step_time:
            tps = (tokens - self._tokens_last_log) / (step_time * max(1, len(recent)))
        if isinstance(tokens, (int, float)):
            self._tokens_last_log = tokens
        return step_time, tps
