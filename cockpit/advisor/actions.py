"""The SOP's remedies as actions, in its order of preference."""

from __future__ import annotations

from typing import Any

from cockpit.advisor.types import Action


def lr_half() -> Action:
    return Action(
        "lr_half",
        "lr x0.5",
        "Halve the learning rate now (SOP: the first remedy for gradient trouble).",
        command={"cmd": "scale_lr", "value": 0.5},
    )


def lr_double() -> Action:
    return Action(
        "lr_double",
        "lr x2",
        "Double the learning rate now (SOP: flat loss means lr too low).",
        command={"cmd": "scale_lr", "value": 2.0},
    )


def clipping_on() -> Action:
    return Action(
        "clipping_on",
        "max_grad_norm 1.0",
        "Turn gradient clipping on for the next run (SOP: always on).",
        config_patch={"training.max_grad_norm": 1.0},
    )


def alpha_down(cfg: dict[str, Any]) -> Action:
    r = _lora(cfg).get("r", 8)
    alpha = _lora(cfg).get("lora_alpha") or 2 * r
    new = max(r, alpha / 2)
    return Action(
        "alpha_down",
        f"lora_alpha {alpha:g} -> {new:g}",
        "Lower lora_alpha for the next run (SOP: after lr x0.5 and clipping; never cut r first).",
        config_patch={"lora.lora_alpha": new},
    )


def alpha_up(cfg: dict[str, Any]) -> Action:
    r = _lora(cfg).get("r", 8)
    alpha = _lora(cfg).get("lora_alpha") or 2 * r
    return Action(
        "alpha_up",
        f"lora_alpha {alpha:g} -> {alpha * 2:g}",
        "Raise lora_alpha for the next run (SOP: loss falling slowly).",
        config_patch={"lora.lora_alpha": alpha * 2},
    )


def dropout_up(cfg: dict[str, Any]) -> Action:
    d = _lora(cfg).get("lora_dropout", 0.05)
    new = round(max(0.1, d * 2), 3)
    return Action(
        "dropout_up",
        f"lora_dropout {d:g} -> {new:g}",
        "Raise lora_dropout for the next run (SOP: entropy collapsing = overfitting).",
        config_patch={"lora.lora_dropout": new},
    )


