"""Long logs are read a chunk at a time in bulk: a LLaMA-Factory log (`llamafactory._events`, `durations`),
a trainer_state.json's log_history (`trainer_state._in_bulk`), a console's dicts and the steps its
progress bars give them (`console._events`, `console_steps`), trackio's rows. Each must say exactly what
reading it an entry at a time says (`_one_by_one`, the reader's exact path), on logs with every oddity the
format has; and a LLaMA-Factory log, when two processes read it from its two halves."""

from __future__ import annotations

import json
import random
import re
from array import array
from pathlib import Path

import numpy as np
import pytest

from cockpit.history import History
from cockpit.logs import llamafactory, preload, resolve, state_stream, trainer_state
from cockpit.logs.durations import durations
from cockpit.logs.foreign import seconds
from cockpit.logs.preload import Preload, _add_stats
from cockpit.rundir import ReadStats


def clock(rng: random.Random) -> str:
    days, rest = divmod(rng.randrange(0, 40 * 86400), 86400)
    hms = f"{rest // 3600}:{rest % 3600 // 60:02d}:{rest % 60:02d}"
    return hms if not days else f"{days} day{'s' if days > 1 else ''}, {hms}"


def near_miss(rng: random.Random) -> str:
    """A clock with one character inserted, dropped or changed: what a position-based reader gets wrong."""
    text = list(clock(rng))
    i = rng.randrange(len(text) + 1)
    op = rng.randrange(3)
    if op == 0:
        text.insert(i, rng.choice(["0", "12", ":", " ", ",", "day", ".5", "\0", "٣", "-", "x"]))
    elif i < len(text):
        if op == 1:
            del text[i]
        else:
            text[i] = rng.choice("0123456789: ,dayx")
    return "".join(text)


def test_durations_agree_with_seconds_on_every_kind_of_text():
    rng = random.Random(5)
    texts = [
        *(clock(rng) for _ in range(20_000)),
        *(near_miss(rng) for _ in range(20_000)),
        None,
        "",
        "1:00:00",
        "01:02:03",
        "0 days, 1:00:00",
        "123:00:00",
        "1 day, 123:00:00",
        "1234567890 days, 1:00:00",
        "99 days, 23:59:59",
        " 1:00:00",
        "1:00:00.25",
        "1:00:00\0",
        "-1 day, 23:00:00",
    ]
    rng.shuffle(texts)
    for batch in (texts, [t for t in texts if t is None or t.isascii()], texts[:3], ["12:34:56"] * 5):
        got = durations(batch)
        want = [seconds(t) for t in batch]
        assert [None if g != g else g for g in got.tolist()] == want
    assert [seconds(t) for t in ("1 day, 0:00:01", "2 days, 10:00:00")] == durations(
        ["1 day, 0:00:01", "2 days, 10:00:00"]
    ).tolist()
    assert durations([12, "0:00:01"]).tolist()[1] == 1.0  # a number among them: one by one, not refused


