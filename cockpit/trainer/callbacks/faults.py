"""Fault injection for the guard tests: real NaN gradients and real loss spikes through the real trainer.

    COCKPIT_FAULT_NAN_AT_STEP=N          the gradients of step N are NaN (the non-finite guard's test)
    COCKPIT_FAULT_SPIKE=FIRST-LAST:FACTOR the model's logits are scaled by FACTOR during those steps (the
                                          windowed guards' tests: a real loss and grad_norm spike)

Only in the callback list when one of them is set.
"""

from __future__ import annotations

import os

from transformers import TrainerCallback


class FaultInjectionCallback(TrainerCallback):
    """Breaks chosen steps on purpose. Listed before the non-finite guard, which must see the NaN.

    Usage:
    ```python
    >>> faults = FaultInjectionCallback.from_env()   # None when no fault is asked for
    ```

    Args:
        nan_step: the step whose gradients become NaN, or None.
        spike: (first step, last step, factor) of a logit spike, or None.
    """

    def __init__(self, nan_step: int | None = None, spike: tuple[int, int, float] | None = None):
        self.nan_step, self.spike = nan_step, spike
        self._hook = None

    @classmethod
    def from_env(cls) -> FaultInjectionCallback | None:
        fault = os.environ.get("COCKPIT_FAULT_NAN_AT_STEP")
        nan_step = int(fault) if fault and fault.isdigit() else None
        spike_env = os.environ.get("COCKPIT_FAULT_SPIKE", "")
        steps, _, factor = spike_env.partition(":")
        first, _, last = steps.partition("-")
        spike = (int(first), int(last or first), float(factor)) if spike_env else None
        return cls(nan_step, spike) if nan_step is not None or spike is not None else None

    def on_step_begin(self, args, state, control, model=None, **kwargs):
        if self.spike is None or model is None:
            return
        first, last, factor = self.spike
        step = state.global_step + 1
        if first <= step <= last and self._hook is None:
            # On the decoder's last hidden state, not on lm_head: TRL may compute the loss from the hidden
            # states and lm_head's weight without calling lm_head (a chunked loss).
            def scale(mod, inp, out):
                out.last_hidden_state = out.last_hidden_state * factor
                return out

            self._hook = model.get_decoder().register_forward_hook(scale)
        elif not first <= step <= last and self._hook is not None:
            self._hook.remove()
            self._hook = None

    def on_pre_optimizer_step(self, args, state, control, optimizer=None, **kwargs):
        if self.nan_step != state.global_step + 1 or optimizer is None:
            return
        grads = [p.grad for g in optimizer.param_groups for p in g["params"] if p.grad is not None]
        if grads:
            grads[0].fill_(float("nan"))
