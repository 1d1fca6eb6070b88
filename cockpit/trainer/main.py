"""The trainer process, top to bottom: `python -m cockpit.trainer RUN_DIR [--resume]`.

1. Take the run's writer lock (one trainer per run directory).
2. Read config.yaml; build tokenizer, model, LoRA, data, SFTTrainer with the CockpitCallback.
3. Train. A `stop` (command, SIGTERM or guard) saves and ends `stopped`; the end of the schedule saves
   the adapter and ends `finished`; any exception writes an `error` event and ends `crashed`.
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
import time
import traceback
from pathlib import Path

from cockpit.config import ConfigError, load_config
from cockpit.rundir import EventWriter, LockHeld, RunDir, acquire_lock, control_file_problem, release_lock


def run(run_dir: Path, resume: bool = False) -> int:
    rd = RunDir(run_dir)
    from cockpit.trainer import dist

    zero = dist.is_world_zero()
    events = EventWriter(rd.events) if zero else None
    try:
        if zero and os.environ.get("COCKPIT_SUPERVISED") != "1":
            note = acquire_lock(rd)
            if note:
                print(f"[cockpit] {note}", file=sys.stderr, flush=True)
        problem = control_file_problem(rd.control)
        if problem:
            raise PermissionError(f"refusing to read commands: {problem}")
        cfg = load_config(rd.config, check_paths=True)
    except (LockHeld, ConfigError, PermissionError, OSError) as e:
        print(f"[cockpit] cannot start: {e}", file=sys.stderr, flush=True)
        if events is not None and not isinstance(e, LockHeld):
            events.write("error", message=str(e), traceback=None, step=0)
            events.write("state", state="crashed", step=0, reason=str(e))
        return 2

    step = 0
    callback = trainer = None
    try:
        from cockpit.rundir import last_event

        last_metrics = last_event(rd.events, "metrics") if resume else None
        logged_upto = int(last_metrics.get("step", 0)) if last_metrics else 0
        ckpt_path = rd.latest_checkpoint() if resume else None
        if events is not None:
            if resume:
                events.write("state", state="resumed", step=logged_upto,
                             reason=f"from {ckpt_path.name if ckpt_path else 'scratch'}; steps up to "
                                    f"{logged_upto} are re-trained but not logged twice")
            else:
                events.write("state", state="starting", step=0, reason=_starting_note(cfg))
        trainer, callback, info = _build(rd, cfg, events, resume)
        callback.logged_upto = logged_upto
        if events is not None:
            events.write("run_started", **info)
            events.sync()
        ckpt = str(rd.latest_checkpoint()) if resume and rd.latest_checkpoint() else None
        from cockpit.trainer.callback import StopWhilePaused

        try:
            trainer.train(resume_from_checkpoint=ckpt)
        except StopWhilePaused:
            trainer._save_checkpoint(trainer.model, trial=None)
            callback.on_save(trainer.args, trainer.state, trainer.control)
        step = trainer.state.global_step
        if zero:
            try:
                _save_adapter(trainer, rd)
            except OSError as e:
                callback.save_failed(trainer.state.global_step, f"adapter not saved: {e}")
        outcome = "stopped" if callback.stop_reason else "finished"
        if callback is not None and callback.stop_reason and callback.stop_reason.startswith("guard:"):
            reason = callback.stop_reason
        else:
            reason = callback.stop_reason if callback else None
        if events is not None:
            events.write("state", state=outcome, step=step, reason=reason, adapter=str(rd.adapter),
                         last_good_checkpoint=callback.last_good_checkpoint)
            events.sync()
        # A clean stop is a success for the process: under torchrun a non-zero exit from one rank would
        # make the launcher SIGTERM the others, possibly while rank 0 is still writing the adapter.
        return 0
    except BaseException as e:  # noqa: BLE001 - everything must end as an event, even KeyboardInterrupt
        tb = traceback.format_exc()
        print(tb, file=sys.stderr, flush=True)
        if trainer is not None:
            step = trainer.state.global_step
        if events is not None:
            events.write("error", message=f"{type(e).__name__}: {e}", traceback=tb, step=step)
            if os.environ.get("COCKPIT_SUPERVISED") != "1":
                events.write("state", state="crashed", step=step, reason=f"{type(e).__name__}: {e}")
            # Under the supervisor, rank 0's exception is often only the echo of another rank's death
            # ("connection reset"); the supervisor writes `crashed` once it knows which rank failed.
            events.sync()
        return 3
    finally:
        if callback is not None and callback.reader is not None:
            callback.reader.close()
        if zero and os.environ.get("COCKPIT_SUPERVISED") != "1":
            release_lock(rd)
        if events is not None:
            events.close()


def _build(rd: RunDir, cfg, events, resume: bool):
    """Everything heavy, in the order a reader would do it by hand."""
    import torch

    from cockpit.trainer import build, dist
    from cockpit.trainer.callback import CockpitCallback
    from cockpit.trainer.memory import make_reader

    idx = build.device_index()
    if idx is not None:
        torch.cuda.set_device(idx)
    model_path = build.resolve_model(cfg)
    tokenizer = build.load_tokenizer(cfg, model_path)
    model = build.load_model(cfg, model_path, idx)
    peft_config = build.lora_config(cfg, model)
    train_ds, eval_ds, loaded = build.datasets_for(cfg)
    args = build.sft_config(cfg, rd.checkpoints, idx, has_eval=eval_ds is not None)
    mem_kind, mem_reader = make_reader(idx)
    callback = CockpitCallback(rd, cfg, events, mem_reader, mem_kind,
                               sample_fn=build.make_sampler(cfg) if cfg.samples.prompts else None)
    callback.install_sigterm()
    from cockpit.trainer.atomic import AtomicCheckpointSFTTrainer

    trainer = AtomicCheckpointSFTTrainer(model=model, args=args, train_dataset=train_ds, eval_dataset=eval_ds,
                                         processing_class=tokenizer, peft_config=peft_config, callbacks=[callback])
    trainer.on_save_failed = callback.save_failed
    callback.trainer = trainer
    trainable, total = build.param_counts(trainer.model)
    info = {
        "config": cfg.model_dump(mode="json"),
        "pid": int(os.environ.get("COCKPIT_SUPERVISOR_PID", os.getpid())),
        "trainer_pid": os.getpid(),
        "host": socket.gethostname(),
        "device": build.device_label(idx),
        "world_size": dist.world_size(),
        "total_steps": _total_steps(trainer, len(train_ds)),
        "trainable_params": trainable,
        "total_params": total,
        "train_rows": len(train_ds),
        "eval_rows": len(eval_ds) if eval_ds is not None else 0,
        "skipped_rows": loaded.skipped,
        "mem_kind": mem_kind,
        "quantized": cfg.model.quantization if getattr(model, "is_loaded_in_4bit", False)
        or getattr(model, "is_loaded_in_8bit", False) else None,
        "model_path": model_path,
        "resumed_from": str(rd.latest_checkpoint()) if resume and rd.latest_checkpoint() else None,
        "versions": _versions(),
    }
    return trainer, callback, info


def _starting_note(cfg) -> str:
    from cockpit.config import DEMO_MODEL

    if cfg.model.name_or_path == DEMO_MODEL:
        from cockpit.demo.model import model_dir

        if not (model_dir() / "config.json").exists():
            return "building the demo model (first use only, about a minute)"
    from cockpit.models import starting_note

    return starting_note(cfg.model.name_or_path) or f"loading {cfg.model.name_or_path}"


def _total_steps(trainer, n_rows: int) -> int:
    a = trainer.args
    if a.max_steps and a.max_steps > 0:
        return int(a.max_steps)
    from cockpit.trainer import dist

    per_step = a.per_device_train_batch_size * a.gradient_accumulation_steps * dist.world_size()
    import math

    return int(math.ceil(n_rows / per_step) * a.num_train_epochs)


def _versions() -> dict[str, str]:
    import importlib.metadata as md

    out = {}
    for p in ("torch", "transformers", "peft", "trl", "bitsandbytes"):
        try:
            out[p] = md.version(p)
        except md.PackageNotFoundError:
            pass
    return out


def _save_adapter(trainer, rd: RunDir) -> None:
    """Write adapter/ atomically: a half-written adapter must never look like a finished one."""
    tmp = rd.path / f".adapter.tmp-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    try:
        trainer.model.save_pretrained(str(tmp))
        if trainer.processing_class is not None:
            trainer.processing_class.save_pretrained(str(tmp))
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
