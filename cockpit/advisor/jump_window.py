"""The loss_jump reference window, shared by the trainer's guard and the advisor's rule. No imports: the
advisor's readers must not pay for the config schema the guard reads."""

from __future__ import annotations


def jump_window(mixed: bool) -> tuple[int, int]:
    """(points in the loss_jump reference, fewest before it judges). A run with data.general_mix logs a
    bimodal loss: a batch that draws general rows logs the general set's loss, several times a learnt
    task's, and the median of ten would stop a healthy run. Its reference is the highest of the last 50
    instead, judged from 20 on: a window of 50 with no general batch at mix 0.1 (a third of 4-row
    batches draw one) is a one-in-10^9 event, where one of 10 happened every few hundred steps."""
    return (50, 20) if mixed else (10, 5)
