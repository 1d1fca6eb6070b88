"""The base every config section shares, and the sentinel names of the built-in demo model and data."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

DEMO_MODEL = "demo:tiny-llama"
"""Sentinel model id: the tiny Llama built locally by `cockpit.demo` (no network)."""
DEMO_DATA = "demo:instructions"
"""Sentinel data path: the instruction JSONL that ships inside the package."""


class Section(BaseModel):
    """Base of every config section: unknown keys are errors (typos must not pass silently)."""

    # defer_build: a section's validator is built when first used, so reading a log (which needs only the
    # thresholds) does not pay for building the whole config schema at import.
    model_config = ConfigDict(extra="forbid", validate_assignment=True, defer_build=True)
