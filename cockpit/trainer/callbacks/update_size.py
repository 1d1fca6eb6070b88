"""When the update size is measured: a snapshot of the adapter before the optimizer step of a step that
will be logged, the ratio right after it (`cockpit.trainer.update_size` does the measuring)."""

from __future__ import annotations

from transformers import TrainerCallback

from cockpit.trainer.callbacks.run_control import RunControl
from cockpit.trainer.update_size import UpdateSize


def logged_next(args, state) -> bool:
    """Whether the step about to be taken will be logged (HF logs at multiples of logging_steps)."""
    step = state.global_step + 1
    every = max(1, int(args.logging_steps or 1))
    return step % every == 0 or (step == 1 and bool(getattr(args, "logging_first_step", False)))


class UpdateSizeCallback(TrainerCallback):
    """Measures ||dW|| / ||W|| of the adapter on world zero, at logged steps only; the step-events callback
    takes the value into the step's metrics event.

    Usage:
    ```python
    >>> size = UpdateSize()
    >>> callbacks = [UpdateSizeCallback(run, size), StepEventsCallback(run, mem_reader, mem_kind, size)]
    ```

    Args:
        run: the shared `RunControl` (only world zero measures).
        size: the measurement, shared with the callback that logs it.
    """

    def __init__(self, run: RunControl, size: UpdateSize):
        self.run, self.size = run, size

    @staticmethod
    def _params(optimizer) -> list:
        return [p for g in optimizer.param_groups for p in g["params"]]

    def on_pre_optimizer_step(self, args, state, control, optimizer=None, **kwargs):
        if self.run.is_zero and optimizer is not None and logged_next(args, state):
            self.size.before(self._params(optimizer))

    def on_optimizer_step(self, args, state, control, optimizer=None, **kwargs):
        if optimizer is not None:
            self.size.after(self._params(optimizer))  # nothing to do when no snapshot was taken
