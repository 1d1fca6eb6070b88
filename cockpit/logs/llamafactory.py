"""LLaMA-Factory's `trainer_log.jsonl`: one JSON object a logged step, written by its LogCallback.

    {"current_steps": 10, "total_steps": 2178, "loss": 2.2964, "lr": 4.1e-06, "epoch": 0.0046,
     "percentage": 0.46, "elapsed_time": "1:05:36", "remaining_time": "9 days, 21:03:44"}

Newer versions add `throughput` (tokens/s) and `total_tokens`; older ones write `learning_rate` for `lr`
and every key on every line, `null` where unused (`eval_loss`, `predict_loss`, `reward`). An eval is a
line with `eval_loss` (and no `loss`). It logs no grad_norm."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import chain
from pathlib import Path
from typing import Any

from cockpit.logs.foreign import chunks, number, run_started, seconds
from cockpit.logs.jsonline import fast_loads, loads_line
from cockpit.rundir import MAX_STEP, ReadStats, step_ok

NAME = "llamafactory"
TITLE = "trainer_log.jsonl (LLaMA-Factory)"


def find(directory: Path) -> Path | None:
    p = directory / "trainer_log.jsonl"
    return p if p.is_file() else None


def sniff(path: Path, head: bytes) -> bool:
    first = head.lstrip().split(b"\n", 1)[0]
    return first.startswith(b"{") and b'"current_steps"' in first


def missing() -> frozenset[str]:
    return frozenset({"grad_norm"})


def events(path: Path, stats: ReadStats) -> Iterator[dict[str, Any]]:
    blocks = _blocks(path, stats)
    first = next(blocks, None)
    total = first[1][0].get("total_steps") if first else None
    yield run_started(NAME, total, not_logged=sorted(missing()))
    last_step, last_elapsed = -1, None
    for lineno, row in chain.from_iterable(zip(numbers, rows) for numbers, rows in chain((first,), blocks) if rows):
        # One pass a line, in place: a 1,000,000-line log spends its time here (a dict comprehension a
        # line cost 4 s of 1M; these few dict operations, 0.5 s).
        step = row.get("current_steps")
        if type(step) is not int or not 0 <= step <= MAX_STEP:
            if type(step) is float and step_ok(step):
                step = int(step)
            else:
                stats.note_bad(lineno)  # a JSON object but not one of its log lines
                continue
        elapsed = seconds(row.get("elapsed_time"))
        step_time = None
        if elapsed is not None and last_elapsed is not None and step > last_step:
            step_time = (elapsed - last_elapsed) / (step - last_step)
        last_step, last_elapsed = step, elapsed
        if row.get("eval_loss") is not None:
            evals = {k: number(v) for k, v in row.items() if k.startswith("eval_") and v is not None}
            yield {"epoch": row.get("epoch"), **evals, "v": 1, "t": None, "kind": "eval", "step": step}
        if row.get("loss") is None:
            continue  # an eval, predict or closing line: nothing logged for training
        yield _metrics(row, step, step_time)
    if total is not None and last_step >= 0 and step_ok(total) and last_step >= total:
        yield {"v": 1, "t": None, "kind": "state", "state": "finished", "step": last_step}


def _metrics(row: dict[str, Any], step: int, step_time: float | None) -> dict[str, Any]:
    """The line as a `metrics` event, made in place: our names for its keys (`lr`, `throughput`,
    `total_tokens`, elapsed time as `step_time`), the rest left as logged (a reader takes the numbers
    it knows by name and ignores the others)."""
    lr = row.pop("lr", None)
    if lr is not None:
        row["learning_rate"] = lr
    throughput = row.get("throughput")
    if throughput is not None:
        throughput = number(throughput)  # older versions write it as text ("0.00")
        if isinstance(throughput, float) and throughput > 0:
            row["tokens_per_s"] = throughput
    tokens = row.get("total_tokens")
    if type(tokens) is int and tokens > 0:
        row["num_tokens"] = tokens
    if step_time is not None:
        row["step_time"] = step_time
    # Times as text are no metric (a History column holds numbers): dropped here rather than found to
    # hold no number later, which took a float() attempt a value (a third of reading a long log).
    row.pop("elapsed_time", None)
    row.pop("remaining_time", None)
    row["v"], row["t"], row["kind"], row["step"] = 1, None, "metrics", step
    return row


def _blocks(path: Path, stats: ReadStats) -> Iterator[tuple[list[int] | range, list[dict[str, Any]]]]:
    """(line numbers, objects) of the lines holding a JSON object, a few MB of lines at a time (no Python
    step a line when every line parses); the rest counted as bad."""
    lineno = 0
    for chunk in chunks(path):
        lines = chunk.split(b"\n")
        if not lines[-1]:
            lines.pop()  # the chunk ended with its last line's newline
        try:  # the common case: every line an object, parsed in one C loop
            rows = list(map(fast_loads, lines))
            if not all(map(dict.__instancecheck__, rows)):
                raise ValueError
        except ValueError:
            yield _checked([_row(raw) for raw in lines], lineno, stats)
        else:
            stats.lines += len(rows)
            yield range(lineno + 1, lineno + 1 + len(rows)), rows
        lineno += len(lines)


def _checked(rows: list, lineno: int, stats: ReadStats) -> tuple[list[int], list[dict[str, Any]]]:
    """The objects among lines parsed one by one, with their line numbers (after `lineno`)."""
    numbers, kept = [], []
    for row in rows:
        lineno += 1
        if row is None:
            continue
        stats.lines += 1
        if row is False:
            stats.note_bad(lineno)
        else:
            numbers.append(lineno)
            kept.append(row)
    return numbers, kept


def _row(raw: bytes) -> dict[str, Any] | None | bool:
    """A line's object; None for a blank line; False for anything else."""
    if not raw.strip():
        return None
    try:
        row = loads_line(raw)
    except ValueError:
        return False
    return row if type(row) is dict else False
