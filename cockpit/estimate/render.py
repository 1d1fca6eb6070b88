"""The estimate as text (one line per part) and as JSON (`cockpit estimate --json`)."""

from __future__ import annotations

from typing import Any

from cockpit.estimate.fit import Change
from cockpit.estimate.parts import FREE_REQUIRED, FREE_WANTED, Estimate


def size(b: float) -> str:
    return f"{b / 2**30:.2f} GiB" if abs(b) >= 2**30 else f"{b / 2**20:.1f} MiB"


def text(est: Estimate, change: Change | None, model: str) -> str:
    d = est.device
    lines = [f"memory estimate for {model} on {d.name}  (shapes from {est.shape.source})"]
    for p in est.parts:
        lines.append(f"  {p.label:<22} {size(p.bytes):>11}   {p.detail}")
    lines.append(f"  {'total':<22} {size(est.total):>11}   {est.ratio:.0%} of {size(d.capacity)} ({d.capacity_source})")
    lines.append(f"verdict: {est.verdict}" + _why(est))
    if change is not None:
        lines.append(
            f"smallest change that fits: {change.flags}  ({size(change.estimate.total)}, {change.estimate.ratio:.0%})"
        )
    elif est.verdict != "fits":
        lines.append("no micro-batch, gradient checkpointing or 4-bit change fits this device")
    lines += [f"note: {n}" for n in est.notes]
    return "\n".join(lines)


def _why(est: Estimate) -> str:
    free = 1 - est.ratio
    if est.verdict == "fits":
        return f" ({free:.0%} free; the tuning notes want {FREE_WANTED:.0%})"
    if est.verdict == "tight":
        return f" (only {free:.0%} free; the tuning notes want {FREE_WANTED:.0%})"
    return (
        f" ({'over the device' if free < 0 else f'only {free:.0%} free'}; at least {FREE_REQUIRED:.0%} must stay free)"
    )


def as_json(est: Estimate, change: Change | None, model: str) -> dict[str, Any]:
    d = est.device
    return {
        "model": model,
        "shapes_from": est.shape.source,
        "device": {
            "kind": d.kind,
            "name": d.name,
            "capacity": d.capacity,
            "capacity_source": d.capacity_source,
            "overhead": d.overhead,
            "overhead_source": d.overhead_source,
        },
        "params": {"total": est.params_total, "trainable": est.params_trainable},
        "tokens_per_micro_batch": est.tokens,
        "parts": {p.key: p.bytes for p in est.parts},
        "details": {p.key: p.detail for p in est.parts},
        "total": est.total,
        "ratio": round(est.ratio, 4),
        "verdict": est.verdict,
        "free_wanted": FREE_WANTED,
        "free_required": FREE_REQUIRED,
        "smallest_change": None
        if change is None
        else {
            "set": change.sets,
            "flags": change.flags,
            "total": change.estimate.total,
            "ratio": round(change.estimate.ratio, 4),
        },
        "notes": est.notes,
    }
