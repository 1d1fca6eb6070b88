"""The packaged run config of each known model (what `cockpit demo --model NAME` runs)."""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent

DEMO_CONFIGS = {"smollm2-135m-instruct": HERE / "smollm2-135m-lora.yaml"}
"""Identical copies live in sample_configs/ (a test keeps them equal)."""


def demo_config_for(name: str) -> Path | None:
    return DEMO_CONFIGS.get(name)
