"""LLaMA-Factory's `trainer_log.jsonl`: one JSON object a logged step, written by its LogCallback.

    {"current_steps": 10, "total_steps": 2178, "loss": 2.2964, "lr": 4.1e-06, "epoch": 0.0046,
     "percentage": 0.46, "elapsed_time": "1:05:36", "remaining_time": "9 days, 21:03:44"}

Newer versions add `throughput` (tokens/s) and `total_tokens`; older ones write `learning_rate` for `lr`
and every key on every line, `null` where unused (`eval_loss`, `predict_loss`, `reward`). An eval is a
line with `eval_loss` (and no `loss`). It logs no grad_norm."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import chain, compress, repeat
from operator import gt, is_, is_not, not_, or_
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
    return chain.from_iterable(blocks(path, stats))


def blocks(
    path: Path, stats: ReadStats, start: int = 0, end: int | None = None, columns: bool = False
) -> Iterator[list[Any]]:
    """The log's events, a list per few MB of lines (formats.py). With `start` and `end` (offsets of line
    starts), those of the lines in [start, end) only, as two processes read a long log: the first range
    begins with `run_started`, the last ends with the closing `state`, and a range after the first
    carries on from the lines before it (`_carried`). `columns`: for `prefolded`."""
    run = _carried(path, start) if start else _Run()
    run.columns = columns
    started = bool(start)
    for numbers, rows in _blocks(path, stats, start, end):
        if not started:
            started = True
            run.total = rows[0].get("total_steps") if rows else None
            yield [run_started(NAME, run.total, not_logged=sorted(missing()))]
        if rows:
            yield _events(numbers, rows, run, stats)
    if not started:
        yield [run_started(NAME, None, not_logged=sorted(missing()))]
    if (
        end is None
        and run.total is not None
        and run.last_step >= 0
        and step_ok(run.total)
        and run.last_step >= run.total
    ):
        yield [{"v": 1, "t": None, "kind": "state", "state": "finished", "step": run.last_step}]


def prefolded(path: Path, stats: ReadStats, start: int = 0, end: int | None = None) -> Iterator[Any]:
    """What `History.extend_prefolded` takes of the log (formats.py): `blocks`' events, with each run of
    plain training lines already a MetricsBlock (no event made of it: half of reading a long log)."""
    from cockpit.history import prefold_blocks

    for items in blocks(path, stats, start, end, columns=True):
        events: list[dict[str, Any]] = []
        for item in items:
            if type(item) is dict:
                events.append(item)
                continue
            if events:
                yield from prefold_blocks([events])
                events = []
            yield item
        if events:
            yield from prefold_blocks([events])


def _carried(path: Path, start: int) -> _Run:
    """What the lines before byte `start` leave to the ones after: the total the log's first line states,
    and the step and elapsed time of the last line read as a step (searched back from `start`)."""
    run = _Run(last_metrics=None)  # (what the History it goes onto ends with is the other reader's)
    first = next(_blocks(path, ReadStats()), None)
    if first and first[1]:
        run.total = first[1][0].get("total_steps")
    with open(path, "rb") as f:
        end = start
        carry = b""
        while end > 0:
            begin = max(0, end - (1 << 20))
            f.seek(begin)
            data = f.read(end - begin) + carry
            lines = data.split(b"\n")
            carry = lines.pop(0) if begin > 0 else b""  # a line cut at `begin`: whole with the next read
            for raw in reversed(lines):
                row = _row(raw)
                if not row:
                    continue
                step = row.get("current_steps")
                if type(step) is float and step_ok(step):
                    step = int(step)
                if type(step) is int and 0 <= step <= MAX_STEP:
                    run.last_step, run.last_elapsed = step, seconds(row.get("elapsed_time"))
                    return run
            end = begin
    return run


@dataclass
class _Run:
    """What one line's events depend on from the lines before it."""

    total: Any = None
    last_step: int = -1
    last_elapsed: float | None = None
    """Seconds, or None: a line's step time is the elapsed time since the line before over the steps."""
    columns: bool = False
    """Make runs of plain training lines MetricsBlocks (`prefolded`) rather than events (`blocks`)."""
    last_metrics: int | None = -1
    """The step of the last training line given, or None when unknown (a range after the first)."""


