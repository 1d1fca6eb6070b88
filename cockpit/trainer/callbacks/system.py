"""The run's `system` events: the machine's CPU, memory, disk and GPU, read at a logged training step when
`$COCKPIT_SYSTEM_EVERY` seconds (15 by default) have passed since the last reading.

At a logged step, not on a timer thread: the reading then carries the step the charts put it at, needs no
lock around the event writer, and costs the training loop one reading (~0.1-0.3 ms, bench/README.md) per
interval, whatever the step rate. The first logged step is always read, so a short run has its reading.
"""

from __future__ import annotations

import time

from transformers import TrainerCallback

from cockpit.trainer.callbacks.run_control import RunControl
from cockpit.trainer.system_sampler import EVERY_ENV, SystemSampler, every_from_env

__all__ = ["EVERY_ENV", "SystemEventsCallback", "every_from_env"]


class SystemEventsCallback(TrainerCallback):
    """Writes a `system` event after a training log's `metrics` event, at most once per `every` seconds.

    Only world zero reads and writes (its own GPU); the other ranks do nothing, so no collective is added.

    Args:
        run: the shared `RunControl` (its `metrics` says that this log was a training step's).
        device_index: this process's CUDA device, or None on the CPU.
        every: seconds between readings (0: at every logged step), or None: no system events.
    """

    def __init__(self, run: RunControl, device_index: int | None, every: float | None):
        self.run, self.device_index, self.every = run, device_index, every
        self.sampler: SystemSampler | None = None
        self._last: float | None = None

    def on_train_begin(self, args, state, control, **kwargs):
        run = self.run
        if self.every is not None and run.is_zero and run.events is not None and self.sampler is None:
            # Made here, not before: its CPU shares average from now, over training, not model loading.
            self.sampler = SystemSampler(run.rd.path, self.device_index)

    def on_log(self, args, state, control, logs=None, **kwargs):
        if self.sampler is None or self.run.metrics is None:  # not world zero, off, or not a training step's log
            return
        now = time.monotonic()
        if self._last is not None and now - self._last < self.every:
            return
        self._last = now
        self.run.emit("system", step=state.global_step, **self.sampler.sample())
