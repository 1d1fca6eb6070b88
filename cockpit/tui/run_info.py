"""The metadata view (`i`): what the run is and what it ran on, as its events say.

The machine (host, OS, Python), the packages that matter with their versions, the command line (and the
cockpit command that launched it), the device and sizes from `run_started`, the last `system` reading,
the Trainer's end-of-training summary, and the whole config as dotted keys. A log from another tool
says less: what it does not record is said as such, never guessed.
"""

from __future__ import annotations

import math
import shlex
from typing import Any

from rich.table import Table
from rich.text import Text

from cockpit.history import History
from cockpit.system_metrics import LABELS, fmt_system

PACKAGES = ("torch", "transformers", "peft", "trl", "bitsandbytes", "accelerate")
"""Listed first, in this order (a missing one says so); any other package the run recorded follows."""

NOT_RECORDED = "not recorded"


def run_info(h: History, where: str = "") -> Table:
    """The view's table: a bold heading per section, then `name  value` rows."""
    started = h.run_started or {}
    t = Table(box=None, padding=(0, 1), show_header=False)
    # The config's dotted names run to 30+ characters: a narrower name column leaves the values room at 80x24.
    t.add_column("name", style="bold", max_width=30, overflow="fold")
    t.add_column("value", overflow="fold")
    _section(t, "Run", _run_rows(h, started, where))
    _section(t, "Machine", _machine_rows(started))
    _section(t, "Packages", _package_rows(started))
    _section(t, "Command", _command_rows(h, started))
    _section(t, "System", _system_rows(h))
    summary = _summary_rows(h)
    if summary:
        _section(t, "Summary (end of training)", summary)
    _section(t, "Config", _config_rows(h.config) or [("", Text(NOT_RECORDED, style="dim"))])
    return t


def _section(t: Table, title: str, rows: list[tuple[str, Any]]) -> None:
    if t.row_count:
        t.add_row("", "")
    t.add_row(Text(title, style="bold underline"), "")
    for name, value in rows:
        t.add_row(name, value if isinstance(value, Text) else Text(_plain(value)))


def _plain(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


def _known(started: dict[str, Any], key: str) -> Any:
    v = started.get(key)
    return Text(NOT_RECORDED, style="dim") if v is None or v == "" else v


def _run_rows(h: History, started: dict[str, Any], where: str) -> list[tuple[str, Any]]:
    rows: list[tuple[str, Any]] = []
    if where:
        rows.append(("path", where))
    rows += [
        ("state", f"{h.state} at step {h.step}" + (f" of {h.total_steps}" if h.total_steps else "")),
        ("written by", _source(started)),
        ("device", _known(started, "device")),
    ]
    if started.get("world_size") not in (None, 1):
        rows.append(("processes", started["world_size"]))
    for key, name in (
        ("model_path", "model"),
        ("quantized", "quantized"),
        ("trainable_params", "trainable params"),
        ("total_params", "total params"),
        ("train_rows", "training rows"),
        ("eval_rows", "eval rows"),
        ("resumed_from", "resumed from"),
        ("trainer_pid", "trainer pid"),
    ):
        v = started.get(key)
        if v is not None:
            rows.append((name, f"{v:,}" if key.endswith(("_params", "_rows")) and type(v) is int else v))
    return rows


def _source(started: dict[str, Any]) -> str:
    source = started.get("source")
    if source == "script":
        script = started.get("script") or {}
        return f"your script's {script.get('trainer') or 'Trainer'} (CockpitCallback)"
    if source:
        return f"read from a {source} log"
    return "the cockpit's trainer" if started else NOT_RECORDED


def _machine_rows(started: dict[str, Any]) -> list[tuple[str, Any]]:
    python = started.get("python")
    if python and started.get("python_executable"):
        python = f"{python}  ({started['python_executable']})"
    return [
        ("host", _known(started, "host")),
        ("OS", _known(started, "platform")),
        ("Python", python or Text(NOT_RECORDED, style="dim")),
    ]


def _package_rows(started: dict[str, Any]) -> list[tuple[str, Any]]:
    versions = started.get("versions")
    if not isinstance(versions, dict):
        return [("", Text(NOT_RECORDED, style="dim"))]
    rows: list[tuple[str, Any]] = [(p, versions.get(p) or Text(NOT_RECORDED, style="dim")) for p in PACKAGES]
    rows += [(str(p), v) for p, v in versions.items() if p not in PACKAGES]
    return rows


def _command_rows(h: History, started: dict[str, Any]) -> list[tuple[str, Any]]:
    script = h.script or {}
    command = script.get("command") or started.get("command")
    rows: list[tuple[str, Any]] = [("command", _argv(command) if command else Text(NOT_RECORDED, style="dim"))]
    if started.get("launched_by"):
        rows.append(("launched by", _argv(started["launched_by"])))
    return rows


def _argv(argv: Any) -> str:
    if isinstance(argv, list):
        return shlex.join(str(a) for a in argv)
    return str(argv)


def _system_rows(h: History) -> list[tuple[str, Any]]:
    if not len(h.sys_steps):
        return [("", Text("no system readings in this log", style="dim"))]
    rows: list[tuple[str, Any]] = [("read at", f"step {h.sys_steps[-1]} ({len(h.sys_steps)} readings)")]
    for key in (*LABELS, *(k for k in h.sys_series if k not in LABELS)):
        col = h.sys_series.get(key)
        if col is None or not len(col) or math.isnan(col[-1]):
            continue
        v = col[-1]
        total = {"ram_used": "ram_total", "disk_free": "disk_total", "gpu_mem_used": "gpu_mem_total"}.get(key)
        if key in ("ram_total", "disk_total", "gpu_mem_total"):
            continue  # said with the used or free amount
        shown = fmt_system(key, v) or _plain(v)
        if total and h.sys_series.get(total) is not None and not math.isnan(h.sys_series[total][-1]):
            shown += f" of {fmt_system(total, h.sys_series[total][-1])}"
        rows.append((LABELS.get(key, key), shown))
    return rows


def _summary_rows(h: History) -> list[tuple[str, Any]]:
    summary = next((ev for ev in reversed(h.other) if ev.get("kind") == "summary"), None)
    if summary is None:
        return []
    return [(k, v) for k, v in summary.items() if k not in ("v", "t", "kind")]


def _config_rows(config: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """The config as dotted keys (`training.learning_rate`), lists written inline."""
    if not isinstance(config, dict):
        return []
    rows: list[tuple[str, Any]] = []
    for k, v in config.items():
        name = f"{prefix}{k}"
        if isinstance(v, dict) and v:
            rows += _config_rows(v, name + ".")
        else:
            rows.append((name, v))
    return rows
