"""The trainer's side of the run directory: one `TrainerCallback` per job, sharing one `RunControl`.

Where each hook sits in the Trainer's step (transformers 5):

    forward/backward -> clip -> on_pre_optimizer_step -> optimizer.step() -> on_optimizer_step
    -> learning_rate captured for the log -> scheduler.step() -> on_step_end -> log / save (on_log, on_save)
    -> next step: on_step_begin

- on_pre_optimizer_step: non-finite gradients drop the whole update (the adapter never takes a NaN).
- on_optimizer_step: commands are read and applied here, so an lr change is already what the Trainer
  captures for this step's log, and a `save`/`stop` is honoured by this step's save/stop checks.
- on_step_begin: a pause holds here, after the previous step is fully logged and saved.
- on_log: one `metrics` event per logging step, then the guards that judge it, then (at most every
  `$COCKPIT_SYSTEM_EVERY` seconds) a `system` event.

The Trainer calls the callbacks of one hook in list order, so the order below is part of the event
contract: the step-0 samples come before `running`; a `guard` event after the metrics event it judges.
Only the world-zero process writes events and reads the control file; commands are broadcast to every
rank so all ranks change lr, pause, save and stop at the same step.
"""

from __future__ import annotations

from transformers import TrainerCallback

from cockpit.trainer.callbacks.checkpoints import CheckpointEventsCallback, MergeOnSaveCallback
from cockpit.trainer.callbacks.commands import CommandsCallback
from cockpit.trainer.callbacks.eval_guards import EvalGuardsCallback
from cockpit.trainer.callbacks.faults import FaultInjectionCallback
from cockpit.trainer.callbacks.nonfinite import NonFiniteGuardCallback
from cockpit.trainer.callbacks.pause import PauseCallback
from cockpit.trainer.callbacks.run_control import RunControl, StopWhilePaused
from cockpit.trainer.callbacks.samples import SampleFn, SamplesCallback
from cockpit.trainer.callbacks.step_events import StepEventsCallback
from cockpit.trainer.callbacks.stop_list import StopListCallback
from cockpit.trainer.callbacks.system import SystemEventsCallback, every_from_env
from cockpit.trainer.callbacks.update_size import UpdateSizeCallback
from cockpit.trainer.update_size import UpdateSize

__all__ = ["RunControl", "StopWhilePaused", "cockpit_callbacks"]


def cockpit_callbacks(
    run: RunControl,
    mem_reader,
    mem_kind: str,
    sample_fn: SampleFn | None = None,
    device_index: int | None = None,
) -> list[TrainerCallback]:
    """The cockpit's callbacks, in the order the Trainer must call them. `device_index`: this process's
    CUDA device (None on the CPU), whose GPU the `system` events read."""
    commands = CommandsCallback(run)
    samples = SamplesCallback(run, sample_fn)
    size = UpdateSize()
    faults = FaultInjectionCallback.from_env()
    return [
        *([faults] if faults is not None else []),  # breaks a step on purpose, for the guard tests
        UpdateSizeCallback(run, size),
        NonFiniteGuardCallback(run),
        commands,
        PauseCallback(run, commands, samples),
        samples,
        StepEventsCallback(run, mem_reader, mem_kind, size),
        StopListCallback(run),
        EvalGuardsCallback(run),
        SystemEventsCallback(run, device_index, every_from_env()),
        CheckpointEventsCallback(run),
        MergeOnSaveCallback(run),
    ]
