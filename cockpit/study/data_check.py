"""Stage 0's data check, run by the study the way `cockpit check-data` runs it."""

from __future__ import annotations

from typing import Any

from cockpit.config import RunConfig


def run_audit(cfg: RunConfig) -> dict[str, Any]:
    """Stage 0's `cockpit check-data`, as a dict; a refusal (bad rows, no rows) as {"error": ...}."""
    from cockpit.data.audit import audit
    from cockpit.data.load import DataError

    try:
        return audit(cfg).to_dict()
    except DataError as e:
        return {"error": str(e)}
