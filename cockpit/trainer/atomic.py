"""Checkpoints that are either complete or absent.

The HF Trainer writes `checkpoint-N/` in place: a crash or a full disk mid-save leaves a folder that
looks like a checkpoint and is not. Here every checkpoint is written into `checkpoints/.staging-N/`
and renamed into place only when complete. When a save fails (disk full, unwritable directory), the
staging folder is removed, the failure is reported, and the run keeps training; the next save tries
again (space may have come back) and says so when it succeeds. A run of failures is reported once.
"""

from __future__ import annotations

import errno
import os
import shutil

from transformers.trainer_utils import rotate_checkpoints
from trl import SFTTrainer


def _fault_save() -> None:
    """Fault injection for the reliability tests: COCKPIT_FAULT_SAVE_ENOSPC=1 makes saves hit 'disk full'."""
    if os.environ.get("COCKPIT_FAULT_SAVE_ENOSPC") == "1":
        raise OSError(errno.ENOSPC, "No space left on device (injected)")


class AtomicCheckpointSFTTrainer(SFTTrainer):
    on_save_failed = None  # set by the trainer main: callable(step, message)
    on_save_recovered = None  # callable(step, message): a save worked again after failures
    failed_saves = 0  # consecutive failed saves
    _staging: str | None = None

    def _get_output_dir(self, trial):
        return self._staging if self._staging is not None else super()._get_output_dir(trial)

    def _save_checkpoint(self, model, trial):
        root = self.args.output_dir
        step = self.state.global_step
        staging = os.path.join(root, f".staging-{step}")
        name = f"checkpoint-{step}"
        self._staging = staging
        try:
            super()._save_checkpoint(model, trial)
            _fault_save()
            if self.args.should_save:
                final = os.path.join(root, name)
                if os.path.exists(final):
                    old = final + f".old-{os.getpid()}"
                    os.rename(final, old)
                    os.rename(os.path.join(staging, name), final)
                    shutil.rmtree(old, ignore_errors=True)
                else:
                    os.rename(os.path.join(staging, name), final)
                shutil.rmtree(staging, ignore_errors=True)
                rotate_checkpoints(
                    output_dir=root,
                    save_total_limit=self.args.save_total_limit,
                    best_model_checkpoint=self.state.best_model_checkpoint,
                    use_mtime=False,
                )
        except OSError as e:
            shutil.rmtree(staging, ignore_errors=True)
            self.failed_saves += 1
            if self.failed_saves == 1 and self.on_save_failed is not None:
                self.on_save_failed(
                    step,
                    f"checkpoint-{step} not saved ({e.strerror or e}); training continues "
                    f"and every later save tries again",
                )
        else:
            if self.failed_saves and self.on_save_recovered is not None:
                self.on_save_recovered(
                    step, f"checkpoint-{step} saved: saving works again after {self.failed_saves} failed save(s)"
                )
            self.failed_saves = 0
        finally:
            self._staging = None
