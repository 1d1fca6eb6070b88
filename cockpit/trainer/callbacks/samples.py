"""Greedy samples of the configured prompts: before the first step, every `samples.every` steps, and when
a `sample` command asks."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from transformers import TrainerCallback

from cockpit.trainer.callbacks.run_control import RunControl

SampleFn = Callable[[Any, Any], list[tuple[str, str]]]
"""(model, tokenizer) -> [(prompt, completion)]: `cockpit.trainer.build.make_sampler`."""


class SamplesCallback(TrainerCallback):
    """Writes one `sample` event per prompt at the step end, on world zero; a failed generation is an
    ack refused, never the run's end. Generation time is not training time: it is kept out of
    step_time and tokens/s.

    Usage:
    ```python
    >>> trainer = SFTTrainer(..., callbacks=[SamplesCallback(run, build.make_sampler(cfg))])
    ```

    Args:
        run: the shared `RunControl` (the `sample` commands waiting in `run.sample_requests`).
        sample_fn: the generator, or None when the config has no `samples.prompts`.
    """

    def __init__(self, run: RunControl, sample_fn: SampleFn | None = None):
        self.run, self.sample_fn = run, sample_fn

    def on_train_begin(self, args, state, control, model=None, processing_class=None, **kwargs):
        s = self.run.cfg.samples
        if s.on_start and s.every > 0 and s.prompts and state.global_step == 0 and self.sample_fn is not None:
            self._write(0, model, processing_class, [])  # "before": the base model's answers

    def on_step_end(self, args, state, control, model=None, processing_class=None, **kwargs):
        run, s = self.run, self.run.cfg.samples
        due = bool(s.every > 0 and state.global_step % s.every == 0 and s.prompts)
        if due or run.sample_requests:
            self.answer_requests(state.global_step, model, processing_class)

    def answer_requests(self, step: int, model, processing_class) -> None:
        """Generate now and ack the `sample` commands waiting (also called while the run is paused)."""
        run = self.run
        cmds, run.sample_requests = run.sample_requests, []
        if not run.cfg.samples.prompts or self.sample_fn is None:
            for c in cmds:
                run.ack(c, step, False, reason="no samples.prompts in the config")
            return
        self._write(step, model, processing_class, cmds)

    def _write(self, step: int, model, processing_class, cmds: list[dict[str, Any]]) -> None:
        run = self.run
        if not run.is_zero:
            return
        t0 = time.perf_counter()
        try:
            for prompt, completion in self.sample_fn(model, processing_class):
                run.emit(
                    "sample",
                    step=step,
                    prompt=prompt,
                    completion=completion,
                    max_new_tokens=run.cfg.samples.max_new_tokens,
                )
            for c in cmds:
                run.ack(c, step, True, change="samples written")
        except Exception as e:  # a failed generation must never take the run down
            for c in cmds:
                run.ack(c, step, False, reason=f"generation failed: {e}")
        run.untimed += time.perf_counter() - t0
