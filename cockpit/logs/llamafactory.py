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

from cockpit.logs.foreign import number, run_started, seconds
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
    lines = _lines(path, stats)
    first = next(lines, None)
    yield run_started(NAME, None if first is None else first[1].get("total_steps"), not_logged=sorted(missing()))
    if first is None:
        return
    last_step, last_elapsed, total = -1, None, first[1].get("total_steps")
    for lineno, row in chain((first,), lines):
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
    row["v"], row["t"], row["kind"], row["step"] = 1, None, "metrics", step
    return row


def _lines(path: Path, stats: ReadStats) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for each line holding a JSON object; the rest counted as bad."""
    lineno = 0
    rest = b""
    with open(path, "rb") as f:
        while True:
            block = f.read(4 << 20)
            if not block:
                break
            lines = (rest + block).split(b"\n")
            rest = lines.pop()
            try:  # the common case: every line an object, parsed in one C loop
                rows = list(map(fast_loads, lines))
                if not all(type(r) is dict for r in rows):
                    raise ValueError
            except ValueError:
                rows = [_row(raw) for raw in lines]
            for row in rows:
                lineno += 1
                if row is None:
                    continue
                stats.lines += 1
                if row is False:
                    stats.note_bad(lineno)
                else:
                    yield lineno, row
    if rest.strip():
        lineno += 1
        stats.lines += 1
        row = _row(rest)
        if row:
            yield lineno, row
        else:
            stats.note_bad(lineno)


def _row(raw: bytes) -> dict[str, Any] | None | bool:
    """A line's object; None for a blank line; False for anything else."""
    if not raw.strip():
        return None
    try:
        row = loads_line(raw)
    except ValueError:
        return False
    return row if type(row) is dict else False
