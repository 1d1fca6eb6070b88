"""Writing the run's adapter/ directory: atomically, so a half-written adapter never looks like a finished one."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from cockpit.rundir import RunDir


def write_final_adapter(trainer, run, rd: RunDir) -> tuple[str | None, str | None]:
    """The run's adapter at its end: the best checkpoint's when an eval guard stopped the run
    (`run.restore_best`), else the trained one. Returns the adapter's path (None when it could not be
    written: the error is an event, the run still ends) and the reason the final state gives."""
    reason = run.stop_reason
    try:
        if run.restore_best and run.best_checkpoint:
            best = Path(run.best_checkpoint)
            adapter_from_checkpoint(best, rd)
            reason = f"{reason}; the adapter is the best checkpoint's ({best.name})"
        else:
            save_adapter(trainer, rd)
    except OSError as e:
        run.save_failed(trainer.state.global_step, f"adapter not saved: {e}")
        return None, "; ".join(filter(None, [reason, f"adapter not saved ({e.strerror or e})"]))
    return str(rd.adapter), reason


def save_adapter(trainer, rd: RunDir) -> None:
    """The trained adapter (and the tokenizer beside it) as the run's adapter/."""
    from cockpit.merge.pissa import INITIAL_ADAPTER

    initial = rd.path / INITIAL_ADAPTER
    # PiSSA/OLoRA: saved as the equivalent plain LoRA of the original base (rank 2r), peft's documented way
    convert = {"path_initial_model_for_weight_conversion": str(initial)} if initial.is_dir() else {}

    def write(tmp: Path) -> None:
        trainer.model.save_pretrained(str(tmp), **convert)
        if trainer.processing_class is not None:
            trainer.processing_class.save_pretrained(str(tmp))

    _replace_adapter(rd, write)


def save_initial_adapter(trainer, rd: RunDir) -> None:
    """PiSSA/OLoRA: the adapter as initialised, before any step; what converts it back to a plain LoRA.
    A resumed run keeps the first one (its base was decomposed from the same weights)."""
    from cockpit.merge.pissa import INITIAL_ADAPTER

    initial = rd.path / INITIAL_ADAPTER
    if initial.is_dir():
        return
    tmp = rd.path / f".{INITIAL_ADAPTER}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    trainer.model.save_pretrained(str(tmp))
    tmp.rename(initial)


def adapter_from_checkpoint(ckpt: Path, rd: RunDir) -> None:
    """The adapter of a checkpoint (the best evaluation's, when an eval guard stopped the run), without the
    optimizer and scheduler states around it."""

    def write(tmp: Path) -> None:
        tmp.mkdir()
        for f in ckpt.iterdir():
            if f.is_file() and not f.name.startswith(
                ("optimizer", "scheduler", "rng_state", "trainer_state", "training_args")
            ):
                shutil.copy2(f, tmp / f.name)

    _replace_adapter(rd, write)


def _replace_adapter(rd: RunDir, write) -> None:
    tmp = rd.path / f".adapter.tmp-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    try:
        write(tmp)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if rd.adapter.exists():
        old = rd.path / f".adapter.old-{int(time.time())}"
        rd.adapter.rename(old)
        tmp.rename(rd.adapter)
        shutil.rmtree(old, ignore_errors=True)
    else:
        tmp.rename(rd.adapter)