def odd_log(path: Path, rng: random.Random, lines: int = 50_000) -> Path:
    """A LLaMA-Factory log with what real ones hold (evals, old null layout, throughput as text, days) and
    what they may (bad lines, float or word steps, a step back, NaN losses, odd elapsed times)."""
    out, step, elapsed = [], 0, 80_000
    for i in range(lines):
        step += rng.choice([1, 1, 1, 4]) if i != lines // 3 else -20
        elapsed += rng.choice([0, 1, 3])
        row = {
            "current_steps": step,
            "total_steps": lines,
            "loss": round(rng.random() * 3, 4),
            "lr": rng.random() * 1e-4,
            "epoch": step / 1000,
            "percentage": step / lines * 100,
            "elapsed_time": str(elapsed // 86400)
            + " days, "
            + f"{elapsed % 86400 // 3600}:{elapsed % 3600 // 60:02d}:{elapsed % 60:02d}",
            "remaining_time": "1:00:00",
            "throughput": rng.choice([1234.5, "0.00", "12.5", 0.0, 7, None, "abc", float("inf")]),
            "total_tokens": rng.choice([4096 * step, 0, True, 1.5, None]),
        }
        if i % 400 == 399:  # an eval line: no loss
            row = {
                "current_steps": step,
                "total_steps": lines,
                "eval_loss": rng.random(),
                "epoch": step / 1000,
                "elapsed_time": row["elapsed_time"],
                "remaining_time": "0:01:00",
            }
        if i % 997 == 5:
            row["eval_loss"], row["eval_accuracy"] = rng.random(), "0.5"  # an eval on a training line
        if i % 501 == 7:
            row["lr"] = None
            row["learning_rate"] = 3e-5
        if i % 613 == 9:
            row["loss"] = rng.choice([None, float("nan"), "nan", True])
        if i % 701 == 11:
            row["elapsed_time"] = rng.choice([None, 12, " 1:00:00", "1:00:00.5", near_miss(rng)])
        if i % 797 == 13 and i < 4000:  # (in the first chunk only: the others take the bulk path)
            row["current_steps"] = rng.choice([float(step), True, "5", None, -1, 2**60])
        if i % 809 == 17:
            row["grad_norm"], row["mem_kind"], row["custom"] = rng.choice([1.0, float("inf")]), "cuda", 3
        text = json.dumps(row)
        if i % 3001 == 19:
            text = rng.choice(["garbage", "", "[1, 2]", '{"a": 1}', text[:10]])
        out.append(text)
    path.write_text("\n".join(out) + "\n")
    return path


def folded(h: History, log) -> tuple:
    series = {k: [repr(x) for x in v] for k, v in sorted(h.series.items())}
    evals = {k: [repr(x) for x in v] for k, v in sorted(h.eval_series.items())}
    stats = (
        log.stats.lines,
        log.stats.bad,
        sorted(log.stats.bad_lines),
        log.stats.notes,
        log.order,
    )  # (noted a chunk at a time)
    return list(h.steps), series, list(h.eval_steps), evals, h.nonfinite, h.state, h.mem_kind, stats, h.total_steps


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("lf")
    rng = random.Random(11)
    return [odd_log(folder / "trainer_log_0.jsonl", rng)]


def counted(monkeypatch, module, name: str) -> list[int]:
    """The length of the first argument of each call to module.name, which still runs: how much of a log
    went down that path."""
    sizes: list[int] = []
    real = getattr(module, name)
    monkeypatch.setattr(module, name, lambda first, *rest: sizes.append(len(first)) or real(first, *rest))
    return sizes


def test_the_bulk_read_says_what_the_line_by_line_read_says(logs, monkeypatch):
    from cockpit.logs import llamafactory_columns

    real = llamafactory._one_by_one
    for path in logs:
        one_by_one = counted(monkeypatch, llamafactory, "_one_by_one")
        blocks = counted(monkeypatch, llamafactory_columns, "metrics_block")
        log = resolve(path)
        assert log.kind == "llamafactory"
        bulk = folded(log.read(), log)  # (`prefolded`: runs of training lines made MetricsBlocks)
        assert 0 < sum(one_by_one) < log.stats.lines / 2 and sum(blocks) > log.stats.lines / 2
        events = History().extend(log.events())  # the events themselves (`blocks`, `_in_bulk`)
        assert folded(events, log)[:7] == bulk[:7]
        monkeypatch.setattr(llamafactory, "_events", real)  # every line one by one
        slow = resolve(path)
        assert folded(slow.read(), slow) == bulk
        monkeypatch.undo()
        assert bulk[7][1] > 0 and len(bulk[2]) > 50 and bulk[5] == "finished"  # bad lines, evals, its end


def test_two_halves_read_apart_say_what_one_read_says(logs):
    for path in logs:
        whole = resolve(path)
        want = folded(whole.read(), whole)
        text = path.read_bytes()
        for share in (0.13, 0.5, 0.77):
            cut = text.index(b"\n", int(len(text) * share)) + 1
            log = resolve(path)
            h = History().extend_prefolded(llamafactory.prefolded(log.source, log.stats, end=cut))
            tail_stats = ReadStats()
            h.extend_prefolded(list(llamafactory.prefolded(log.source, tail_stats, start=cut)))
            _add_stats(log.stats, tail_stats)
            assert folded(log.settle(h), log) == want, share


def test_a_long_log_is_read_by_two_processes(logs, monkeypatch):
    monkeypatch.setattr(preload, "MIN_BYTES", 1 << 20)
    monkeypatch.setenv("COCKPIT_NO_CACHE", "1")
    path = logs[0]
    pre = Preload(path)
    assert pre.pid is not None and pre.split is not None and pre.lines == (path, "llamafactory")
    h, log = pre.result()
    whole = resolve(path)
    assert folded(h, log) == folded(whole.read(), whole)
    pre = Preload(path.parent)  # its folder: a LLaMA-Factory output_dir holds trainer_log.jsonl
    assert pre.lines is None  # (named trainer_log_0.jsonl here: not found in the folder, not split)


def test_a_folder_read_as_another_log_than_guessed_is_read_whole(logs, tmp_path, monkeypatch):
    """A LLaMA-Factory output_dir holds trainer_log.jsonl, and at the end trainer_state.json too, which
    `resolve` reads first. The preload guesses the first; its child says which it found before this
    process parses a share of the wrong file, and reads the right one whole."""
    monkeypatch.setattr(preload, "MIN_BYTES", 1 << 20)
    monkeypatch.setenv("COCKPIT_NO_CACHE", "1")
    out = tmp_path / "saves"
    out.mkdir()
    (out / "trainer_log.jsonl").symlink_to(logs[0])
    pre = Preload(out)
    assert pre.split is not None and pre.lines == (out / "trainer_log.jsonl", "llamafactory")
    h, log = pre.result()
    whole = resolve(out)
    assert log.kind == "llamafactory" and folded(h, log) == folded(whole.read(), whole)
    state = {"global_step": 3, "max_steps": 3, "log_history": [{"loss": 1.0, "step": s} for s in (1, 2, 3)]}
    (out / "trainer_state.json").write_text(json.dumps(state))
    read = []
    monkeypatch.setattr(Preload, "_read_tail", lambda self: read.append(self.split) or ([], ReadStats()))
    pre = Preload(out)
    assert pre.split is not None  # the guess
    h, log = pre.result()
    assert log.kind == "trainer_state" and list(h.steps) == [1, 2, 3] and read == [None]  # no share parsed


def odd_state(path: Path, rng: random.Random, entries: int = 40_000) -> Path:
    """A trainer_state.json with evals, a summary, and what a damaged or foreign one may hold."""
    history, step = [], 0
    for i in range(entries):
        step += 1
        entry = {
            "epoch": step / 1000,
            "grad_norm": rng.random(),
            "learning_rate": 1e-5,
            "loss": rng.random(),
            "step": step,
        }
        if i % 500 == 499:
            history.append({"epoch": step / 1000, "eval_loss": rng.random(), "eval_runtime": 1.0, "step": step})
        if i % 997 == 3 and i < 8000:  # (early only: the later batches take the bulk path)
            entry = rng.choice(
                [
                    [1],
                    {**entry, "step": float(step)},
                    {**entry, "step": None},
                    {**entry, "eval_x": 2},
                    {**entry, "train_tokens_per_second": 5.0},
                    {"step": step, "deep": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]},
                ]
            )
        if i == entries // 2:
            step -= 30  # a resume
        history.append(entry)
    history.append({"epoch": 1.0, "step": step, "train_runtime": 100.0, "train_loss": 1.0, "total_flos": 1})
    state = {"global_step": step, "log_history": history, "max_steps": step, "logging_steps": 1}
    path.write_text(json.dumps(state, indent=2))
    return path


