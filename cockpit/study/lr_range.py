"""Where the lr sweep starts: the notes' range, scaled to the model and the data.

The notes' numbers (5e-5, 1e-4, 2e-4) are for 7B-class models (hidden size 4096) at their example's
effective batch of 32 sequences (4 x 8 accumulation). A narrower model takes a larger step per unit of
update before it diverges, roughly as the square root of the width ratio (a LoRA update's scale grows
with the width it sums over); a larger batch averages away gradient noise and takes a larger lr, roughly
as the square root of the batch ratio. Both are priors for the first three trials only: the sweep then
extends past whichever edge is best (cockpit.study.stage_sweep).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

NOTES_LRS = (5e-5, 1e-4, 2e-4)
NOTES_WIDTH = 4096
NOTES_BATCH = 32


def round_lr(lr: float) -> float:
    """Two significant digits: keys and messages stay readable (2.8e-4, not 2.8284e-4)."""
    return float(f"{lr:.2g}")


def lr_scale(width: int | None, batch: int) -> float:
    """The factor on the notes' range; width None (unknown) scales for the batch only."""
    f = math.sqrt(max(1, batch) / NOTES_BATCH)
    if width:
        f *= math.sqrt(NOTES_WIDTH / width)
    return f


def scaled_lrs(width: int | None, batch: int) -> tuple[float, ...]:
    f = lr_scale(width, batch)
    return tuple(round_lr(lr * f) for lr in NOTES_LRS)


def model_width(name_or_path: str) -> int | None:
    """The hidden size in a local model folder's config.json (no download, no torch); None elsewhere."""
    from cockpit.demo import resolve_model_path

    try:  # the demo model and the known models are in the cache by now (stage 0 read their tokenizer)
        path = Path(resolve_model_path(name_or_path))
    except Exception:  # a failed fetch was reported at the study's start: scale for the batch only
        return None
    try:
        cfg = json.loads((path / "config.json").read_text())
    except (OSError, ValueError):
        return None
    w = cfg.get("hidden_size") or cfg.get("n_embd") or cfg.get("d_model")
    return int(w) if isinstance(w, int) and w > 0 else None
