"""The trainer, assembled from a run's config: model, LoRA, data, the Trainer and the cockpit's callbacks.

    trainer, run_control, info = assemble(rd, cfg, events, resume=False)

`info` is the `run_started` event's body. Everything heavy happens here, in the order a reader would do
it by hand; the trainer's main imports this module only once the run directory and config are checked.
"""

from __future__ import annotations

import math
import os
import socket

import torch

from cockpit.config import RunConfig
from cockpit.rundir import EventWriter, RunDir
from cockpit.trainer import build, dist
from cockpit.trainer.adapter import save_initial_adapter
from cockpit.trainer.callbacks import RunControl, cockpit_callbacks
from cockpit.trainer.general_eval import GeneralEvalCallback
from cockpit.trainer.memory import make_reader
from cockpit.trainer.sft_trainer import CockpitSFTTrainer
from cockpit.trainer.versions import process_facts, versions


def assemble(rd: RunDir, cfg: RunConfig, events: EventWriter | None, resume: bool, control_offset: int = 0):
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
    run_control = RunControl(rd, cfg, events, control_offset=control_offset)
    run_control.install_sigterm()
    # The general eval first: it adds general_eval_loss to the evaluation's logs the step events write.
    callbacks = [
        GeneralEvalCallback(cfg, events),
        *cockpit_callbacks(
            run_control,
            mem_reader,
            mem_kind,
            sample_fn=build.make_sampler(cfg) if cfg.samples.prompts else None,
            device_index=idx,
        ),
    ]
    trainer = CockpitSFTTrainer(
        model=model,
        args=args,
        train_dataset=train_ds,
        eval_dataset=eval_ds,
        processing_class=tokenizer,
        peft_config=peft_config,
        callbacks=callbacks,
    )
    if cfg.lora.loraplus_lr_ratio is not None:
        trainer.optimizer = build.loraplus_optimizer(cfg, trainer.model, args)
    if cfg.lora.changes_base_at_init and dist.is_world_zero():
        save_initial_adapter(trainer, rd)
    trainer.on_save_failed = run_control.save_failed
    trainer.on_save_recovered = run_control.save_recovered
    run_control.trainer = trainer
    trainable, total = build.param_counts(trainer.model)
    info = {
        "config": cfg.model_dump(mode="json"),
        "pid": int(os.environ.get("COCKPIT_SUPERVISOR_PID", os.getpid())),
        "trainer_pid": os.getpid(),
        "host": socket.gethostname(),
        "device": build.device_label(idx),
        "world_size": dist.world_size(),
        "total_steps": total_steps(trainer, len(train_ds)),
        "trainable_params": trainable,
        "total_params": total,
        "train_rows": len(train_ds),
        "eval_rows": len(eval_ds) if eval_ds is not None else 0,
        "skipped_rows": loaded.skipped,
        "general_rows": loaded.general_mix.general_rows if loaded.general_mix else 0,
        "mem_kind": mem_kind,
        "quantized": cfg.model.quantization
        if getattr(model, "is_loaded_in_4bit", False) or getattr(model, "is_loaded_in_8bit", False)
        else None,
        "model_path": model_path,
        "resumed_from": str(rd.latest_checkpoint()) if resume and rd.latest_checkpoint() else None,
        "versions": versions(),
        **process_facts(),
        "method": "sft",  # our trainer is TRL's SFTTrainer: the advisor reads the run as SFT (cockpit.run_kind)
    }
    return trainer, run_control, info


def total_steps(trainer, n_rows: int) -> int:
    a = trainer.args
    if a.max_steps and a.max_steps > 0:
        return int(a.max_steps)
    per_step = a.per_device_train_batch_size * a.gradient_accumulation_steps * dist.world_size()
    return int(math.ceil(n_rows / per_step) * a.num_train_epochs)
