"""The non-finite guard: a step whose gradients hold a NaN or an inf is never applied to the adapter."""

from __future__ import annotations

import torch
from transformers import TrainerCallback

from cockpit.trainer.callbacks.run_control import RunControl


class NonFiniteGuardCallback(TrainerCallback):
    """Checks the trainable gradients just before `optimizer.step()`; a non-finite one drops the whole
    update (torch optimizers skip parameters without a gradient) and fires the `nonfinite_grad` guard
    (stop or pause, `guards.on_nonfinite`). Runs on every rank: each drops its own update.

    One fused norm over the gradients and a single host sync per step: the price of never applying a NaN
    update. (The Trainer's own grad_norm is not handed to callbacks.)

    Usage:
    ```python
    >>> trainer = SFTTrainer(..., callbacks=[NonFiniteGuardCallback(run)])
    ```

    Args:
        run: the shared `RunControl`, which acts on the guard's decision.
    """

    def __init__(self, run: RunControl):
        self.run = run
        self.skipped_steps = 0

    def on_pre_optimizer_step(self, args, state, control, optimizer=None, **kwargs):
        grads = [p.grad for g in optimizer.param_groups for p in g["params"] if p.grad is not None]
        if not grads:
            return
        if bool(torch.isfinite(torch.stack(torch._foreach_norm(grads))).all()):
            return
        for g in optimizer.param_groups:
            for p in g["params"]:
                p.grad = None
        step = state.global_step + 1
        self.skipped_steps += 1
        self.run.guard(
            step,
            {
                "rule": "nonfinite_grad",
                "severity": "critical",
                "message": "non-finite gradient: this optimizer step was skipped",
                "action": self.run.cfg.guards.on_nonfinite,
                "evidence": {"step": step},
            },
            control,
        )
