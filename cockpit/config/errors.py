"""`ConfigError`, and turning pydantic's errors into one message that names the file, line and field."""

from __future__ import annotations

import dataclasses
import difflib
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from cockpit.config.run import RunConfig
from cockpit.thresholds import ThresholdError

SECRET_FIELDS = {"notify.webhook"}
"""Fields whose value an error never quotes (a webhook URL holds its token)."""


class ConfigError(Exception):
    """A config that cannot be used. `str()` is the whole message for the user."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        column: int | None = None,
        field: str | None = None,
    ):
        self.file, self.line, self.column, self.field = file, line, column, field
        where = file or "<config>"
        if line is not None:
            where += f":{line}"
            if column is not None:
                where += f":{column}"
        super().__init__(f"{where}: {message}")


def line_map(text: str) -> dict[tuple[str, ...], int]:
    """Dotted key path -> 1-based line, from the YAML node tree (pydantic only knows paths)."""
    lines: dict[tuple[str, ...], int] = {}

    def walk(node: Any, path: tuple[str, ...]) -> None:
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                key = (*path, str(k.value))
                lines[key] = k.start_mark.line + 1
                walk(v, key)
        elif isinstance(node, yaml.SequenceNode):
            for i, v in enumerate(node.value):
                key = (*path, str(i))
                lines[key] = v.start_mark.line + 1
                walk(v, key)

    try:
        root = yaml.compose(text)
    except yaml.YAMLError:
        return lines
    if root is not None:
        walk(root, ())
    return lines


def _section_fields(loc: tuple[str, ...]) -> list[str]:
    """The valid keys at the parent of `loc` (for 'did you mean')."""
    model: type = RunConfig
    for part in loc[:-1]:
        field = model.model_fields.get(part) if issubclass(model, BaseModel) else None
        if field is None or not isinstance(field.annotation, type):
            return []
        model = field.annotation
    if dataclasses.is_dataclass(model):  # Thresholds
        return [f.name for f in dataclasses.fields(model)]
    return list(model.model_fields) if issubclass(model, BaseModel) else []


def first_error(exc: ValidationError, file: str, lines: dict[tuple[str, ...], int]) -> ConfigError:
    err = exc.errors()[0]
    loc = tuple(str(p) for p in err["loc"])
    cause = (err.get("ctx") or {}).get("error")
    if isinstance(cause, ThresholdError):  # raised by the dataclass as a whole: point at the field itself
        loc = (*loc, cause.field)
        err = {"type": err["type"], "msg": str(cause)}  # the message quotes the value itself
    dotted = ".".join(loc) or "(top level)"
    line = None
    for i in range(len(loc), 0, -1):
        if loc[:i] in lines:
            line = lines[loc[:i]]
            break
    if err["type"] in ("extra_forbidden", "unexpected_keyword_argument"):
        valid = _section_fields(loc)
        close = difflib.get_close_matches(loc[-1], valid, n=1, cutoff=0.6)
        hint = f"; did you mean '{close[0]}'?" if close else (f"; valid keys: {', '.join(valid)}" if valid else "")
        msg = f"unknown key '{dotted}'{hint}"
    else:
        got = err.get("input")
        hide = isinstance(got, dict) or "input" not in err or dotted in SECRET_FIELDS
        got_s = "" if hide else f" (got {got!r})"
        msg = f"{dotted}: {err['msg']}{got_s}"
    more = len(exc.errors()) - 1
    if more:
        msg += f"  [+{more} more error{'s' if more > 1 else ''}]"
    return ConfigError(msg, file=file, line=line, field=dotted)
