"""The pause: training holds at the start of a step until a `resume` (or a `stop`) arrives."""

from __future__ import annotations

import time

from transformers import TrainerCallback

from cockpit.trainer.callbacks.commands import At, CommandsCallback
from cockpit.trainer.callbacks.run_control import RunControl, StopWhilePaused
from cockpit.trainer.callbacks.samples import SamplesCallback

POLL_S = 0.2
"""How often a paused trainer reads the control file."""


class PauseCallback(TrainerCallback):
    """Holds at `on_step_begin` while the run is paused, after the previous step is fully logged and saved.

    While paused it keeps reading commands: `save` and `merge` write a checkpoint at once (the Trainer
    only saves between steps), `sample` generates at once (a paused run is when a person reads the
    samples, and a `stop` after it would otherwise leave it unanswered), `stop` leaves training by raising `StopWhilePaused`, which the trainer's
    main answers with a final checkpoint. The time held is kept out of the next step's step_time.

    Usage:
    ```python
    >>> commands = CommandsCallback(run)
    >>> samples = SamplesCallback(run, sample_fn)
    >>> callbacks = [commands, PauseCallback(run, commands, samples), samples]
    ```

    Args:
        run: the shared `RunControl` (`paused` is set by a `pause` command or a guard).
        commands: the callback that reads and applies commands, used here while the step loop is held.
        samples: the callback that answers `sample` commands; None leaves them for the step end.
    """

    def __init__(self, run: RunControl, commands: CommandsCallback, samples: SamplesCallback | None = None):
        self.run, self.commands, self.samples = run, commands, samples
        self.raise_on_stop = True
        """False in a user's script, whose `trainer.train()` must return normally for its own save logic to
        run: the held step then runs without an update (`on_pre_optimizer_step`) and the Trainer's stop
        and save checks end training after it."""
        self._drop_update = False

    def on_step_begin(self, args, state, control, optimizer=None, lr_scheduler=None, **kwargs):
        run = self.run
        if not run.paused:
            return
        t0, untimed = time.perf_counter(), run.untimed  # the whole hold is untimed, samples made in it included
        at = At(state.global_step, control, optimizer, lr_scheduler)
        while run.paused:
            time.sleep(POLL_S)
            cmds = self.commands.poll()
            saving = any(c.get("cmd") in ("save", "merge") and self.commands.refusal(dict(c)) is None for c in cmds)
            self.commands.apply(cmds, at)
            if saving and run.trainer is not None:
                control.should_save = False
                run.save_now()
            if run.sample_requests and self.samples is not None:
                self.samples.answer_requests(state.global_step, kwargs.get("model"), kwargs.get("processing_class"))
            if run.stop_reason is not None:
                run.paused = False
                run.untimed = untimed + time.perf_counter() - t0
                if self.raise_on_stop:
                    raise StopWhilePaused()
                self._drop_update = True
                return
        run.untimed = untimed + time.perf_counter() - t0

    def on_pre_optimizer_step(self, args, state, control, optimizer=None, **kwargs):
        if not self._drop_update or optimizer is None:
            return
        self._drop_update = False  # the step a stop left the pause for: the adapter stays as it was saved
        for g in optimizer.param_groups:
            for p in g["params"]:
                p.grad = None