@pytest.mark.parametrize("streamed", [False, True])
def test_a_trainer_state_read_in_bulk_says_what_one_entry_at_a_time_says(tmp_path, monkeypatch, streamed):
    path = odd_state(tmp_path / "trainer_state.json", random.Random(2))
    if streamed:  # past WHOLE_BYTES the log_history is read a few MB at a time (state_stream)
        monkeypatch.setattr(trainer_state, "WHOLE_BYTES", 1 << 20)
        monkeypatch.setattr(state_stream, "PIECE", 256 << 10)
    one_by_one = counted(monkeypatch, trainer_state, "_one_by_one")
    log = resolve(path)
    bulk = folded(log.read(), log)
    assert sum(one_by_one) < log.stats.lines / 2 if streamed else one_by_one == [log.stats.lines]
    monkeypatch.setattr(trainer_state, "_in_bulk", lambda *a: None)
    slow = resolve(path)
    assert folded(slow.read(), slow) == bulk
    assert bulk[7][1] > 0 and len(bulk[2]) == 81 and bulk[5] == "finished"  # bad entries, 80 + 1 evals, its end


def odd_console(path: Path, rng: random.Random, logs: int = 60_000) -> Path:
    """A saved console of a Trainer run: banner, bars, logs with values as text, evals and their bars, a
    named bar, and (early on) what is no training log: a config, {'loss': 'mse'}, a torn dict."""
    out = ["***** Running training *****", f"  Total optimization steps = {logs:,}", "  logging_steps=1"]
    out.append("{'r': 16, 'lora_alpha': 32, 'target_modules': 'all-linear'}")
    for s in range(1, logs + 1):
        bar = f"  {s * 100 // logs}%|#####     | {s}/{logs} [00:10<00:20,  3.21it/s]"
        loss = rng.choice([f"{rng.random():.4f}", "'nan'", "nan", "True", str(rng.randrange(3))])
        grad = rng.choice([f"'{rng.random():.4g}'", f"{rng.random():.4g}", "inf", "None"])
        log = f"{{'loss': {loss}, 'grad_norm': {grad}, 'learning_rate': '2e-06', 'epoch': '{s / logs:.3g}'}}"
        if s % 7 == 0:
            bar = "\r" + bar  # a bar redrawn in place
        if s < 6_000 and s % 1_000 == 3:
            log = rng.choice(["{'loss': 'mse', 'a': 1}", "{'x': 1}", "{'loss': {'a': 1}}", "{'loss': 1, \"q\": 2}"])
        if s % 2_000 == 0:
            out.append(bar + log)
            out.append(f"Map: 50%|###| 5/10 [00:01<00:01]{{'eval_loss': '{rng.random():.3f}', 'epoch': '1'}}")
            continue
        if s % 5_003 == 0:
            bar = ""  # a log printed with no bar before it
        out.append(bar + log)
    out.append("{'train_runtime': 2279.1, 'train_samples_per_second': 2.996, 'train_loss': 1.229, 'epoch': 3.0}")
    path.write_text("\n".join(out) + "\n")
    return path