def memory_down(cfg: dict[str, Any]) -> Action:
    bs = (cfg.get("training") or {}).get("per_device_train_batch_size", 4)
    ga = (cfg.get("training") or {}).get("gradient_accumulation_steps", 1)
    new_bs = max(1, bs // 2)
    return Action(
        "memory_down",
        f"batch {bs} -> {new_bs}, grad checkpointing",
        "Halve the micro-batch (doubling accumulation keeps the effective batch) and turn on gradient "
        "checkpointing for the next run (SOP: keep 10-20% of the GPU free).",
        config_patch={
            "training.per_device_train_batch_size": new_bs,
            "training.gradient_accumulation_steps": ga * (bs // new_bs),
            "model.gradient_checkpointing": True,
        },
    )


def stop() -> Action:
    return Action("stop", "stop", "Stop the run; it keeps its last good checkpoint.", command={"cmd": "stop"})


def save() -> Action:
    return Action("save", "save", "Save a checkpoint now.", command={"cmd": "save"})


def structure_up(cfg: dict[str, Any]) -> Action:
    lora = _lora(cfg)
    targets = lora.get("target_modules") or ["q_proj", "v_proj"]
    if isinstance(targets, list) and "k_proj" not in targets:
        new = [*targets, "k_proj"]
        return Action(
            "structure_targets",
            "target q,k,v",
            "Add k_proj to the adapted modules (SOP stage 7).",
            config_patch={"lora.target_modules": new},
        )
    r = lora.get("r", 8)
    return Action(
        "structure_rank",
        f"r {r} -> {r * 2}",
        "Double the rank, alpha with it (SOP stage 7).",
        config_patch={"lora.r": r * 2, "lora.lora_alpha": (lora.get("lora_alpha") or 2 * r) * 2},
    )


def final_run() -> Action:
    return Action(
        "final_run",
        "final long run",
        "The SOP's final-run conditions hold: train the full length with this config and save (stage 8).",
        config_patch={"sop_stage": 8},
    )


def _lora(cfg: dict[str, Any]) -> dict[str, Any]:
    return cfg.get("lora") or {}


def lr_half_next(cfg: dict[str, Any]) -> Action:
    lr = (cfg.get("training") or {}).get("learning_rate")
    patch = {"training.learning_rate": lr / 2} if isinstance(lr, (int, float)) else None
    return Action(
        "lr_half_next",
        "next run: lr x0.5",
        "Halve the learning rate for the next run (resume from the last good checkpoint).",
        config_patch=patch,
    )


def lr_double_next(cfg: dict[str, Any]) -> Action:
    lr = (cfg.get("training") or {}).get("learning_rate")
    patch = {"training.learning_rate": lr * 2} if isinstance(lr, (int, float)) else None
    return Action("lr_double_next", "next run: lr x2", "Double the learning rate for the next run.", config_patch=patch)


def check_data() -> Action:
    return Action(
        "check_data",
        "check the data and labels",
        "Run `cockpit check-data CONFIG` before another run: its template and loss-mask check shows "
        "which tokens carry loss, i.e. the answer span (every label masked, empty answers, truncation "
        "to zero answer tokens); also check that the adapter's weights are trainable (the loss must "
        "reach them). No lr change helps.",
    )


def switch_precision(cfg: dict[str, Any], lr: float | None) -> Action:
    """fp16 overflows where bf16 (fp32's range) and fp32 do not."""
    t = cfg.get("training") or {}
    dtype = (cfg.get("model") or {}).get("dtype")
    if t.get("fp16") or dtype == "float16":
        label, patch = "switch precision: fp16 -> bf16", {"training.fp16": False, "training.bf16": True}
        if dtype == "float16":
            patch["model.dtype"] = "bfloat16"
    elif t.get("bf16") or dtype == "bfloat16":
        label, patch = "switch precision: bf16 -> fp32", {"training.bf16": False}
        if dtype == "bfloat16":
            patch["model.dtype"] = "float32"
    else:
        label, patch = "switch precision (bf16 or fp32)", None
    lr_note = (
        f"the lr ({lr:.2g}) is already at or under the sweep's lowest 5e-5: it is not the suspect"
        if lr is not None and lr <= LR_SMALL
        else "then lr x0.5"
    )
    return Action(
        "switch_precision",
        label,
        "A numeric failure, not a learning signal: switch precision for the next run (fp16 overflows; "
        f"bf16 or fp32 do not), keep clipping on (max_grad_norm 1.0), check the data for empty answers "
        f"(`cockpit check-data`); {lr_note}.",
        config_patch=patch,
    )


def keep_best(cfg: dict[str, Any], best_step: int) -> Action:
    d = _lora(cfg).get("lora_dropout", 0.05)
    new = round(max(0.1, d * 2), 3)
    return Action(
        "keep_best",
        f"keep the best checkpoint (step {best_step}); dropout {d:g} -> {new:g}",
        f"Keep the checkpoint nearest step {best_step}, where eval_loss was lowest (not the last one); "
        f"next run: stop early there (evaluate, stop once eval_loss rises) and raise lora_dropout "
        f"{d:g} -> {new:g} (SOP: overfitting).",
        config_patch={"lora.lora_dropout": new},
    )


def log_more(step: int) -> Action:
    every = max(1, step // 50)
    return Action(
        "log_more",
        f"next run: logging_steps {every}",
        f"Log every {every} steps (about 50 points over {step} steps) and run long enough to judge: the "
        "SOP reads the loss over 500-1000 steps.",
        config_patch={"training.logging_steps": every},
    )


LR_SMALL = 5e-5
"""The lowest lr the SOP's sweep tries (and its stage-7 'lr <= 5e-5'): an lr at or under it is not what
makes gradients overflow."""


def group_by_length(cfg: dict[str, Any]) -> Action:
    t = cfg.get("training") or {}
    if t.get("group_by_length"):
        return Action(
            "packing",
            "next run: packing on",
            "Batches are mostly padding although grouped by length: pack samples into full sequences "
            "(changes what one step holds; compare losses per token, not per step).",
            config_patch={"training.packing": True},
        )
    return Action(
        "group_by_length",
        "next run: group_by_length on",
        "Batches are mostly padding: batch samples of similar length together (or pack them: "
        "training.packing) so that steps stop paying for pad tokens.",
        config_patch={"training.group_by_length": True},
    )


def more_workers(cfg: dict[str, Any]) -> Action:
    n = int((cfg.get("training") or {}).get("dataloader_num_workers") or 0)
    new = max(2, n * 2)
    return Action(
        "more_workers",
        f"next run: dataloader_num_workers {n} -> {new}",
        "Steps wait for their batches: more data loader workers prepare them in parallel.",
        config_patch={"training.dataloader_num_workers": new},
    )
