"""The SOP's remedies as actions, in its order of preference.

An action's words come from DESCRIPTION where they are fixed; the actions whose words carry the run's
numbers (a step, an lr) write their own.
"""

from __future__ import annotations

from typing import Any

from cockpit.advisor.types import Action

LR_SMALL = 5e-5
"""The lowest lr the SOP's sweep tries (and its stage-7 'lr <= 5e-5'): an lr at or under it is not what
makes gradients overflow."""

DESCRIPTION = {
    "lr_half": "Halve the learning rate now (SOP: the first remedy for gradient trouble).",
    "lr_double": "Double the learning rate now (SOP: flat loss means lr too low).",
    "clipping_on": "Turn gradient clipping on for the next run (SOP: always on).",
    "alpha_down": "Lower lora_alpha for the next run (SOP: after lr x0.5 and clipping; never cut r first).",
    "alpha_up": "Raise lora_alpha for the next run (SOP: loss falling slowly).",
    "dropout_up": "Raise lora_dropout for the next run (SOP: entropy collapsing = overfitting).",
    "memory_down": (
        "Halve the micro-batch (doubling accumulation keeps the effective batch) and turn on gradient "
        "checkpointing for the next run (SOP: keep 10-20% of the GPU free)."
    ),
    "stop": "Stop the run; it keeps its last good checkpoint.",
    "save": "Save a checkpoint now.",
    "structure_targets": "Add k_proj to the adapted modules (SOP stage 7).",
    "structure_rank": "Double the rank, alpha with it (SOP stage 7).",
    "final_run": "The SOP's final-run conditions hold: train the full length with this config and save (stage 8).",
    "lr_half_next": "Halve the learning rate for the next run (resume from the last good checkpoint).",
    "lr_double_next": "Double the learning rate for the next run.",
    "check_data": (
        "Run `cockpit check-data CONFIG` before another run: its template and loss-mask check shows "
        "which tokens carry loss, i.e. the answer span (every label masked, empty answers, truncation "
        "to zero answer tokens); also check that the adapter's weights are trainable (the loss must "
        "reach them). No lr change helps."
    ),
    "packing": (
        "Batches are mostly padding although grouped by length: pack samples into full sequences "
        "(changes what one step holds; compare losses per token, not per step)."
    ),
    "group_by_length": (
        "Batches are mostly padding: batch samples of similar length together (or pack them: "
        "training.packing) so that steps stop paying for pad tokens."
    ),
    "more_workers": "Steps wait for their batches: more data loader workers prepare them in parallel.",
}
"""What each action with fixed words does and why, as the advisor panel, the report and diagnose show it."""


def _action(id: str, label: str, **change: Any) -> Action:
    """The action `id` with its words from DESCRIPTION; `change` is its command or its config_patch."""
    return Action(id, label, DESCRIPTION[id], **change)


def lr_half() -> Action:
    return _action("lr_half", "lr x0.5", command={"cmd": "scale_lr", "value": 0.5})


def lr_double() -> Action:
    return _action("lr_double", "lr x2", command={"cmd": "scale_lr", "value": 2.0})


def clipping_on() -> Action:
    return _action("clipping_on", "max_grad_norm 1.0", config_patch={"training.max_grad_norm": 1.0})


def alpha_down(cfg: dict[str, Any]) -> Action:
    r, alpha = _rank_alpha(cfg)
    new = max(r, alpha / 2)
    return _action("alpha_down", f"lora_alpha {alpha:g} -> {new:g}", config_patch={"lora.lora_alpha": new})


def alpha_up(cfg: dict[str, Any]) -> Action:
    _, alpha = _rank_alpha(cfg)
    return _action("alpha_up", f"lora_alpha {alpha:g} -> {alpha * 2:g}", config_patch={"lora.lora_alpha": alpha * 2})


def dropout_up(cfg: dict[str, Any]) -> Action:
    d, new = _dropout_raised(cfg)
    return _action("dropout_up", f"lora_dropout {d:g} -> {new:g}", config_patch={"lora.lora_dropout": new})


