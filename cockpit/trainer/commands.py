"""Reading the control file and changing the learning rate live.

The control file is append-only; the trainer keeps it open and reads only what is new at each step
boundary (no reopen, no re-read: one `read()` that usually returns nothing).
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

from cockpit.lr import MIN_LR, check_lr_value
from cockpit.rundir import COMMANDS, merge_value_problem, parse_command

UNREADABLE = "<unreadable>"
"""What a control line that is not a command reads as: acked refused (with an empty id), never applied."""


class CommandReader:
    """Yields new, parsed commands from control.jsonl; a torn last line waits for its end.

    `offset`: where this trainer's commands begin. A resumed trainer starts at the size the file had
    when its process started: everything before was meant for an earlier trainer (and was acked, or
    refused, or sent to a dead one) and must not be applied again."""

    def __init__(self, path: Path, offset: int = 0):
        self.path = path
        self._f = open(path, "a+b")
        self._f.seek(offset)
        self._partial = b""
        self.bad_lines = 0

    def poll(self) -> list[dict[str, Any]]:
        chunk = self._f.read()
        if not chunk:
            return []
        data = self._partial + chunk
        lines = data.split(b"\n")
        self._partial = lines.pop()
        out = []
        for raw in lines:
            if not raw.strip():
                continue
            cmd = parse_command(raw)
            if cmd is None:
                self.bad_lines += 1
                out.append({"id": "", "cmd": UNREADABLE, "raw": raw[:200].decode("utf-8", "replace")})
            else:
                out.append(cmd)
        return out

    def close(self) -> None:
        self._f.close()


def validate(cmd: dict[str, Any], now: float | None = None) -> str | None:
    """Why a command cannot be applied (a reason for the ack), or None when it is well-formed and
    still wanted. Commands the trainer makes itself (SIGTERM, guards) are `internal` and always valid."""
    name = cmd.get("cmd")
    if cmd.get("internal"):
        return None
    if name == UNREADABLE:
        return "an unreadable line (not JSON, nested too deeply, or no 'cmd'): not applied"
    if not isinstance(cmd.get("id"), str) or not cmd["id"]:
        return "the command has no 'id': every command needs one, so that its one ack can be matched"
    expires = cmd.get("expires")
    if expires is not None:
        if isinstance(expires, bool) or not isinstance(expires, (int, float)) or not math.isfinite(expires):
            return f"expires {expires!r} is not a unix time"
        now = time.time() if now is None else now
        if now > expires:
            return f"expired {now - expires:.0f}s before the trainer read it (its sender stopped waiting); not applied"
    if name not in COMMANDS:
        return f"unknown command '{name}' (known: {', '.join(COMMANDS)})"
    if name == "merge":
        return merge_value_problem(cmd.get("value"))
    if name in ("set_lr", "scale_lr"):
        v = cmd.get("value")
        if isinstance(v, bool):
            return f"value {v!r} is not a number"
        if not isinstance(v, (int, float)):
            try:
                v = float(v)  # a hand-written "1e-4" string is fine
            except (TypeError, ValueError):
                return f"value {v!r} is not a number"
        try:
            check_lr_value("set" if name == "set_lr" else "scale", float(v))
        except ValueError as e:
            return str(e)
        cmd["value"] = float(v)
    return None


def scaled_lr_problem(optimizer, scheduler, factor: float) -> str | None:
    """A factor that would take the lr below anything that trains (x0.001 twice, say). Judged on the
    schedule's peak (its base rate), not on a warm-up's or a decay's momentary value."""
    base = getattr(scheduler, "base_lrs", None)
    new = (float(base[0]) if base else current_lr(optimizer)) * factor
    if 0 < new < MIN_LR:
        return f"lr x{factor:g} would give {new:.3g}, under {MIN_LR:g}: nothing would train"
    return None


def current_lr(optimizer) -> float:
    return float(optimizer.param_groups[0]["lr"])


def apply_lr(optimizer, scheduler, *, new_lr: float | None = None, factor: float | None = None) -> tuple[float, float]:
    """Change the lr now and for the rest of the schedule. Returns (old, new) of the first group.

    The scheduler recomputes lr from `base_lrs` at every step, so scaling only the optimizer groups
    would be undone one step later; `_last_lr` is what the Trainer logs as `learning_rate`."""
    old = current_lr(optimizer)
    if factor is None:
        if old > 0 and math.isfinite(old):
            factor = float(new_lr) / old
        else:
            factor = None
    if factor is not None:
        for g in optimizer.param_groups:
            g["lr"] = g["lr"] * factor
        if scheduler is not None and hasattr(scheduler, "base_lrs"):
            scheduler.base_lrs = [b * factor for b in scheduler.base_lrs]
    else:
        # lr is 0 (warmup start or end of a decay): there is nothing to scale, so set the peak. Groups
        # keep their ratios to the first (LoRA+ trains B at a multiple of A's lr).
        base = list(
            getattr(scheduler, "base_lrs", None) or [g.get("initial_lr", g["lr"]) for g in optimizer.param_groups]
        )
        ratios = [b / base[0] if base[0] else 1.0 for b in base] if base else []
        ratios += [1.0] * (len(optimizer.param_groups) - len(ratios))
        for g, k in zip(optimizer.param_groups, ratios):
            g["lr"] = float(new_lr) * k
        if scheduler is not None and hasattr(scheduler, "base_lrs"):
            scheduler.base_lrs = [float(new_lr) * k for k in ratios[: len(scheduler.base_lrs)]]
    if scheduler is not None:
        scheduler._last_lr = [g["lr"] for g in optimizer.param_groups]
    return old, current_lr(optimizer)
