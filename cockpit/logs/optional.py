"""A reader that needs a library the base install leaves out asks for it by its install line."""

from __future__ import annotations

from importlib import import_module
from types import ModuleType

from cockpit.logs.errors import LogError


def need(module: str, extra: str, what: str) -> ModuleType:
    """Import MODULE, or refuse with the `pip install` line that brings it (the extra EXTRA)."""
    try:
        return import_module(module)
    except ImportError as e:
        raise LogError(
            f"reading {what} needs the '{extra}' extra, which is not installed ({e.name or module} is missing): "
            f"pip install 'lora-cockpit[{extra}]'"
        ) from None