def memory_down(cfg: dict[str, Any]) -> Action:
    bs = _training(cfg).get("per_device_train_batch_size", 4)
    ga = _training(cfg).get("gradient_accumulation_steps", 1)
    new_bs = max(1, bs // 2)
    patch = {
        "training.per_device_train_batch_size": new_bs,
        "training.gradient_accumulation_steps": ga * (bs // new_bs),
        "model.gradient_checkpointing": True,
    }
    return _action("memory_down", f"batch {bs} -> {new_bs}, grad checkpointing", config_patch=patch)


def stop() -> Action:
    return _action("stop", "stop", command={"cmd": "stop"})


def save() -> Action:
    return _action("save", "save", command={"cmd": "save"})


def structure_up(cfg: dict[str, Any]) -> Action:
    targets = _lora(cfg).get("target_modules") or ["q_proj", "v_proj"]
    if isinstance(targets, list) and "k_proj" not in targets:
        return _action("structure_targets", "target q,k,v", config_patch={"lora.target_modules": [*targets, "k_proj"]})
    r, alpha = _rank_alpha(cfg)
    return _action("structure_rank", f"r {r} -> {r * 2}", config_patch={"lora.r": r * 2, "lora.lora_alpha": alpha * 2})


def final_run() -> Action:
    return _action("final_run", "final long run", config_patch={"sop_stage": 8})


def lr_half_next(cfg: dict[str, Any]) -> Action:
    return _action("lr_half_next", "next run: lr x0.5", config_patch=_lr_scaled(cfg, 0.5))


def lr_double_next(cfg: dict[str, Any]) -> Action:
    return _action("lr_double_next", "next run: lr x2", config_patch=_lr_scaled(cfg, 2))


def check_data() -> Action:
    return _action("check_data", "check the data and labels")


def switch_precision(cfg: dict[str, Any], lr: float | None) -> Action:
    """fp16 overflows where bf16 (fp32's range) and fp32 do not."""
    t = _training(cfg)
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
    description = (
        "A numeric failure, not a learning signal: switch precision for the next run (fp16 overflows; "
        f"bf16 or fp32 do not), keep clipping on (max_grad_norm 1.0), check the data for empty answers "
        f"(`cockpit check-data`); {lr_note}."
    )
    return Action("switch_precision", label, description, config_patch=patch)


def keep_best(cfg: dict[str, Any], best_step: int) -> Action:
    d, new = _dropout_raised(cfg)
    description = (
        f"Keep the checkpoint nearest step {best_step}, where eval_loss was lowest (not the last one); "
        f"next run: stop early there (evaluate, stop once eval_loss rises) and raise lora_dropout "
        f"{d:g} -> {new:g} (SOP: overfitting)."
    )
    label = f"keep the best checkpoint (step {best_step}); dropout {d:g} -> {new:g}"
    return Action("keep_best", label, description, config_patch={"lora.lora_dropout": new})


def log_more(step: int) -> Action:
    every = max(1, step // 50)
    description = (
        f"Log every {every} steps (about 50 points over {step} steps) and run long enough to judge: the "
        "SOP reads the loss over 500-1000 steps."
    )
    return Action(
        "log_more", f"next run: logging_steps {every}", description, config_patch={"training.logging_steps": every}
    )


def group_by_length(cfg: dict[str, Any]) -> Action:
    if _training(cfg).get("group_by_length"):
        return _action("packing", "next run: packing on", config_patch={"training.packing": True})
    return _action("group_by_length", "next run: group_by_length on", config_patch={"training.group_by_length": True})


def more_workers(cfg: dict[str, Any]) -> Action:
    n = int(_training(cfg).get("dataloader_num_workers") or 0)
    new = max(2, n * 2)
    label = f"next run: dataloader_num_workers {n} -> {new}"
    return _action("more_workers", label, config_patch={"training.dataloader_num_workers": new})


def _lora(cfg: dict[str, Any]) -> dict[str, Any]:
    return cfg.get("lora") or {}


def _training(cfg: dict[str, Any]) -> dict[str, Any]:
    return cfg.get("training") or {}


def _rank_alpha(cfg: dict[str, Any]) -> tuple[Any, Any]:
    """The configured rank and alpha (r 8 and alpha 2r where unset: the SOP's defaults)."""
    r = _lora(cfg).get("r", 8)
    return r, _lora(cfg).get("lora_alpha") or 2 * r


def _dropout_raised(cfg: dict[str, Any]) -> tuple[float, float]:
    """The configured lora_dropout and the next run's: doubled, at least 0.1 (the SOP's 0.05-0.1 band)."""
    d = _lora(cfg).get("lora_dropout", 0.05)
    return d, round(max(0.1, d * 2), 3)


def _lr_scaled(cfg: dict[str, Any], factor: float) -> dict[str, Any] | None:
    """The next run's learning rate, the configured one times factor; None where none is configured."""
    lr = _training(cfg).get("learning_rate")
    return {"training.learning_rate": lr * factor} if isinstance(lr, (int, float)) else None


def advice(id: str, label: str, description: str) -> Action:
    """Advice in a preference or RL method's own terms (beta, the pairs, the reward function): settings our
    config does not hold, so it carries no config patch."""
    return Action(id, label, description)


def lr_lower(live: bool, cfg: dict[str, Any]) -> Action:
    """lr x0.5: now on a live run of ours, else for the next run."""
    return lr_half() if live else lr_half_next(cfg)


def beta_up(what: str) -> Action:
    """The KL pull toward the reference model up, for the next run (`what`: how the method names beta)."""
    return advice(
        "beta_up",
        "next run: beta up (or lr x0.5)",
        f"Raise beta ({what}) for the next run, or halve the learning rate.",
    )
