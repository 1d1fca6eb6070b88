"""The procedure's stop list, checked on every logged step with no cockpit attached."""

from __future__ import annotations

from transformers import TrainerCallback

from cockpit.advisor.guards import GuardWindow, check_step
from cockpit.trainer.callbacks.run_control import RunControl, as_dict


class StopListCallback(TrainerCallback):
    """Judges each metrics event as the advisor would: a non-finite loss or grad_norm, grad_norm over the
    explosion bound, and the windowed guards (grad_norm over the danger bound for several steps in a
    row, a sudden loss jump, abnormally large updates), each acted on as its `guards.on_*` says. A few
    float checks and a ring buffer of ten losses per logged step.

    Listed after `StepEventsCallback`: it reads the metrics event that callback wrote (`run.metrics`),
    and its `guard` event follows that one.

    Usage:
    ```python
    >>> callbacks = [..., StepEventsCallback(run, mem_reader, mem_kind), StopListCallback(run)]
    ```

    Args:
        run: the shared `RunControl`, which acts on a guard's decision.
    """

    def __init__(self, run: RunControl):
        self.run = run
        self.window = GuardWindow(mixed=run.cfg.data.general_mix > 0, clipping=run.cfg.training.max_grad_norm > 0)

    def on_log(self, args, state, control, logs=None, **kwargs):
        ev = self.run.metrics
        if ev is None:
            return  # not world zero, not a training log, or a step already logged before a resume
        step = state.global_step
        decision = check_step(
            step,
            ev.get("loss"),
            ev.get("grad_norm"),
            self.run.cfg.thresholds,
            self.run.cfg.guards,
            self.window,
            ev.get("update_ratio"),
        )
        if decision is None or step in self.run.guarded_steps:
            return
        self.run.guard(step, as_dict(decision), control)
