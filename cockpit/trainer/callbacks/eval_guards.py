"""Early stopping and the overfitting guard, at each evaluation (`cockpit.trainer.eval_guard` decides)."""

from __future__ import annotations

from pathlib import Path

from transformers import TrainerCallback

from cockpit.trainer.callbacks.run_control import RunControl, as_dict
from cockpit.trainer.eval_guard import EvalWatch


class EvalGuardsCallback(TrainerCallback):
    """Feeds the train losses and each evaluation to `EvalWatch` and acts on its decision. The best
    evaluation so far is saved at its step and kept from checkpoint rotation; when an eval guard stops
    the run, that checkpoint becomes the adapter (`run.restore_best`, `run.best_checkpoint`).

    Every rank watches (the train loss is logged everywhere), so every rank decides the same.

    Usage:
    ```python
    >>> trainer = SFTTrainer(..., callbacks=[EvalGuardsCallback(run)])
    ```

    Args:
        run: the shared `RunControl` (`cfg.guards.early_stop`, `cfg.guards.on_overfit`).
    """

    def __init__(self, run: RunControl):
        self.run = run
        self.watch = EvalWatch(run.cfg.guards)
        self._best_step: int | None = None  # an evaluation was the best so far: its save is that checkpoint

    def on_log(self, args, state, control, logs=None, **kwargs):
        self.watch.train_loss((logs or {}).get("loss"))

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        if not self.watch.active or not metrics:
            return
        run, step = self.run, state.global_step
        decision = self.watch.evaluated(step, metrics)
        keeps_best = run.cfg.guards.early_stop is not None or run.cfg.guards.on_overfit == "stop"
        if self.watch.is_best and keeps_best:
            control.should_save = True
            self._best_step = step
        if decision is not None and step not in run.guarded_steps:
            run.restore_best = run.restore_best or decision.action == "stop"
            run.guard(step, as_dict(decision), control)

    def on_save(self, args, state, control, **kwargs):
        step = state.global_step
        path = Path(args.output_dir) / f"checkpoint-{step}"
        if step == self._best_step and path.exists():
            self.run.best_checkpoint = str(path)
            state.best_model_checkpoint = str(path)  # checkpoint rotation keeps it
