"""The one error every reader raises: a path that holds no readable training log."""

from __future__ import annotations


class LogError(Exception):
    """A path that holds no readable training log; the message says what was found and what was expected."""
