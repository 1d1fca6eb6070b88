"""`cockpit ls` rows for logs that are not our run directories (a TensorBoard folder, a W&B run, a
trackio or MLflow store, a trainer_state.json, ...): each read whole, as `diagnose` would read it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cockpit.logs.errors import LogError
from cockpit.logs.loaded import resolve


def foreign_row(path: Path) -> dict[str, Any] | None:
    """The `ls` row of the log at PATH, or None when PATH holds none the cockpit knows."""
    try:
        log = resolve(path)
        if log.ours:
            return None
        h = log.history()
    except (LogError, OSError):
        return None
    t0, t1 = h.first_event_t, h.last_event_t
    return {
        "name": f"{path.name} ({log.kind})",
        "path": str(path),
        "state": h.state,
        "step": h.step if len(h) else None,
        "total": h.total_steps,
        "loss": h.last("loss") if h.has("loss") else None,
        "lr": h.last("learning_rate") if h.has("learning_rate") else None,
        "started": t0,
        "duration": (t1 - t0) if (t0 and t1) else None,
        "note": None,
    }
