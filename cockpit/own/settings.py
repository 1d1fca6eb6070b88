"""The stop list's and the samples' settings in a user's script: the config's `guards`, `thresholds` and
`samples` sections, with the same defaults, given to `CockpitCallback(...)` or through the environment.

    COCKPIT_GUARDS="on_explosion=warn,on_loss_jump=off"     any `guards.*` key the config takes
    COCKPIT_SAMPLE_PROMPTS='["Reverse the word.\\nriver"]'   the prompts a `sample` generates from
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

GUARDS_ENV = "COCKPIT_GUARDS"
PROMPTS_ENV = "COCKPIT_SAMPLE_PROMPTS"


class SettingsError(ValueError):
    """A callback argument or environment variable the cockpit cannot take; the message names it."""


def guards_from_env(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            raise SettingsError(f"{GUARDS_ENV}: '{part}' is not KEY=VALUE (e.g. on_explosion=warn)")
        out[key.strip()] = value.strip()
    return out


def prompts_from_env(text: str) -> list[str]:
    try:
        value = json.loads(text)
    except ValueError:
        return [text]  # one prompt, written plainly
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not all(isinstance(p, str) for p in value):
        raise SettingsError(f"{PROMPTS_ENV}: a JSON list of strings, or one prompt as plain text")
    return value


def script_settings(
    guards: Mapping[str, Any], thresholds: Mapping[str, Any], samples: Mapping[str, Any], env=os.environ
):
    """A `RunConfig` holding only what the trainer's callbacks read (guards, thresholds, samples); the
    rest of it is never written anywhere: a user's run has no config of ours."""
    from pydantic import ValidationError

    from cockpit.config import RunConfig

    guards = {**guards, **guards_from_env(env.get(GUARDS_ENV, ""))}
    samples = {"general_prompts": 0, **samples}
    if env.get(PROMPTS_ENV):
        samples["prompts"] = prompts_from_env(env[PROMPTS_ENV])
    try:
        return RunConfig.model_validate({"guards": guards, "thresholds": dict(thresholds), "samples": samples})
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(x) for x in first["loc"])
        raise SettingsError(f"CockpitCallback {where}: {first['msg']}") from None
