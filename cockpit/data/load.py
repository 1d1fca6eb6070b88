"""Loading training data into TRL's conversational prompt-completion rows, with errors by line.

Accepted shapes (`data.format: auto` detects them from the first usable row):

- alpaca:   {"instruction": ..., "input": ..., "output": ...}
            aliases: {"prompt": ..., "response": ...}, {"question": ..., "answer": ...},
                     {"prompt": "...", "completion": "..."} (TRL's standard prompt-completion)
- messages: {"messages": [{"role": "system"|"user"|"assistant"|"tool", "content": ...}, ...]}
            also TRL's conversational {"prompt": [messages], "completion": [assistant message]}
- text:     {"text": ...}                                         (plain language modelling)

from a JSONL file (a `.json` file holding one array of rows works too), a `.parquet` file, or a
folder written by `datasets.Dataset.save_to_disk` (`datasets` is imported only for those two).

Rows come out as `{"prompt": [messages...], "completion": [{"role": "assistant", ...}]}` (TRL's
conversational prompt-completion form, so TRL puts the loss on the answer only, whatever the model's
chat template is), or `{"text": ...}` for text data (the trainer then does language modelling).

- alpaca: prompt = [system (data.system_prompt, when set)] + user (the instruction, plus "\\n" and
  the input when the input is not empty); completion = the output.
- messages: prompt = every message before the LAST assistant message; completion = that message.

A malformed row (not JSON, not an object, a missing / empty / wrongly typed field, a row of another
format than the file's) is a `RowProblem(file, line, message)`. Without `skip_bad` any problem raises
one `DataError` listing the first 5 as `path:line: what is wrong` and the count; with `skip_bad` the
rows are dropped and counted in `LoadedData.skipped`. For parquet / datasets folders the "line" is
the 1-based row number. No usable row at all is always a `DataError`.

Reading files is `records`, one record -> one row is `rows`, the errors are `problems`; this module
puts them together and re-exports `DataError` and `RowProblem`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cockpit.config import DataConfig
from cockpit.data.problems import DataError, RowProblem  # noqa: F401 - part of this module's interface
from cockpit.data.records import iter_records
from cockpit.data.rows import alpaca_row, detect_format, json_type, messages_row, text_field

MAX_SHOWN = 5
"""Malformed rows listed in a DataError (the count says how many more)."""


@dataclass
class LoadedData:
    rows: list[dict[str, Any]]
    """Training rows: {"prompt": [...], "completion": [...]} or {"text": ...}."""
    eval_rows: list[dict[str, Any]]
    """Held-out rows: from data.eval_path, or the data.eval_ratio split (deterministic with the seed)."""
    format: str
    """The detected (or configured) format: alpaca | messages | text."""
    source: str
    """The resolved training data path."""
    bad: list[RowProblem] = field(default_factory=list)
    """Every malformed row found (training and eval files); non-empty only with skip_bad."""
    skipped: int = 0
    """How many malformed rows were dropped."""
    raw: list[dict[str, Any]] = field(default_factory=list)
    """The original records behind `rows`, in the same order."""
    eval_source: str | None = None
    """The resolved eval_path, when one was given."""
    general_mix: Any = None
    """General replay added to the training rows (cockpit.general.mix.Mix), set where the rows are mixed."""


def resolve_path(path: str) -> str:
    """`demo:instructions` -> the packaged file (via cockpit.demo, when it is there); others unchanged."""
    try:
        from cockpit.demo import resolve_data_path
    except ImportError:
        return path
    return str(resolve_data_path(path))


def _refuse(path: Path, bad: list[RowProblem]) -> DataError:
    shown = "\n  ".join(str(b) for b in bad[:MAX_SHOWN])
    more = f"\n  ... and {len(bad) - MAX_SHOWN} more" if len(bad) > MAX_SHOWN else ""
    n = len(bad)
    return DataError(
        f"{n} malformed row{'s' if n > 1 else ''} in {path} "
        f"(fix them, or set data.skip_bad / --skip-bad to drop them):\n  {shown}{more}",
        bad,
    )


def load_file(
    path_str: str, fmt: str, system_prompt: str | None, skip_bad: bool
) -> tuple[list[dict], list[dict], str, list[RowProblem]]:
    """(rows, raw records, format, problems) of one file; DataError as described in the module doc."""
    path = Path(resolve_path(path_str))
    if not path.exists():
        raise DataError(f"{path}: file not found")
    rows: list[dict] = []
    raw: list[dict] = []
    bad: list[RowProblem] = []
    file = str(path)
    configured = fmt != "auto"
    detected: str | None = fmt if configured else None
    first_line = 0
    system = [{"role": "system", "content": system_prompt}] if system_prompt else []
    for lineno, obj, err in iter_records(path):
        if err is None:
            kind = detect_format(obj)
            if kind is None:
                err = (
                    f"expected a JSON object, got {json_type(obj)}"
                    if not isinstance(obj, dict)
                    else f"unrecognised row (keys: {', '.join(sorted(obj)[:6]) or 'none'}): expected "
                    "instruction/output, messages, or text"
                )
            elif detected is None:
                detected, first_line = kind, lineno
            elif kind != detected:
                err = (
                    f"mixed formats: this row is {kind}, but data.format is {detected}"
                    if configured
                    else f"mixed formats: this row is {kind}, the file is {detected} (from line {first_line})"
                )
        if err is None:
            try:
                if detected == "alpaca":
                    rows.append(alpaca_row(obj, system))
                elif detected == "messages":
                    rows.append(messages_row(obj))
                else:
                    rows.append({"text": text_field(obj, "text")})
                raw.append(obj)
                continue
            except ValueError as e:
                err = str(e)
        bad.append(RowProblem(file, lineno, err))
    if bad and not skip_bad:
        raise _refuse(path, bad)
    if not rows:
        raise DataError(
            f"{path}: no usable rows" + (f" ({len(bad)} malformed, all skipped)" if bad else " (the file is empty)"),
            bad,
        )
    return rows, raw, detected or "auto", bad


def load_training_data(data_cfg: DataConfig, *, skip_bad: bool | None = None, seed: int = 42) -> LoadedData:
    """Load `data_cfg.path` (and `eval_path`, or split `eval_ratio` off with `seed`) as TRL rows.

    `skip_bad` overrides `data_cfg.skip_bad`. Raises DataError (file:line: what) on malformed rows
    (unless skipping), on an empty file, or when nothing usable is left."""
    skip = data_cfg.skip_bad if skip_bad is None else skip_bad
    rows, raw, fmt, bad = load_file(data_cfg.path, data_cfg.format, data_cfg.system_prompt, skip)
    eval_rows: list[dict] = []
    eval_source = None
    if data_cfg.eval_path:
        eval_source = resolve_path(data_cfg.eval_path)
        eval_rows, _, _, ebad = load_file(data_cfg.eval_path, fmt, data_cfg.system_prompt, skip)
        bad = bad + ebad
    elif data_cfg.eval_ratio > 0 and len(rows) >= 2:
        order = list(range(len(rows)))
        random.Random(seed).shuffle(order)
        n_eval = min(len(rows) - 1, max(1, int(len(rows) * data_cfg.eval_ratio)))
        held = sorted(order[:n_eval])
        mask = bytearray(len(rows))
        for i in held:
            mask[i] = 1
        eval_rows = [rows[i] for i in held]
        raw = [r for r, m in zip(raw, mask) if not m]
        rows = [r for r, m in zip(rows, mask) if not m]
    return LoadedData(
        rows=rows,
        eval_rows=eval_rows,
        format=fmt,
        source=resolve_path(data_cfg.path),
        bad=bad,
        skipped=len(bad),
        raw=raw,
        eval_source=eval_source,
    )
