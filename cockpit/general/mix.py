"""General replay: interleave a share of general rows into the training rows (data.general_mix).

The share is of the rows trained on: with 259 task rows and general_mix 0.1, 29 general rows are added
(29 / 288 = 10%). The rows, their order and their positions follow the seed, so a run is reproducible
and two runs with the same seed see the same mix. A general set smaller than needed is cycled.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

from cockpit.config import DataConfig
from cockpit.data.load import DataError, load_file
from cockpit.general import REPLAY_PATH


@dataclass(frozen=True)
class Mix:
    """What general replay adds to a run's training rows."""

    share: float
    """data.general_mix."""
    general_rows: int
    """General rows interleaved."""
    task_rows: int
    """Task rows (after the eval split)."""
    source: str
    """The general file the rows come from."""
    available: int
    """Rows in that file (fewer than general_rows: the file was cycled)."""


def general_source(data_cfg: DataConfig) -> str:
    return data_cfg.general_path or str(REPLAY_PATH)


def needed(task_rows: int, share: float) -> int:
    """General rows that make `share` of the mixed set (at least one when share > 0)."""
    if share <= 0 or task_rows <= 0:
        return 0
    return max(1, round(task_rows * share / (1.0 - share)))


def load_general(data_cfg: DataConfig, task_format: str) -> list[dict]:
    """The general rows as TRL rows; DataError naming data.general_path and the file:line otherwise."""
    source = general_source(data_cfg)
    if task_format == "text":
        raise DataError(
            "data.general_mix: the task data is plain text (data.format: text) and general rows are "
            "conversations; mix general rows into chat or instruction data, or set general_mix: 0"
        )
    if not Path(source).exists():
        raise DataError(f"data.general_path: {source}: file not found")
    try:
        rows, _, fmt, _ = load_file(source, "auto", None, data_cfg.skip_bad)
    except DataError as e:
        raise DataError(f"data.general_path: {e}", e.problems) from None
    if fmt == "text":
        raise DataError(
            f"data.general_path: {source}: rows are plain text; general rows must be conversations "
            "(messages) or instruction/output rows, like the task's"
        )
    return rows


def mix_in(rows: list[dict], data_cfg: DataConfig, task_format: str, seed: int) -> tuple[list[dict], Mix | None]:
    """The training rows with general rows interleaved at seeded positions, and what was added."""
    n = needed(len(rows), data_cfg.general_mix)
    if n == 0:
        return rows, None
    general = load_general(data_cfg, task_format)
    rng = random.Random(seed)
    order: list[int] = []
    while len(order) < n:  # each pass over the general set is its own shuffle
        block = list(range(len(general)))
        rng.shuffle(block)
        order.extend(block)
    picked = [general[i] for i in order[:n]]
    total = len(rows) + n
    slots = set(rng.sample(range(total), n))
    task_it, gen_it = iter(rows), iter(picked)
    mixed = [next(gen_it) if i in slots else next(task_it) for i in range(total)]
    return mixed, Mix(
        share=data_cfg.general_mix,
        general_rows=n,
        task_rows=len(rows),
        source=general_source(data_cfg),
        available=len(general),
    )


def describe(mix: Mix | None) -> str:
    """One line for check-data and the run's start."""
    if mix is None:
        return "general replay: off (data.general_mix: 0)"
    cycled = f", cycled: the file has {mix.available}" if mix.available < mix.general_rows else ""
    return (
        f"general replay: {mix.general_rows} general rows mixed into {mix.task_rows} task rows "
        f"({mix.general_rows / (mix.general_rows + mix.task_rows):.0%}, data.general_mix {mix.share:g}) "
        f"from {mix.source}{cycled}"
    )
