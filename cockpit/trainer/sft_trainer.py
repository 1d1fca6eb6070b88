"""The Trainer class the cockpit trains with."""

from __future__ import annotations

from cockpit.trainer.atomic import AtomicCheckpointSFTTrainer
from cockpit.trainer.batch_stats import BatchStatsMixin


class CockpitSFTTrainer(BatchStatsMixin, AtomicCheckpointSFTTrainer):
    """TRL's SFTTrainer with atomic checkpoints and the step's data-wait and padding figures."""