_INT = frozenset((int,))
_METRICS = {"v": 1, "t": None, "kind": "metrics"}


def _events(
    numbers: list[int] | range, rows: list[dict[str, Any]], run: _Run, stats: ReadStats
) -> list[dict[str, Any]]:
    """The events of these lines, each turned into ours in place: a few C loops a key over all of them
    (`_in_bulk`), where a Python step a line took 13 s of a million-line log's 15. A line whose step is not
    a plain int goes through `_one_by_one`, which says the same of every line, a line at a time."""
    steps = list(map(dict.get, rows, repeat("current_steps")))
    if _INT.issuperset(map(type, steps)) and min(steps) >= 0 and max(steps) <= MAX_STEP:
        return _in_bulk(rows, steps, run)
    odd = [i for i, step in enumerate(steps) if type(step) is not int or not 0 <= step <= MAX_STEP]
    if len(odd) > len(rows) // 16:
        return _one_by_one(numbers, rows, run, stats)
    out: list[dict[str, Any]] = []  # the runs of plain lines between the odd ones in bulk, in order
    done = 0
    for i in (*odd, len(rows)):
        if i > done:
            out += _in_bulk(rows[done:i], steps[done:i], run)
        if i < len(rows):
            out += _one_by_one(numbers[i : i + 1], rows[i : i + 1], run, stats)
        done = i + 1
    return out


def _in_bulk(rows: list[dict[str, Any]], steps: list[int], run: _Run) -> list[dict[str, Any]]:
    """`_events` of lines whose steps are all ints in range."""
    import numpy as np  # here, not at the top: `resolve` imports every reader (formats.py)

    from cockpit.logs.durations import durations

    elapsed = durations(list(map(dict.get, rows, repeat("elapsed_time"))))
    at = np.array(steps, dtype=np.float64)  # exact: steps are at most 2**53
    before = np.concatenate(([run.last_step], at[:-1]))
    elapsed_before = np.concatenate(([np.nan if run.last_elapsed is None else run.last_elapsed], elapsed[:-1]))
    with np.errstate(invalid="ignore", divide="ignore"):
        step_time = np.where(at > before, (elapsed - elapsed_before) / (at - before), np.nan)
    run.last_step = steps[-1]
    run.last_elapsed = None if np.isnan(elapsed[-1]) else float(elapsed[-1])
    evals = list(map(is_not, map(dict.get, rows, repeat("eval_loss")), repeat(None)))
    logged = list(map(is_not, map(dict.get, rows, repeat("loss")), repeat(None)))  # else nothing trained
    return _in_order(rows, steps, step_time, evals, logged, run)


def _in_order(rows, steps, step_time, evals, logged, run: _Run) -> list[Any]:
    """The lines' events in order: the few that are not plain (an eval, no loss) one at a time, the runs
    of plain training lines between them in bulk; for `prefolded` (`run.columns`), a run whose steps go
    up after the last given made a MetricsBlock straight from the lines (`llamafactory_columns`)."""
    from cockpit.logs.llamafactory_columns import metrics_block

    out: list[Any] = []
    done = 0
    for i in (*compress(range(len(rows)), map(or_, evals, map(not_, logged))), len(rows)):
        if i > done:  # rows[done:i], plain
            run_steps = steps[done:i]
            last = run.last_metrics
            columns = run.columns and i - done >= 64 and last is not None
            if columns and run_steps[0] > last and _rising(run_steps):
                out.append(metrics_block(rows[done:i], run_steps, step_time[done:i]))
            else:
                _as_metrics(rows[done:i], run_steps, step_time[done:i])
                out += rows[done:i]
            run.last_metrics = run_steps[-1]
        if i < len(rows):
            if evals[i]:
                out.append(_eval(rows[i], steps[i]))
            if logged[i]:
                _as_metrics(rows[i : i + 1], steps[i : i + 1], step_time[i : i + 1])
                out.append(rows[i])
                run.last_metrics = steps[i]
        done = i + 1
    return out


def _rising(steps: list[int]) -> bool:
    return all(map(int.__lt__, steps, steps[1:]))


