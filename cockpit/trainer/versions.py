"""The versions of the ML stack a run trained with, for its `run_started` event."""

from __future__ import annotations

PACKAGES = ("torch", "transformers", "peft", "trl", "bitsandbytes")


def versions() -> dict[str, str]:
    import importlib.metadata as md

    out: dict[str, str] = {}
    for p in PACKAGES:
        try:
            out[p] = md.version(p)
        except md.PackageNotFoundError:
            pass
    return out
