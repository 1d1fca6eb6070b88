"""Fuzzing the four readers of files anyone can write: events lines, trainer_state.json, control lines,
data rows. Generated garbage, deep nesting, huge numbers, NaN / Infinity, broken Unicode and torn lines
must give each command's own clear error (LogError, DataError, a skipped and counted line, a refused
command), never another exception.

A seeded generator, not hypothesis (not in the test extras): every run tries the same inputs, so a
failure reproduces by its seed; COCKPIT_FUZZ_SEED tries others."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pytest

from cockpit.rundir import ReadStats, RunDir, Tail, dumps, last_event, read_events

SEED = int(os.environ.get("COCKPIT_FUZZ_SEED", "25"))


def nest(rng: random.Random, depth: int) -> str:
    """`depth` levels of arrays and objects around a number."""
    opens = [rng.choice(("[", '{"k":')) for _ in range(depth)]
    return "".join(opens) + "1" + "".join("]" if o == "[" else "}" for o in reversed(opens))


def hostile_value(rng: random.Random) -> str:
    """A JSON value (as text; some are not valid JSON) that has broken a reader somewhere."""
    return rng.choice(
        [
            "NaN",
            "Infinity",
            "-Infinity",
            "1e400",
            "-1e400",
            "1e-400",
            "-0",
            "1e15",
            "-1",
            str(2**63),
            str(2**64),
            str(2**70),
            str(-(2**70)),
            "9" * 400,
            "1" * 5000,
            "true",
            "false",
            "null",
            '""',
            '"\\ud800"',
            '"a\\udfffb"',
            '"\\ud83d\\ude00"',
            '"\\u0000"',
            '"\\ud800\\ud800"',
            '"x\\"',
            "[]",
            "{}",
            '"' + "\u202e" * 50 + '"',
            '"' + "y" * 5000 + '"',
            "12.5",
            "-7",
            "0",
            '"12"',
            '"NaN"',
            '[1,"2",null]',
            '{"a":{"b":[{}]}}',
            nest(rng, rng.choice((5, 31, 33, 100, 600, 1023, 1025, 3000))),
            "[" * 50_000 + "]" * 50_000,
            "[" * 20_000,  # unterminated
        ]
    )


FIELDS = (
    "step",
    "t",
    "kind",
    "v",
    "loss",
    "grad_norm",
    "entropy",
    "learning_rate",
    "epoch",
    "num_tokens",
    "mem_used",
    "mem_total",
    "mem_kind",
    "mem_per_rank",
    "step_time",
    "tokens_per_s",
    "world_size",
    "total_steps",
    "state",
    "message",
    "traceback",
    "config",
    "id",
    "cmd",
    "ok",
    "reason",
    "change",
    "path",
    "eval_loss",
    "rule",
    "action",
    "prompt",
    "completion",
    "status",
    "value",
    "source",
)


def base_event(rng: random.Random, step: int) -> dict:
    kind = rng.choice(
        (
            "metrics",
            "metrics",
            "metrics",
            "state",
            "ack",
            "error",
            "sample",
            "run_started",
            "eval",
            "checkpoint",
            "guard",
            "merge",
            "brand_new",
        )
    )
    ev = {"v": 1, "t": 1_790_000_000.0 + step, "kind": kind, "step": step}
    if kind == "metrics":
        ev.update(loss=2.0, grad_norm=1.0, learning_rate=1e-4, mem_kind="rss", mem_per_rank=[1.0, 2.0])
    elif kind == "state":
        ev["state"] = rng.choice(("running", "paused", "finished", "crashed", "nonsense"))
    elif kind == "ack":
        ev.update(id="c1", cmd="set_lr", ok=rng.random() < 0.5, reason="r", change="lr x0.5")
    elif kind == "error":
        ev.update(message="boom", traceback="Traceback ...")
    elif kind == "sample":
        ev.update(prompt="p", completion="c")
    elif kind == "run_started":
        ev.update(total_steps=100, config={"training": {"learning_rate": 1e-4}}, world_size=1)
    elif kind == "eval":
        ev["eval_loss"] = 1.5
    return ev


def hostile_line(rng: random.Random, step: int) -> bytes:
    """One line (no newline) of one of several kinds of damage."""
    how = rng.randrange(7)
    ev = base_event(rng, step)
    if how <= 2:  # a real event with one field (known or not) replaced by a hostile value
        text = dumps(ev)
        field = rng.choice(FIELDS)
        value = hostile_value(rng)
        if f'"{field}":' in text:
            head, rest = text.split(f'"{field}":', 1)
            depth, i = 0, 0
            while i < len(rest) and not (depth == 0 and rest[i] in ",}"):  # skip the old value
                depth += rest[i] in "[{"
                depth -= rest[i] in "]}"
                i += 1
            text = f'{head}"{field}":{value}{rest[i:]}'
        else:
            text = text[:-1] + f',"{field}":{value}}}'
        return text.encode("utf-8", "surrogatepass")
    if how == 3:  # torn: cut anywhere
        text = dumps(ev).encode()
        return text[: rng.randrange(len(text))]
    if how == 4:  # bytes: random, invalid UTF-8, raw UTF-8 surrogates, NUL, BOM
        return rng.choice(
            (
                bytes(rng.randrange(256) for _ in range(rng.randrange(1, 80))),
                b'{"kind":"metrics","step":3,"x":"\xed\xa0\x80"}',
                b'{"kind":"error","message":"\xff\xfe"}',
                b"\x00" * 10,
                b'\xef\xbb\xbf{"kind":"state","state":"finished"}',
                b"\r",
                b" \t ",
            )
        )
    if how == 5:  # a bare value at the top
        return hostile_value(rng).encode("utf-8", "surrogatepass")
    return (dumps(ev) + dumps(base_event(rng, step))).encode()  # two events run together


def events_file(rng: random.Random, path: Path, n_good: int = 400, n_bad: int = 120) -> None:
    """Runs of good metrics (some over 64 long: the column path) with hostile lines between them."""
    t0 = hostile_value(rng) if rng.random() < 0.5 else "1790000000.0"  # the report prints the first t
    lines = [f'{{"v":1,"t":{t0},"kind":"run_started","total_steps":{n_good},"config":{{}}}}'.encode()]
    bad_at = set(rng.sample(range(1, n_good), n_bad))
    for s in range(1, n_good + 1):
        lines.append(
            dumps(
                {
                    "v": 1,
                    "t": 1_790_000_000.0 + s,
                    "kind": "metrics",
                    "step": s,
                    "loss": 2.0 - s / n_good,
                    "grad_norm": 1.0,
                    "learning_rate": 1e-4,
                }
            ).encode()
        )
        if s in bad_at:
            lines.append(hostile_line(rng, s))
    if rng.random() < 0.3:  # the first line too: first_event_t, run_started
        lines[0] = hostile_line(rng, 0)
    tail = hostile_line(rng, n_good) if rng.random() < 0.5 else b""
    path.write_bytes(b"\n".join(lines) + b"\n" + tail)


def test_fuzz_events_lines_every_reader_and_command(tmp_path, capsys):
    from cockpit.advisor import diagnose
    from cockpit.logs import load_history
    from cockpit.report import main as report_main

    rng = random.Random(SEED)
    for i in range(10):
        rd = RunDir(tmp_path / f"run{i}").create()
        events_file(rng, rd.events)
        h, log = load_history(rd.path)
        assert len(h) >= 1 and log.stats.bad >= 1
        for s in h.steps:
            assert 0 <= s <= 2**53
        # The live reader, fed in random chunks (torn lines held back), reads the same events.
        tail, got = Tail(rd.events), 0
        while True:
            new = tail.poll(max_bytes=rng.choice((1, 7, 100, 4096, 1 << 20)))
            got += len(new)
            if tail.offset >= rd.events.stat().st_size:
                break
        stats = ReadStats()
        assert got == sum(1 for _ in read_events(rd.events, stats)) and tail.stats.bad == stats.bad
        for kind in ("metrics", "state", "run_started", "error", "ack"):
            last_event(rd.events, kind)
        assert diagnose.main(str(rd.path)) in (0, 3)
        assert diagnose.main(str(rd.path), as_json=True) in (0, 3)
        assert report_main(str(rd.path), out=str(tmp_path / f"r{i}.html")) == 0
        assert report_main(str(rd.path), out=str(tmp_path / f"r{i}.md")) == 0
        capsys.readouterr()


def test_fuzz_events_through_the_forked_preload(tmp_path, monkeypatch):
    """A log past the fork threshold: the child reads the first half (and pickles what it kept), this
    process the rest; together they count what one read counts."""
    from cockpit.logs import load_history, preload

    monkeypatch.setattr(preload, "MIN_BYTES", 1 << 20)  # half the size (and time) of a real-size log
    monkeypatch.delenv("COCKPIT_NO_PRELOAD", raising=False)
    rng = random.Random(SEED + 1)
    rd = RunDir(tmp_path / "run").create()
    events_file(rng, rd.events, n_good=8_000, n_bad=400)
    assert rd.events.stat().st_size >= preload.MIN_BYTES
    pre = preload.Preload(rd.path)
    assert pre.pid is not None  # it forked
    h, log = pre.result()
    h2, log2 = load_history(rd.path)
    assert list(h.steps) == list(h2.steps) and log.stats.bad == log2.stats.bad >= 100


def trainer_state_text(rng: random.Random) -> bytes:
    how = rng.randrange(4)
    if how == 0:  # garbage documents
        return rng.choice(
            (
                b"",
                b"   ",
                b"\x00\xff" * 10,
                b"[1,2]",
                b'"x"',
                b"{",
                b'{"log_history": 5}',
                ("[" * 50_000).encode(),
                ('{"log_history":' + "[" * 50_000 + "]" * 50_000 + "}").encode(),
                b'\xef\xbb\xbf{"log_history": []}',
                b'{"log_history": [}',
            )
        )
    entries = []
    for s in range(1, rng.randrange(2, 40)):
        e = {"step": s, "epoch": s / 10, "loss": 2.0 / s, "grad_norm": 1.0, "learning_rate": 1e-4}
        if rng.random() < 0.2:
            e = {"step": s, "eval_loss": 1.0}
        text = json.dumps(e)
        if rng.random() < 0.4:
            text = (
                text[:-1] + f', "{rng.choice(("step", "loss", "eval_loss", "epoch", "train_loss", "x"))}": '
                f"{hostile_value(rng)}}}"
            )
        entries.append(text if rng.random() < 0.9 else hostile_value(rng))
    head = {
        f: hostile_value(rng) if rng.random() < 0.1 else "10"
        for f in ("max_steps", "global_step", "logging_steps", "save_steps")
    }
    doc = "{" + ", ".join(f'"{k}": {v}' for k, v in head.items()) + ', "log_history": [' + ", ".join(entries) + "]}"
    data = doc.encode("utf-8", "surrogatepass")
    return data[: rng.randrange(len(data))] if how == 1 else data


def test_fuzz_trainer_state_json(tmp_path, capsys):
    from cockpit.advisor import diagnose
    from cockpit.logs import LogError, load_history
    from cockpit.report import main as report_main

    rng = random.Random(SEED + 2)
    ok = refused = 0
    for i in range(120):
        p = tmp_path / f"s{i}" / "trainer_state.json"
        p.parent.mkdir()
        p.write_bytes(trainer_state_text(rng))
        try:
            h, log = load_history(p)
        except LogError as e:
            refused += 1
            assert str(e).startswith(str(p))
            assert diagnose.main(str(p)) == 2
            continue
        ok += 1
        for s in h.steps:
            assert 0 <= s <= 2**53
        if i % 4 == 0:  # the commands on a sample of the readable ones (each costs a few ms)
            assert diagnose.main(str(p)) in (0, 3)
            assert report_main(str(p)) == 0
    capsys.readouterr()
    assert ok >= 5 and refused >= 5  # both sides were tried


def test_fuzz_control_lines(tmp_path):
    from cockpit.rundir import parse_line
    from cockpit.trainer.commands import CommandReader, validate

    rng = random.Random(SEED + 3)
    ctl = tmp_path / "control.jsonl"
    ctl.write_bytes(b"")
    reader = CommandReader(ctl)
    lines = []
    for i in range(400):
        cmd = {
            "v": 1,
            "t": 1.0,
            "id": f"c{i}",
            "cmd": rng.choice(("set_lr", "scale_lr", "pause", "stop", "merge")),
            "value": 1e-4,
        }
        text = json.dumps(cmd)
        if rng.random() < 0.7:
            field = rng.choice(("id", "cmd", "value", "source", "t"))
            text = text[:-1] + f', "{field}": {hostile_value(rng)}}}'
        line = text.encode("utf-8", "surrogatepass")
        if rng.random() < 0.15:
            line = hostile_line(rng, i)
        lines.append(line.replace(b"\n", b" "))
    data = b"\n".join(lines) + b"\n"
    seen = []
    pos = 0
    while pos < len(data):  # appended in random pieces, as concurrent writers would
        n = rng.choice((1, 5, 50, 500, 5000))
        with open(ctl, "ab") as f:
            f.write(data[pos : pos + n])
        pos += n
        seen += reader.poll()
    assert len(seen) == sum(1 for ln in lines if ln.strip())
    for cmd in seen:
        reason = validate(cmd)
        assert reason is None or isinstance(reason, str)
        # The ack the trainer writes for it reads back as an event.
        ack = {
            "v": 1,
            "t": 1.0,
            "kind": "ack",
            "id": cmd.get("id", ""),
            "cmd": cmd.get("cmd"),
            "ok": reason is None,
            "step": 3,
            "reason": reason,
        }
        assert parse_line(dumps(ack).encode("utf-8", "surrogatepass")) is not None
    reader.close()


def data_file(rng: random.Random, path: Path, n: int = 150) -> int:
    """A JSONL file of alpaca rows, a share of them damaged; returns the line count."""
    lines = []
    for i in range(n):
        row = json.dumps({"instruction": f"question {i} \u00e9\u4e2d", "input": "", "output": f"answer {i}"})
        r = rng.random()
        if r < 0.25:
            field = rng.choice(("instruction", "input", "output", "extra"))
            row = row[:-1] + f', "{field}": {hostile_value(rng)}}}'
        elif r < 0.35:
            row = hostile_line(rng, i).decode("utf-8", "surrogateescape")
        elif r < 0.4:
            row = row[: rng.randrange(len(row))]
        lines.append(row.replace("\n", " "))
    sep = rng.choice(("\n", "\r\n"))
    path.write_bytes(sep.join(lines).encode("utf-8", "surrogateescape") + b"\n")
    return n


@pytest.mark.parametrize("suffix", [".jsonl", ".json"])
def test_fuzz_data_rows(tmp_path, suffix):
    from cockpit.data.load import DataError, load_file

    rng = random.Random(SEED + 4)
    for i in range(20):
        p = tmp_path / f"d{i}{suffix}"
        n = data_file(rng, p)
        if suffix == ".json" and i % 2:  # a JSON array file, some of it damaged
            rows = p.read_bytes().split(b"\n")
            p.write_bytes(b"[" + b",".join(r for r in rows if r.strip()) + b"]")
        for skip in (False, True):
            try:
                rows, _, _, bad = load_file(str(p), "auto", None, skip)
            except DataError as e:
                assert str(e).startswith(f"{len(e.problems)} malformed row") or str(p) in str(e)
                assert all(1 <= b.line <= n for b in e.problems)
                continue
            assert skip or not bad
            for row in rows:  # what reaches the tokenizer is text it can encode
                json.dumps(row, ensure_ascii=False).encode("utf-8")


def test_fuzz_check_data_on_odd_but_valid_text(tmp_path):
    """Rows the loader keeps (control characters, U+FFFF, right-to-left marks, a pair surrogate, huge
    numbers in extra fields) go through the tokenizer and the chat template without a traceback."""
    from test_data_audit import GOOD, tiny_tokenizer

    from cockpit.config import RunConfig
    from cockpit.data.audit import audit

    rng = random.Random(SEED + 5)
    p = tmp_path / "d.jsonl"
    data_file(rng, p, n=120)
    cfg = RunConfig.model_validate({"data": {"path": str(p), "format": "auto"}})
    rep = audit(cfg, skip_bad=True, tokenizer=tiny_tokenizer(GOOD))
    assert rep.rows > 50 and rep.skipped_rows > 0