def test_a_console_read_in_bulk_says_what_one_log_at_a_time_says(tmp_path, monkeypatch):
    from cockpit.logs import console

    path = odd_console(tmp_path / "train.log", random.Random(4))
    real = console._one_by_one
    one_by_one = counted(monkeypatch, console, "_one_by_one")
    log = resolve(path)
    assert log.kind == "console"
    bulk = folded(log.read(), log)
    assert 0 < sum(one_by_one) < log.stats.lines * 0.6  # the pieces after the first, in bulk

    def every_log_alone(logs, at, read, stats):
        stats.lines += len(logs)
        return real(logs, at, read)

    monkeypatch.setattr(console, "_events", every_log_alone)
    slow = resolve(path)
    assert folded(slow.read(), slow) == bulk
    assert bulk[7][3] and len(bulk[2]) == 30 and bulk[5] == "finished"  # notes (foreign dicts), evals, its end


def odd_trackio(path: Path, rng: random.Random, rows: int = 12_000, shapes: int = 2) -> Path:
    """A trackio database of a Trainer's run: training rows, evals, the summary, two shapes of training row,
    and (early on) what a damaged or foreign one may hold: a bare NaN, no JSON, a list, a step found two
    ways, a float step, no loss, a name twice."""
    import shutil
    import sqlite3

    shutil.copy(Path(__file__).parent / "fixtures/trackers/generated/trackio/cockpit-fixture.db", path)
    con = sqlite3.connect(path)
    run_id, run = con.execute("SELECT run_id, run_name FROM metrics LIMIT 1").fetchone()
    con.execute("DELETE FROM metrics")
    out = []
    for s in range(1, rows + 1):
        row = {
            "train/loss": rng.random(),
            "train/grad_norm": rng.random(),
            "train/learning_rate": 1e-4,
            "train/epoch": s / rows,
            "train/global_step": s,
        }
        if s % 3 == 0 and shapes == 2:
            row["train/num_tokens"] = 4096 * s  # a second shape of training row
        text = json.dumps(row)
        if s < 2_000 and s % 150 == 7:  # damaged: its batch is read a row at a time
            text = rng.choice(
                [
                    text.replace(str(row["train/loss"]), "NaN"),
                    "not json",
                    "[1, 2]",
                    json.dumps({k: v for k, v in row.items() if k != "train/global_step"}),
                    json.dumps({**row, "train/global_step": float(s)}),
                ]
            )
        if 2_000 < s < 6_000 and s % 170 == 11:  # odd but sound: shapes of their own, read in bulk
            text = rng.choice(
                [
                    json.dumps({"train/learning_rate": 1e-4, "train/global_step": s}),
                    json.dumps({**row, "loss": 7.0}),
                    json.dumps({**row, "train/train_tokens_per_second": 99.0}),
                    json.dumps({"train/train_tokens_per_second": 99.0, "train/epoch": 1.0, "train/global_step": s}),
                ]
            )
        out.append((s, text))
        if s % 300 == 0:
            out.append(
                (
                    s,
                    json.dumps(
                        {
                            "eval/loss": rng.random(),
                            "eval/runtime": 1.0,
                            "train/epoch": s / rows,
                            "train/global_step": s,
                        }
                    ),
                )
            )
    out.append((rows, json.dumps({"train/train_runtime": 100.0, "train/train_loss": 0.5, "train/global_step": rows})))
    con.executemany(
        "INSERT INTO metrics (run_id, timestamp, run_name, step, metrics) VALUES (?, ?, ?, ?, ?)",
        ((run_id, f"2026-12-07T03:{i // 60 % 60:02d}:{i % 60:02d}.{i:06d}", run, s, t) for i, (s, t) in enumerate(out)),
    )
    con.commit()
    con.close()
    return path


