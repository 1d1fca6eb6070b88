"""A run's history folded from its events (`History`), and the column-wise folding of `metrics` events
that makes a long log cheap to read (`prefold`, `MetricsBlock`).

    from cockpit.history import History
    h = History().extend(events)
"""

from cockpit.history.blocks import (
    SERIES_KEYS,
    MetricsBlock,
    cyclic_gc_paused,
    metrics_block,
    prefold,
    prefold_blocks,
)
from cockpit.history.fields import MAX_TIME
from cockpit.history.model import NAN, OPERATOR_KINDS, History, Mark

__all__ = [
    "MAX_TIME",
    "NAN",
    "OPERATOR_KINDS",
    "SERIES_KEYS",
    "History",
    "Mark",
    "MetricsBlock",
    "cyclic_gc_paused",
    "metrics_block",
    "prefold",
    "prefold_blocks",
]
