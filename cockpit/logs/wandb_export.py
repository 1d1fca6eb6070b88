"""A W&B run's history exported to a file: CSV (a run's `history()` saved with pandas, or a chart panel's
"Export as CSV": `Step`, `<run> - <metric>`, `<run> - <metric>__MIN` / `__MAX`) or JSON (a list of rows,
or one row a line, each with W&B's `_step`). No W&B library is needed."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cockpit.logs.errors import LogError
from cockpit.logs.foreign import run_started
from cockpit.logs.jsonline import loads_line
from cockpit.logs.tracker_rows import STEP_KEYS, hf_key, row_events
from cockpit.rundir import ReadStats, step_ok

NAME = "wandb_export"
TITLE = "W&B history export (CSV or JSON with _step / train/global_step)"

_STEP_COLUMNS = (*STEP_KEYS, "_step", "Step")
_JSON_STEP = re.compile(rb'"(_step|train/global_step)"\s*:')
_PANEL_EXTREMES = ("__MIN", "__MAX")


def sniff(path: Path, head: bytes) -> bool:
    if path.is_dir() or not head:
        return False
    text = head.lstrip()
    if text[:1] in (b"[", b"{"):
        first = text.split(b"\n", 1)[0] if text[:1] == b"{" else text[:4096]
        return bool(_JSON_STEP.search(first)) and b'"kind"' not in first and b'"log_history"' not in text
    header = _csv_header(head)
    return bool(header) and (
        any(c in ("_step", "train/global_step") for c in header)
        or (header[0] == "Step" and any(" - " in c for c in header[1:]))
    )


def _csv_header(head: bytes) -> list[str]:
    try:
        line = head.split(b"\n", 1)[0].decode("utf-8-sig").rstrip("\r")
    except UnicodeDecodeError:
        return []
    if "," not in line:
        return []
    try:
        return next(csv.reader([line]), [])
    except csv.Error:  # a carriage return inside: a console's progress bars, no CSV's header
        return []


def events(path: Path, stats: ReadStats) -> Iterator[dict[str, Any]]:
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise LogError(f"{path}: cannot read ({e})") from None
    rows = _json_rows(path, raw, stats) if raw.lstrip()[:1] in (b"[", b"{") else _csv_rows(path, raw, stats)
    yield run_started(NAME)
    for i, row in enumerate(rows, 1):
        step = next((row[k] for k in _STEP_COLUMNS if row.get(k) is not None), None)
        if isinstance(step, float) and step.is_integer():
            step = int(step)
        if step is None or not step_ok(step):  # (step_ok lets an absent one by)
            stats.note_bad(i)
            continue
        yield from row_events(int(step), {hf_key(k): v for k, v in row.items() if v is not None}, row.get("_timestamp"))


def _json_rows(path: Path, raw: bytes, stats: ReadStats) -> Iterator[dict[str, Any]]:
    if raw.lstrip()[:1] == b"[":
        try:
            doc = loads_line(raw)
        except ValueError as e:
            raise LogError(f"{path}: not valid JSON ({e})") from None
        for row in doc:
            stats.lines += 1
            if isinstance(row, dict):
                yield row
            else:
                stats.note_bad(stats.lines)
        return
    for line in raw.splitlines():
        if not line.strip():
            continue
        stats.lines += 1
        try:
            row = loads_line(line)
        except ValueError:
            row = None
        if isinstance(row, dict):
            yield row
        else:
            stats.note_bad(stats.lines)


def _csv_rows(path: Path, raw: bytes, stats: ReadStats) -> Iterator[dict[str, Any]]:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise LogError(f"{path}: not UTF-8 text at byte {e.start}") from None
    reader = csv.reader(io.StringIO(text))
    header = next(reader, [])
    names = _panel_names(path, header)
    for cells in reader:
        stats.lines += 1
        if len(cells) != len(header):
            stats.note_bad(stats.lines + 1)
            continue
        yield {n: _cell(c) for n, c in zip(names, cells) if n is not None}


def _panel_names(path: Path, header: list[str]) -> list[str | None]:
    """The metric name of each column: a chart panel's `<run> - <metric>` loses its run (one run a file),
    its `__MIN` / `__MAX` columns (the band around a sampled point) are left out, and so is the index
    column `DataFrame.to_csv` writes first."""
    runs = {c.split(" - ", 1)[0] for c in header if " - " in c}
    if len(runs) > 1:
        raise LogError(f"{path}: an export of {len(runs)} runs ({', '.join(sorted(runs)[:5])}); export one run a file")
    names: list[str | None] = []
    for c in header:
        if c.endswith(_PANEL_EXTREMES) or c in ("", "Unnamed: 0"):  # pandas' index column has no name
            names.append(None)
        else:
            names.append(c.split(" - ", 1)[1] if " - " in c else c)
    return names


def _cell(c: str) -> Any:
    if c == "":
        return None
    try:
        return int(c)
    except ValueError:
        pass
    try:
        return float(c)
    except ValueError:
        return c
