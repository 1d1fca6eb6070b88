"""The size of each optimizer step on the adapter: ||W_after - W_before|| / ||W_before|| over every
trainable tensor, the tuning notes' "weight updates abnormally large" made a number.

Measured only on the steps that are logged (a copy of the adapter before the step, two fused norms
after it): a LoRA adapter is small, and on the other steps nothing is copied at all.
"""

from __future__ import annotations

import torch


class UpdateSize:
    def __init__(self) -> None:
        self._before: list[torch.Tensor] | None = None
        self.last: float | None = None

    def before(self, params: list[torch.Tensor]) -> None:
        """Called just before optimizer.step() of a step that will be logged."""
        with torch.no_grad():
            self._before = [p.detach().clone() for p in params]

    def after(self, params: list[torch.Tensor]) -> None:
        """Called just after it: the relative update of this step (None if no snapshot was taken)."""
        if self._before is None:
            return
        with torch.no_grad():
            now = [p.detach() for p in params]
            diff = torch._foreach_sub(now, self._before)
            num = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(diff)))
            den = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(self._before)))
            ratio = (num / den).item() if float(den) > 0 else None  # the one host sync, at a logging step
        self._before = None
        self.last = ratio

    def take(self) -> float | None:
        """The ratio measured for the step being logged now, once."""
        value, self.last = self.last, None
        return value