@pytest.mark.parametrize("shapes", [1, 2])
def test_a_trackio_database_read_in_bulk_says_what_one_row_at_a_time_says(tmp_path, monkeypatch, shapes):
    from cockpit.logs import trackio

    path = odd_trackio(tmp_path / "project.db", random.Random(6), shapes=shapes)
    monkeypatch.setattr(trackio, "BATCH", 1_000)
    one_by_one = counted(monkeypatch, trackio, "_one_by_one")
    log = resolve(path)
    assert log.kind == "trackio"
    bulk = folded(log.read(), log)
    assert 0 < sum(one_by_one) < log.stats.lines / 2  # the batches after the damaged ones, in bulk
    monkeypatch.setattr(trackio, "_in_bulk", lambda *a: (None, 0))
    slow = resolve(path)
    assert folded(slow.read(), slow) == bulk
    assert bulk[7][1] > 0 and len(bulk[2]) == 40 and bulk[5] == "finished"  # bad rows, evals, its end
    logged = {k for k, v in bulk[1].items() if any(x != "nan" for x in v)}
    assert ("num_tokens" in logged) == (shapes == 2) and "tokens_per_s" in logged


def bar(n: int, total: int, name: str = "") -> str:
    return f"{name}{n * 100 // max(total, 1):3d}%|####  | {n}/{total} [00:10<00:20,  3.21it/s]"


def odd_bars(path: Path, rng: random.Random, steps: int = 20_000) -> Path:
    """A console whose bars are what a Trainer, a resumed run and other prints draw: a bar each step and a
    log every few, eval bars and their dicts (several in a row), named bars, logs with no bar before them,
    bars of another total, a bar whose count goes back (late), bars left after the last log, a 4-digit
    percent."""
    every = rng.choice([1, 3, 10])
    out = ["***** Running training *****"]
    if rng.random() < 0.8:
        out.append(f"  Total optimization steps = {steps:,}")
    s, resumed = 0, False
    while s < steps:
        s += 1
        odd = rng.random()
        if odd < 0.003:
            out.append(bar(rng.randrange(1, 50), 50))  # an eval's bar, and no eval dict
        elif odd < 0.005:
            out.append(bar(5, 10, name="Map: "))
        elif odd < 0.006:
            out.append(f" 1234%|####| {s}/{steps} [")
        if s == steps * 9 // 10 and not resumed:
            s, resumed = (
                s - 30,
                True,
            )  # resumed: the bar counts from an earlier step (the rest of the log goes one by one)
        out.append(bar(s, steps))
        if s % every:
            continue
        log = f"{{'loss': '{rng.random():.4f}', 'grad_norm': {rng.random():.3g}, 'epoch': '{s / steps:.3g}'}}"
        if rng.random() < 0.01:
            out.append(log)  # no bar just before it: printed after the previous log's
        else:
            out[-1] += log
        if rng.random() < 0.02:
            for _ in range(rng.randrange(1, 4)):
                for k in range(1, 4):
                    out.append(bar(k, 3))
                out[-1] += f"{{'eval_loss': '{rng.random():.3f}', 'epoch': '{s / steps:.3g}'}}"
            if rng.random() < 0.5:
                out.append(bar(s + 1, steps))  # the training bar drawn again before the next log
    out += [bar(steps, steps)] * 2
    text = "".join(line + rng.choice("\n\n\r") for line in out)
    path.write_text(text)
    return path


