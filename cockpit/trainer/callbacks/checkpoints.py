"""What follows a checkpoint: its `checkpoint` event, and the merges that were waiting for it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from cockpit.merge.spawn import spawn_merge
from cockpit.trainer.callbacks.run_control import RunControl


def _checkpoint(args, state) -> Path:
    return Path(args.output_dir) / f"checkpoint-{state.global_step}"


class CheckpointEventsCallback(TrainerCallback):
    """One `checkpoint` event per checkpoint that exists (a failed save leaves none), with why it was
    saved (the stop reason, or "save") and, after failed saves, the note that saving works again. The
    checkpoint becomes the one the guards call the last good one.

    Usage:
    ```python
    >>> trainer = SFTTrainer(..., callbacks=[CheckpointEventsCallback(run)])
    ```

    Args:
        run: the shared `RunControl`.
    """

    def __init__(self, run: RunControl):
        self.run = run

    def on_save(self, args, state, control, **kwargs):
        run, path = self.run, _checkpoint(args, state)
        if not run.is_zero or not path.exists():
            return
        run.last_good_checkpoint = str(path)
        note, run.save_note = run.save_note, None
        run.emit(
            "checkpoint",
            step=state.global_step,
            path=str(path),
            reason=run.stop_reason or "save",
            **({"note": note} if note else {}),
        )


class MergeOnSaveCallback(TrainerCallback):
    """A `merge` command saves a checkpoint; once it is written, the merge runs in its own process (never
    inside the trainer), so training goes on meanwhile. Its output goes to merge.log.

    Usage:
    ```python
    >>> trainer = SFTTrainer(..., callbacks=[MergeOnSaveCallback(run)])
    ```

    Args:
        run: the shared `RunControl` (the merges waiting in `run.merge_requests`).
    """

    def __init__(self, run: RunControl):
        self.run = run

    def on_save(self, args, state, control, **kwargs):
        cmds, self.run.merge_requests = self.run.merge_requests, []
        if not self.run.is_zero:
            return
        for cmd in cmds:
            self._spawn(cmd, state.global_step)

    def _spawn(self, cmd: dict[str, Any], step: int) -> None:
        value = cmd.get("value")
        value = {"dtype": value} if isinstance(value, str) else value  # validated: a dtype or {dtype, out}
        spawn_merge(self.run.rd.path, checkpoint=step, options=value if isinstance(value, dict) else None)
