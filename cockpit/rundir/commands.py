"""control.jsonl: the commands cockpits append for the trainer, one JSON object a line. Each is
answered by exactly one `ack` event with its `id` (docs/CONTRACTS.md)."""

from __future__ import annotations

import os
import time
import uuid
from typing import Any

from cockpit.logs.jsonline import nested_deeper
from cockpit.rundir.events import SCHEMA_VERSION, dumps, load_or_none
from cockpit.rundir.layout import RunDir, open_run_file

COMMANDS = ("pause", "resume", "set_lr", "scale_lr", "save", "stop", "sample", "merge")

COMMAND_TTL = 300.0
"""Seconds a command stays valid when its sender names no expiry: a trainer that reads it later (it was
stopped, hung, or still loading a model) refuses it as expired instead of acting on a stale wish."""


def new_command(cmd: str, value: Any = None, source: str = "cli", ttl: float | None = None) -> dict[str, Any]:
    now = time.time()
    c: dict[str, Any] = {
        "v": SCHEMA_VERSION,
        "t": now,
        "id": uuid.uuid4().hex[:12],
        "cmd": cmd,
        "source": source,
        "expires": now + (COMMAND_TTL if ttl is None else ttl),
    }
    if value is not None:
        c["value"] = value
    return c


def append_command(rd: RunDir, cmd: dict[str, Any]) -> dict[str, Any]:
    """Append one command line with a single O_APPEND write (atomic for lines this short)."""
    line = (dumps(cmd) + "\n").encode()
    fd = open_run_file(rd.control, os.O_CREAT | os.O_WRONLY | os.O_APPEND, 0o600)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)
    return cmd


MERGE_DTYPES = ("fp32", "bf16", "fp16")


def merge_value_problem(value: Any) -> str | None:
    """Why a `merge` command's value cannot be handed to the merge process, or None. The value is empty,
    a dtype (`bf16`), or {"dtype": ..., "out": FOLDER}."""
    if value is None:
        return None
    if isinstance(value, str):
        value = {"dtype": value}
    if not isinstance(value, dict):
        return f"merge value must be a dtype ({', '.join(MERGE_DTYPES)}) or {{dtype, out}}, got {value!r}"
    unknown = set(value) - {"dtype", "out"}
    if unknown:
        return f"merge value has unknown field(s) {', '.join(sorted(map(str, unknown)))} (known: dtype, out)"
    if value.get("dtype") is not None and value["dtype"] not in MERGE_DTYPES:
        return f"merge dtype {value['dtype']!r} is not one of {', '.join(MERGE_DTYPES)}"
    out = value.get("out")
    if out is not None and (not isinstance(out, str) or not out.strip() or "\0" in out):
        return f"merge out {out!r} is not a folder path"
    return None


def parse_command(line: bytes | str) -> dict[str, Any] | None:
    """One command, or None for a line that is not one (corrupt, nested too deep, binary, no `cmd`)."""
    obj = load_or_none(line)
    if not isinstance(obj, dict) or not isinstance(obj.get("cmd"), str) or nested_deeper(obj):
        return None  # too deep: acking it would repr the value (RecursionError from ~1,000 levels)
    return obj