@pytest.mark.parametrize("seed", range(4))
def test_the_steps_of_a_console_in_bulk_are_those_of_one_log_at_a_time(tmp_path, monkeypatch, seed):
    """`Steps.at` gives each printed dict of a piece its step in numpy when it can (`_in_bulk`); the steps
    must be those the dict-at-a-time reference gives (`one_by_one`), for pieces cut anywhere."""
    from cockpit.logs import console, console_steps, foreign

    rng = random.Random(seed)
    path = odd_bars(tmp_path / "train.log", rng)

    def small_pieces(path, also=b""):  # pieces of ~30 KB, so that a log's bars fall in the piece before
        for chunk in foreign.chunks(path, also):
            line_ends = [m.end() for m in re.finditer(rb"[\r\n]", chunk)]
            ends = sorted(rng.sample(line_ends, min(len(line_ends), 200)))
            for a, b in zip([0, *ends], [*ends, len(chunk)]):
                if a < b:
                    yield chunk[a:b]

    monkeypatch.setattr(console, "chunks", small_pieces)
    calls = []
    real_in_bulk = console_steps.Steps._in_bulk
    monkeypatch.setattr(
        console_steps.Steps, "_in_bulk", lambda self, *a: calls.append(r := real_in_bulk(self, *a)) or r
    )
    log = resolve(path)
    assert log.kind == "console"
    bulk = folded(log.read(), log)
    taken = [r for r in calls if r is not None]
    assert len(taken) > len(calls) / 2 and sum(map(len, taken)) > bulk[0].__len__() / 2, (len(taken), len(calls))
    monkeypatch.setattr(console_steps.Steps, "_in_bulk", lambda self, *a: None)
    rng.seed(seed)  # the same pieces
    odd_bars(tmp_path / "again.log", rng)
    slow = resolve(tmp_path / "again.log")
    assert folded(slow.read(), slow) == bulk
    assert len(bulk[2]) > 10 and bulk[0][-1] > 1000


def printed(rng: random.Random, total: int = 500) -> list[tuple]:
    """What a console holds in the order printed: bars ('bar', n, total) and dicts ('log', training?).
    Mostly a Trainer's (a bar, then a log), with what breaks that, as often as `odd`: a log with no bar
    since the last, a count that repeats or goes back, an eval's bars and dict, a bar of another total."""
    out: list[tuple] = []
    n = 0
    odd = rng.choice([0.0, 0.01, 0.05, 0.2])
    for _ in range(rng.randrange(1, 120)):
        if rng.random() < odd:
            out.append(("log", True))  # no bar since the previous log
            continue
        if rng.random() < odd:
            n = max(0, n - rng.randrange(0, 5))  # the count repeats or goes back
        else:
            n += rng.choice([1, 1, 1, 2, 10])
        out.append(("bar", n, total if rng.random() > odd else total + 1))
        if rng.random() < odd * 2:
            out += [("bar", k, 3) for k in range(1, rng.randrange(1, 4))]  # an eval's bars
        if rng.random() < odd * 2:
            out.append(("log", False))  # an eval's (or another printed) dict
            if rng.random() < 0.5:
                continue
        out.append(("log", rng.random() > odd))
    return out


def test_steps_in_bulk_equal_steps_one_at_a_time_for_any_piece():
    """`Steps.at` on pieces of printed bars and dicts: the bulk path (`_in_bulk`) gives the steps, and
    leaves the state (step, interval, pending bar, counts), that `one_by_one` does, piece after piece."""
    from cockpit.logs.console_steps import Bars, Steps

    rng = random.Random(9)
    taken = []
    state = ("total", "bar_total", "bar", "every", "step", "interval", "from_bars", "counted")
    for case in range(3_000):
        seq = printed(rng)
        cuts = sorted(rng.sample(range(1, len(seq)), min(len(seq) - 1, rng.randrange(0, 4))))
        bulk, exact = Steps(), Steps()
        real = bulk._in_bulk
        bulk._in_bulk = lambda *a, real=real: taken.append(r := real(*a)) or r
        exact._in_bulk = lambda *a: None
        total, every = rng.choice([500, None]) if case % 2 else 500, rng.choice([None, 3])
        for s in (bulk, exact):
            s.total, s.every = total, every
        for a, b in zip([0, *cuts], [*cuts, len(seq)]):
            piece = seq[a:b]
            bars = [i for i, x in enumerate(piece) if x[0] == "bar"]
            logs = [i for i, x in enumerate(piece) if x[0] == "log"]
            made = Bars(
                np.array([i + 1 for i in bars], np.int64),  # a bar ends where the next item starts
                np.array([piece[i][1] for i in bars], np.int64),
                np.array([piece[i][2] for i in bars], np.int64),
            )
            starts, training = np.array(logs, np.int64), np.array([piece[i][1] for i in logs], bool)
            assert bulk.at(made, starts, training) == exact.at(made, starts, training), (case, piece)
            assert [getattr(bulk, k) for k in state] == [getattr(exact, k) for k in state], (case, piece)
    assert sum(r is not None for r in taken) > 1_000  # (of ~7,500 pieces)


