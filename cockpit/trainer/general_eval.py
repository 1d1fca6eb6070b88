"""GeneralEvalCallback: the loss on the shipped general set at each evaluation (`general_eval_loss`).

A fine-tune can lower the task's loss while the model forgets what it knew; this measures that cost.
Usage: `SFTTrainer(..., callbacks=[GeneralEvalCallback(cfg, events), *cockpit_callbacks(...)])`, this
one first: it adds `general_eval_loss` to the evaluation's logs, which the step-events callback writes as
the `eval` event. The reference is the base model's value: the step-0 evaluation when `eval_on_start` is set,
otherwise one measurement before the first step, written as an `eval` event of its own at step 0.

Args:
    cfg: the run config; `data.general_eval_rows` rows are measured (0: this callback does nothing).
    events: the run's EventWriter on world zero (None on other ranks).

The loss is the mean cross-entropy per answer token (the prompt is masked, as in training), computed
without gradients in batches of `BATCH`, in eval mode (no dropout). Every rank computes it (a sharded
model needs every rank in its forward); only world zero writes.
"""

from __future__ import annotations

import sys
import time
from typing import Any

import torch
from transformers import TrainerCallback

BATCH = 8
"""Rows per forward: the logits of 8 x ~60 tokens x a 49k vocabulary are ~100 MB in fp32."""


class GeneralEvalCallback(TrainerCallback):
    def __init__(self, cfg, events):
        self.cfg, self.events = cfg, events
        self.n_rows = cfg.data.general_eval_rows
        self._encoded: list[tuple[list[int], int]] | None = None
        self.failed: str | None = None
        self.seconds = 0.0  # the last measurement's wall time

    def _active(self, args) -> bool:
        return self.n_rows > 0 and self.failed is None and getattr(args, "eval_strategy", "no") != "no"

    def on_train_begin(self, args, state, control, model=None, processing_class=None, **kwargs):
        evals_at_start = bool(getattr(args, "eval_on_start", False))
        if not self._active(args) or state.global_step > 0 or evals_at_start or model is None:
            return
        loss = self.measure(model, processing_class)
        if loss is not None and self.events is not None:
            self.events.write(
                "eval", step=0, epoch=0.0, general_eval_loss=loss, general_eval_runtime=round(self.seconds, 4)
            )

    def on_log(self, args, state, control, logs=None, model=None, processing_class=None, **kwargs):
        if logs is None or "eval_loss" not in logs or not self._active(args) or model is None:
            return
        loss = self.measure(model, processing_class)
        if loss is not None:
            logs["general_eval_loss"] = loss  # read by the step-events callback after this one
            logs["general_eval_runtime"] = round(self.seconds, 4)  # its cost, as eval_runtime is the task's

    def measure(self, model, tokenizer) -> float | None:
        """The mean answer-token loss on the general rows; None (and said once) when it cannot be had."""
        try:
            if self._encoded is None:
                from cockpit.general import eval_rows

                self._encoded = encode(eval_rows(self.n_rows), tokenizer, self.cfg.training.max_length)
            t0 = time.perf_counter()
            loss = answer_loss(model, self._encoded, tokenizer.pad_token_id)
            self.seconds = time.perf_counter() - t0
            return loss
        except Exception as e:  # noqa: BLE001 - a measurement must never take the run down
            self.failed = f"{type(e).__name__}: {e}"
            print(f"[cockpit] general eval loss turned off: {self.failed}", file=sys.stderr, flush=True)
            return None


def encode(rows: list[dict[str, Any]], tokenizer, max_length: int) -> list[tuple[list[int], int]]:
    """(token ids, prompt length) per row, with the model's chat template, as the trainer renders them."""
    out = []
    for row in rows:
        prompt = tokenizer.apply_chat_template(row["prompt"], tokenize=False, add_generation_prompt=True)
        full = tokenizer.apply_chat_template(row["prompt"] + row["completion"], tokenize=False)
        p_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
        ids = tokenizer(full, add_special_tokens=False)["input_ids"]
        n_prompt = 0  # the shared prefix: templates that re-render the prompt differently still mask it
        while n_prompt < min(len(p_ids), len(ids)) and p_ids[n_prompt] == ids[n_prompt]:
            n_prompt += 1
        ids = ids[:max_length]
        if len(ids) > n_prompt:
            out.append((ids, n_prompt))
    return out


def answer_loss(model, encoded: list[tuple[list[int], int]], pad_id: int | None) -> float:
    """Cross-entropy per answer token over `encoded`, in eval mode, without gradients."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    pad = 0 if pad_id is None else int(pad_id)
    total, count = 0.0, 0
    order = sorted(range(len(encoded)), key=lambda i: len(encoded[i][0]))  # similar lengths: less padding
    try:
        with torch.no_grad():
            for b in range(0, len(order), BATCH):
                batch = [encoded[i] for i in order[b : b + BATCH]]
                width = max(len(ids) for ids, _ in batch)
                ids = torch.full((len(batch), width), pad, dtype=torch.long)
                mask = torch.zeros((len(batch), width), dtype=torch.long)
                labels = torch.full((len(batch), width), -100, dtype=torch.long)
                for r, (row, n_prompt) in enumerate(batch):
                    ids[r, : len(row)] = torch.tensor(row)
                    mask[r, : len(row)] = 1
                    labels[r, n_prompt : len(row)] = ids[r, n_prompt : len(row)]
                logits = model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits.float()
                shifted = labels[:, 1:].to(device)
                ce = torch.nn.functional.cross_entropy(
                    logits[:, :-1].reshape(-1, logits.shape[-1]),
                    shifted.reshape(-1),
                    ignore_index=-100,
                    reduction="sum",
                )
                total += float(ce)
                count += int((shifted != -100).sum())
    finally:
        if was_training:
            model.train()
    return total / max(1, count)
