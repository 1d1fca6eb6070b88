"""Where a step's time goes before the model sees the batch: waiting for the data loader, and padding.

The tuning notes' step-time signals: step times that vary with sequence length without packing mean
padding (group by length, or pack); a step that waits for its batch means a starved data loader (more
workers). The Trainer fetches each step's micro-batches in `get_batch_samples`: timing that call and
counting the pad positions in what it returns costs nothing the benchmark can see.
"""

from __future__ import annotations

import time


class BatchStatsMixin:
    """Mixed into the SFTTrainer: sums since the last logged step, read and reset by the callback."""

    def get_batch_samples(self, epoch_iterator, num_batches, device):
        t0 = time.perf_counter()
        batches, num_items = super().get_batch_samples(epoch_iterator, num_batches, device)
        stats = self.__dict__.setdefault("batch_stats", {"wait": 0.0, "steps": 0, "tokens": 0, "pad": 0})
        stats["wait"] += time.perf_counter() - t0
        stats["steps"] += 1
        for batch in batches:
            mask = batch.get("attention_mask") if isinstance(batch, dict) else None
            if mask is None:
                continue  # packed or padding-free: nothing is padding
            stats["tokens"] += mask.numel()
            # Kept as a tensor on the batch's device: a GPU batch is summed here without a host sync, which
            # happens once, at the logging step (take_batch_stats).
            stats["pad"] = stats["pad"] + (mask.numel() - mask.sum())
        return batches, num_items

    def take_batch_stats(self) -> dict[str, float | None]:
        """data_wait (s per optimizer step) and pad_share (of the batch positions) since the last call."""
        stats = self.__dict__.get("batch_stats")
        if not stats or not stats["steps"]:
            return {"data_wait": None, "pad_share": None}
        out = {
            "data_wait": stats["wait"] / stats["steps"],
            "pad_share": float(stats["pad"]) / stats["tokens"] if stats["tokens"] else None,
        }
        self.batch_stats = {"wait": 0.0, "steps": 0, "tokens": 0, "pad": 0}
        return out
