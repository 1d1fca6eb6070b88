"""Severities: their order, their symbol and their colour, the same in the cockpit, diagnose, the report
and the data audit.

Every severity has a symbol as well as a colour, so it reads on a 16-colour terminal, in a Markdown file
and for colour-blind users.
"""

from __future__ import annotations

from collections.abc import Iterable

SEVERITIES = ("ok", "warn", "danger", "critical")
"""Mildest first. The data audit uses the first three; a critical finding stops a run."""

RANK = {s: i for i, s in enumerate(SEVERITIES)}
"""Severity -> its place in SEVERITIES (0 for ok): larger is graver."""

ICON = {"ok": "✓", "warn": "▲", "danger": "✖", "critical": "☠"}

THEME_VARIABLE = {"ok": "success", "warn": "warning", "danger": "error", "critical": "error"}
"""The Textual theme variable a severity is drawn in (its colour comes from the theme)."""


def worst(severities: Iterable[str], default: str = "ok") -> str:
    """The gravest of severities, or default when there are none."""
    return max(severities, key=RANK.__getitem__, default=default)
