"""Which events deserve to reach a person who is not watching, and what to tell them.

One rule for every channel: the trainer's notifier (command, webhook, desktop) and the attached
cockpit's bell read the same `alert_for`. Plain Python: the cockpit imports it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

END_STATES = ("crashed", "finished", "stopped")


@dataclass(frozen=True)
class Alert:
    kind: str
    """guard | crashed | finished | stopped | threshold: what `notify.on` selects."""
    key: str
    """What the rate limit counts per: one grad_norm crossing every few minutes, not one a step."""
    text: str
    """One line for a person: the run, what happened, at which step."""
    step: int | None = None
    final: bool = False
    """The run's end: always sent, never rate-limited."""


def alert_for(ev: dict[str, Any], run: str, grad_norm_danger: float) -> Alert | None:
    kind, step = ev.get("kind"), ev.get("step")
    at = f" at step {step}" if isinstance(step, int) else ""
    if kind == "state" and ev.get("state") in END_STATES:
        state = ev["state"]
        why = f": {ev['reason']}" if ev.get("reason") else ""
        icon = {"crashed": "✖", "finished": "✔", "stopped": "■"}[state]
        return Alert(state, state, f"{icon} {run} {state}{at}{why}", step, final=True)
    if kind == "guard":
        return Alert(
            "guard",
            f"guard:{ev.get('rule')}",
            f"⚠ {run}: guard {ev.get('rule')} {ev.get('action')}{at}: {ev.get('message')}",
            step,
        )
    if kind == "metrics":
        loss, gn = ev.get("loss"), ev.get("grad_norm")
        if isinstance(loss, float) and not math.isfinite(loss):
            return Alert("threshold", "threshold:loss", f"⚠ {run}: loss is {loss}{at}", step)
        if isinstance(gn, (int, float)) and not gn <= grad_norm_danger:  # NaN too
            return Alert(
                "threshold",
                "threshold:grad_norm",
                f"⚠ {run}: grad_norm {gn:.3g}{at} is over the danger band ({grad_norm_danger:g})",
                step,
            )
    return None
