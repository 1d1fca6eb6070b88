"""The few torch.distributed operations the cockpit needs. All are no-ops in a single process.

Rank 0 reads the control file; the commands it read are broadcast at every step boundary so that all
ranks apply them at the same step (a pause, an lr change and a stop must not drift between ranks).
"""

from __future__ import annotations

import os
from typing import Any


def _initialized() -> bool:
    try:
        import torch.distributed as td
    except ImportError:
        return False
    return td.is_available() and td.is_initialized()


def world_size() -> int:
    if _initialized():
        import torch.distributed as td

        return td.get_world_size()
    return int(os.environ.get("WORLD_SIZE", "1"))


def rank() -> int:
    if _initialized():
        import torch.distributed as td

        return td.get_rank()
    return int(os.environ.get("RANK", "0"))


def is_world_zero() -> bool:
    return rank() == 0


def broadcast(obj: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rank 0's list, on every rank. Skipped (free) when there is one process."""
    if not _initialized() or world_size() == 1:
        return obj
    import torch.distributed as td

    box = [obj if rank() == 0 else None]
    td.broadcast_object_list(box, src=0)
    return box[0] or []


def gather_mem(value: float | None) -> list[float | None] | None:
    """Every rank's memory reading, on every rank (only at logging steps)."""
    if not _initialized() or world_size() == 1:
        return None
    import torch.distributed as td

    out: list[Any] = [None] * world_size()
    td.all_gather_object(out, value)
    return out