def bars_one_at_a_time(chunk: bytes) -> list[tuple[int, int, int]]:
    """The reference for `console_steps.bars`: each tqdm bar found by a regex, its percentage looked at a
    byte at a time backwards from the '%' (how the reader found them before reading them in bulk)."""
    found = []
    for m in re.finditer(rb"%\|[^|\r\n]*\| *(\d+)/(\d+) \[", chunk):
        s = k = m.start()
        while k > 0 and s - k < 3 and 48 <= chunk[k - 1] <= 57:
            k -= 1
        if k == s or chunk[k - 2 : k] == b": ":
            continue
        if len(m[1]) > 19 or len(m[2]) > 19:  # (past an int64: no bar)
            continue
        n, total = int(m[1]), int(m[2])
        if n <= total < 1 << 63:
            found.append((m.end(), n, total))
    return found


def test_bars_are_found_as_one_at_a_time_finds_them():
    from cockpit.logs.console_steps import bars

    rng = random.Random(3)
    heads = [
        "",
        " ",
        "5",
        " 5",
        "12",
        "100",
        "1234",
        "99999",
        ": 5",
        ":5",
        ": ",
        "Map: 50",
        "x: 100",
        "\r 7",
        "\n",
        "a",
    ]
    counts = ["0", "7", "10", "3", "9223372036854775807", "9223372036854775808", "9" * 5000]
    for _ in range(3_000):
        parts = []
        for _ in range(rng.randrange(0, 6)):
            middle = rng.choice(["###  ", "", "|", "\n", "█▌"])
            parts.append(
                rng.choice(heads)
                + rng.choice(["%|", "%", "|"])
                + middle
                + f"| {' ' * rng.randrange(2)}{rng.choice(counts)}/{rng.choice(counts)} ["
                + rng.choice(["", "00:10<00:20]", "{'loss': 1}"])
            )
        chunk = "".join(parts).encode()
        got = bars(chunk)
        assert list(zip(got.ends.tolist(), got.n.tolist(), got.total.tolist())) == bars_one_at_a_time(chunk), chunk