def _as_metrics(rows: list[dict[str, Any]], steps: list[int], step_time) -> None:
    """Each row as a `metrics` event, in place (what `_metrics` does to one): our names for its keys
    (`lr`, `throughput`, `total_tokens`, elapsed time as `step_time`), the rest left as logged."""
    lr = list(map(dict.pop, rows, repeat("lr"), repeat(None)))
    _put(rows, "learning_rate", lr, list(map(is_not, lr, repeat(None))))
    throughput = list(map(dict.get, rows, repeat("throughput")))
    if str in set(map(type, throughput)):
        throughput = list(map(number, throughput))  # older versions write it as text ("0.00")
    floats = list(map(float.__instancecheck__, throughput))
    _put_positive(compress(rows, floats), "tokens_per_s", list(compress(throughput, floats)))
    tokens = list(map(dict.get, rows, repeat("total_tokens")))
    ints = list(map(is_, map(type, tokens), repeat(int)))
    _put_positive(compress(rows, ints), "num_tokens", list(compress(tokens, ints)))
    timed = step_time == step_time  # (an ndarray: not NaN)
    _put(rows, "step_time", step_time.tolist(), timed.tolist())
    for k in ("elapsed_time", "remaining_time"):  # text, no metric (see `_metrics`)
        deque(map(dict.pop, rows, repeat(k), repeat(None)), 0)
    deque(map(dict.update, rows, repeat(_METRICS)), 0)
    deque(map(dict.__setitem__, rows, repeat("step"), steps), 0)


def _put(rows: list[dict[str, Any]], key: str, values: list[Any], where: list[bool]) -> None:
    deque(map(dict.__setitem__, compress(rows, where), repeat(key), compress(values, where)), 0)


def _put_positive(rows: Iterator[dict[str, Any]], key: str, values: list[Any]) -> None:
    """rows[i][key] = values[i] where values[i] > 0 (rows and values: numbers of one type, paired)."""
    positive = list(map(gt, values, repeat(0)))
    deque(map(dict.__setitem__, compress(rows, positive), repeat(key), compress(values, positive)), 0)


def _eval(row: dict[str, Any], step: int) -> dict[str, Any]:
    evals = {k: number(v) for k, v in row.items() if k.startswith("eval_") and v is not None}
    return {"epoch": row.get("epoch"), **evals, "v": 1, "t": None, "kind": "eval", "step": step}


def _one_by_one(
    numbers: list[int] | range, rows: list[dict[str, Any]], run: _Run, stats: ReadStats
) -> list[dict[str, Any]]:
    """`_events` a line at a time: for lines whose steps need a look each (a float, a word, out of range)."""
    out = []
    for lineno, row in zip(numbers, rows):
        step = row.get("current_steps")
        if type(step) is not int or not 0 <= step <= MAX_STEP:
            if type(step) is float and step_ok(step):
                step = int(step)
            else:
                stats.note_bad(lineno)  # a JSON object but not one of its log lines
                continue
        elapsed = seconds(row.get("elapsed_time"))
        step_time = None
        if elapsed is not None and run.last_elapsed is not None and step > run.last_step:
            step_time = (elapsed - run.last_elapsed) / (step - run.last_step)
        run.last_step, run.last_elapsed = step, elapsed
        if row.get("eval_loss") is not None:
            out.append(_eval(row, step))
        if row.get("loss") is None:
            continue  # an eval, predict or closing line: nothing logged for training
        out.append(_metrics(row, step, step_time))
        run.last_metrics = step
    return out


def _metrics(row: dict[str, Any], step: int, step_time: float | None) -> dict[str, Any]:
    """One line as a `metrics` event, in place (`_as_metrics`, for one line)."""
    lr = row.pop("lr", None)
    if lr is not None:
        row["learning_rate"] = lr
    throughput = row.get("throughput")
    if throughput is not None:
        throughput = number(throughput)
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


def _blocks(
    path: Path, stats: ReadStats, start: int = 0, end: int | None = None
) -> Iterator[tuple[list[int] | range, list[dict[str, Any]]]]:
    """(line numbers, objects) of the lines holding a JSON object, a few MB of lines at a time (no Python
    step a line when every line parses); the rest counted as bad. Numbered from `start`'s line as 1."""
    lineno = 0
    for chunk in chunks(path, start=start, end=end):
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
    if start or end is not None:  # (a ranged read: where the next range's numbering starts)
        stats.end_lineno = lineno


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
