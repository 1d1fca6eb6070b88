"""Drop reactive watchers that belong to removed widgets.

Textual (8.x) registers a watcher on the Footer for every FooterKey it composes (`data_bind(compact=...)`)
and prunes the watchers of removed widgets only when the watched value changes, which for the footer's
`compact` is never. Every footer rebuild (a state change greys a key out, focus moves) therefore kept a
dozen dead FooterKey widgets alive: ~0.3 MB per rebuild, 200 MB over a 30-minute soak. The screen calls
this every few seconds; `tests/test_tui.py` checks that dead keys no longer pile up, so a Textual that
stores watchers elsewhere fails loudly instead of leaking quietly.
"""

from __future__ import annotations

from typing import Any


def drop_closed_watchers(node: Any) -> int:
    """Remove the watchers on `node` whose owner has been removed; returns how many."""
    watchers = getattr(node, "__watchers", None)
    if not isinstance(watchers, dict):
        return 0
    dropped = 0
    for pairs in watchers.values():
        keep = [
            (owner, cb)
            for owner, cb in pairs
            if not (getattr(owner, "_closing", False) or getattr(owner, "_closed", False))
        ]
        dropped += len(pairs) - len(keep)
        pairs[:] = keep
    return dropped