def odd_events(path: Path, rng: random.Random, steps: int = 30_000) -> Path:
    """Our events.jsonl as the trainer writes it (every metrics line the same keys; acks, checkpoints,
    system readings, evals among them), and, now and then, what sends a piece down the exact path: a
    NaN, a null, a bool, text, an extra or missing key, a blank or torn line, a float or out-of-range step,
    steps going back (a resume), a metrics line written with spaces, a short run, a huge number."""
    from cockpit.rundir import dumps

    keys = ["epoch", "loss", "grad_norm", "entropy", "learning_rate", "mean_token_accuracy", "num_tokens"]
    out = [dumps({"v": 1, "t": 0.0, "kind": "run_started", "config": {"a": 1}, "total_steps": steps})]
    odd = rng.choice([0.0, 0.0005, 0.003])
    own = rng.random() < 0.4  # a metric of the run's own on every line
    s = acks = 0
    while s < steps:
        s += 1
        ev = {"v": 1, "t": float(s), "kind": "metrics", "step": s, **{k: rng.random() for k in keys}}
        ev.update(mem_used=6e9, mem_total=8e10, mem_kind=rng.choice(["vram", "vram", "rss"]), step_time=0.5)
        if rng.random() < 0.3:
            ev["num_tokens"] = s * 4096  # an int
        if own:
            ev["reward_hacks"] = rng.choice([0.0, 1.0, None])
        line = dumps(ev)
        if rng.random() < odd:
            change = rng.randrange(12)
            if change == 0:
                ev["loss"] = rng.choice([float("nan"), float("inf"), None, True, "1.5", [1], 10**30])
            elif change == 1:
                ev["my_metric"] = 1.0
            elif change == 2:
                del ev[rng.choice(keys)]
            elif change == 3:
                ev["step"] = rng.choice([float(s), -1, 2**53 + 1, "7"])
            elif change == 4:
                s = max(1, s - rng.randrange(1, 200))  # a resume
                ev["step"] = s
            elif change == 5:
                ev["mem_per_rank"] = [1.0, 2.0]
            elif change == 6:
                ev["t"] = rng.choice([None, 12, "noon"])
            line = dumps(ev)
            if change == 7:
                line = json.dumps(ev)  # spaces after the colons
            elif change == 8:
                line = ""
            elif change == 9:
                line = line[: len(line) // 2]
            elif change == 10:
                line = line.replace('"loss":', '"loss":1,"loss":', 1)  # a key twice
            elif change == 11:
                line = line.replace('"kind":"metrics"', '"kind":"metrics","kind":"eval"', 1)
        out.append(line)
        if s % 997 == 0:
            out.append(dumps({"v": 1, "t": float(s), "kind": "system", "step": s, "cpu": 50.0}))
        if s % 4_999 == 0:
            out.append(
                dumps({"v": 1, "t": float(s), "kind": "ack", "id": "c", "cmd": "scale_lr", "ok": True, "step": s})
            )
            acks += 1
            after = {**ev, "step": s + 1, "t": s + 1}  # the next run's first line: a time written as an int,
            if acks % 3 == 1:
                after["my_metric"] = 2.0  # or a key the rest of the run lacks,
            elif acks % 3 == 2:
                s -= 100  # or a resume: the run goes on from an earlier step (once: `acks` moved on)
                after["step"] = s + 1
            out.append(dumps(after))
            s += 1
        if s % 7_001 == 0:
            out.append(dumps({"v": 1, "t": float(s), "kind": "eval", "step": s, "eval_loss": rng.random()}))
        if s % 9_001 == 0:
            out.append(dumps({"v": 1, "t": float(s), "kind": "checkpoint", "step": s, "path": f"checkpoint-{s}"}))
    out.append(dumps({"v": 1, "t": float(s), "kind": "state", "state": "finished", "step": s}))
    path.write_text("\n".join(out) + "\n")
    return path


@pytest.mark.parametrize("seed", range(6))
def test_our_metrics_lines_read_into_columns_fold_as_their_events_do(tmp_path, monkeypatch, seed):
    """events_columns reads runs of our metrics lines with msgspec straight into columns; the History
    must be the one their parsed events fold into (`prefold_blocks` of `parse_lines`), read whole, in
    small pieces and as two halves by two processes."""
    from cockpit.logs import events, events_columns
    from cockpit.rundir import reading

    rng = random.Random(seed)
    path = odd_events(tmp_path / "events.jsonl", rng)
    typed = []
    real_typed = events_columns._typed
    monkeypatch.setattr(events_columns, "_typed", lambda raw: typed.append(r := real_typed(raw)) or r)
    log = resolve(path)
    assert log.kind == "events"
    fast = whole(log.read(), log)
    slow = resolve(path)
    exact = whole(slow.settle(History().extend_blocks(events.blocks(slow.source, slow.stats))), slow)
    same(fast, exact)
    # pieces of 150 lines: runs cut anywhere, short runs, most pieces typed, the odd ones exact
    real = reading.line_blocks
    monkeypatch.setattr(events_columns, "line_blocks", lambda p, st, a=0, b=None: _small(real, p, st, a, b))
    typed.clear()
    small = resolve(path)
    same(whole(small.read(), small), exact)
    assert sum(len(r) for r in typed if r is not None) > 20_000  # (of 30,000 metrics lines)
    monkeypatch.setattr(preload, "MIN_BYTES", 1 << 20)
    h, halves = Preload(path).result()
    same(whole(h, halves), exact)


def whole(h: History, log) -> list[tuple[str, str]]:
    """Every field of the History (system readings, marks, times, acks too) and what the reader counted,
    as (name, repr) pairs: compared with `same`, a difference names its field (not a diff of it all)."""
    fields = {k: list(v) if type(v) is array else v for k, v in vars(h).items()}
    for k in ("series", "eval_series", "sys_series"):
        fields.update({f"{k}[{c}]": list(v) for c, v in fields.pop(k).items()})
    fields["stats"] = dict(vars(log.stats), bad_lines=sorted(log.stats.bad_lines))
    fields["order"] = log.order
    return sorted((k, repr(v)) for k, v in fields.items())


def same(got: list[tuple[str, str]], want: list[tuple[str, str]]) -> None:
    for (k, a), (k2, b) in zip(got, want):
        assert k == k2, (k, k2)
        if a != b:
            i = next(i for i, (x, y) in enumerate(zip(a, b)) if x != y)
            pytest.fail(f"{k} differs at char {i}: {a[max(0, i - 80) : i + 80]!r} != {b[max(0, i - 80) : i + 80]!r}")
    assert len(got) == len(want)


def _small(line_blocks, path, stats, start, end):
    for lines, lineno in line_blocks(path, stats, start, end):
        for i in range(0, len(lines), 150):
            yield lines[i : i + 150], lineno + i
