"""What an event is: the kinds and states the trainer writes, how one is made and serialized, and
which parsed lines a reader keeps. docs/CONTRACTS.md lists every kind with its fields."""

from __future__ import annotations

import json
import time
from typing import Any

from cockpit.logs.jsonline import loads_line, nested_deeper

SCHEMA_VERSION = 1

EVENT_KINDS = (
    "run_started",
    "metrics",
    "eval",
    "state",
    "ack",
    "checkpoint",
    "sample",
    "merge",
    "guard",
    "error",
    "summary",
    "notify",
    "system",
)
"""Every kind any writer puts in events.jsonl (tests/test_rundir.py checks the writers against it)."""

STATES = ("starting", "running", "paused", "stopping", "finished", "stopped", "crashed", "resumed")
FINAL_STATES = ("finished", "stopped", "crashed")

METRIC_KEYS = (
    "loss",
    "grad_norm",
    "entropy",
    "learning_rate",
    "mean_token_accuracy",
    "num_tokens",
    "mem_used",
    "mem_total",
    "step_time",
    "tokens_per_s",
    "update_ratio",
    "data_wait",
    "pad_share",
)
"""Numeric fields of a `metrics` event (besides step/epoch); `mem_kind` says what memory is."""

SYSTEM_KEYS = (
    "cpu_percent",
    "proc_cpu_percent",
    "rss",
    "ram_used",
    "ram_total",
    "load_1m",
    "disk_free",
    "disk_total",
    "gpu_util",
    "gpu_mem_used",
    "gpu_mem_total",
    "gpu_power_w",
    "gpu_temp_c",
)
"""Numeric fields of a `system` event (besides step), each present only where it could be read."""


def make_event(kind: str, **fields: Any) -> dict[str, Any]:
    return {"v": SCHEMA_VERSION, "t": time.time(), "kind": kind, **fields}


def dumps(obj: dict[str, Any]) -> str:
    # NaN/inf are written as the bare literals Python's json reads back (and HF logs use): a NaN loss
    # must survive the round trip, not become null.
    return json.dumps(obj, separators=(",", ":"), default=str)


MAX_STEP = 2**53
"""The largest step a reader takes: past it a step is no longer exact as a double, and it would
overflow the History's int64 column (a `step` of 2**70 in a hand-edited line)."""


def step_ok(step: Any) -> bool:
    """Whether an event's `step` is absent or a number a reader can hold: 0 <= step <= MAX_STEP (a float
    counts, as HF logs may write 12.0; readers take its int())."""
    if step is None:
        return True
    if type(step) is int:
        return 0 <= step <= MAX_STEP
    return type(step) is float and 0 <= step <= MAX_STEP  # NaN fails both comparisons


def as_event(obj: Any) -> dict[str, Any] | None:
    """obj when it is an event a reader can fold: an object with a string `kind`, a sane `step`, and,
    unless it is `metrics` (whose known fields are read as numbers, the rest ignored), no nesting deeper
    than MAX_DEPTH (a reader keeps such an event, and shows or pickles it)."""
    if type(obj) is not dict:
        return None
    kind = obj.get("kind")
    if type(kind) is not str or not step_ok(obj.get("step")):
        return None
    if kind != "metrics" and nested_deeper(obj):
        return None
    return obj


def load_or_none(line: bytes | str) -> Any:
    """The JSON value on a line, or None when it is not JSON: a reader skips such a line and goes on."""
    try:
        return loads_line(line)
    except ValueError:
        return None


def parse_line(line: bytes | str) -> dict[str, Any] | None:
    """One event, or None for anything else (corrupt, nested too deep, wrong shape, binary, absurd step)."""
    return as_event(load_or_none(line))
