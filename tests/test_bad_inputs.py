"""The bad-input table (docs/bad-inputs.md): one test per row not covered elsewhere. Each input gets a
clear error naming what is wrong, and nothing is written or lost."""

from __future__ import annotations

import math

import pytest

from cockpit.config import ConfigError, config_from_text
from cockpit.control import CommandError, build_command
from cockpit.trainer.commands import validate


@pytest.mark.parametrize(
    "value,reason",
    [
        ("-1e-4", "must be positive"),
        ("0", "must be positive"),
        ("nan", "not a finite number"),
        ("inf", "not a finite number"),
        ("5", "absurd"),
        ("1e9", "absurd"),
        ("fast", "not a number"),
        ("x0", "must be positive"),
        ("x1e6", "out of range"),
        ("x-2", "must be positive"),
        ("", "not a number"),
    ],
)
def test_lr_values_refused_before_sending(value, reason):
    with pytest.raises(CommandError) as e:
        build_command("lr", value)
    assert reason in str(e.value)


def test_unknown_and_malformed_commands():
    with pytest.raises(CommandError, match="unknown command 'explode'"):
        build_command("explode")
    with pytest.raises(CommandError, match="takes no value"):
        build_command("pause", "now")
    with pytest.raises(CommandError, match="needs a value"):
        build_command("lr")


@pytest.mark.parametrize(
    "cmd,reason",
    [
        ({"cmd": "explode"}, "unknown command"),
        ({"cmd": "set_lr", "value": "abc"}, "not a number"),
        ({"cmd": "set_lr", "value": math.nan}, "not a finite number"),
        ({"cmd": "set_lr", "value": -3}, "must be positive"),
        ({"cmd": "scale_lr", "value": 1000}, "out of range"),
        ({"cmd": "set_lr", "value": True}, "not a number"),
    ],
)
def test_trainer_revalidates_hand_written_commands(cmd, reason):
    assert reason in validate({"id": "x", **cmd})


def test_hand_written_string_lr_is_accepted():
    c = {"id": "x", "cmd": "set_lr", "value": "1e-4"}
    assert validate(c) is None and c["value"] == 1e-4


@pytest.mark.parametrize(
    "text,needle",
    [
        ("lora:\n  r: 0\n", "lora.r"),
        ("training:\n  max_grad_norm: -1\n", "training.max_grad_norm"),
        ("lora:\n  lora_dropout: 1.5\n", "lora.lora_dropout"),
        ("training:\n  bf16: true\n  fp16: true\n", "bf16 and fp16"),
        ("model:\n  quantization: 3bit\n", "model.quantization"),
        ("name: ../escape\n", "name"),
        ("training: 5\n", "training"),
    ],
)
def test_out_of_range_and_wrong_shapes(text, needle):
    with pytest.raises(ConfigError) as e:
        config_from_text(text, file="c.yaml", check_paths=False)
    assert needle in str(e.value) and str(e.value).startswith("c.yaml")


def test_missing_local_model_folder(tmp_path):
    with pytest.raises(ConfigError) as e:
        config_from_text("model:\n  name_or_path: ./models/nothere\n", file="c.yaml")
    assert "model.name_or_path" in str(e.value) and e.value.line == 2


# --------------------------------------------------------------------------------------------------
# Hostile lines in the files the readers share (issue 25, items 3 and 7)

DEEP = "[" * 50_000 + "]" * 50_000
"""50,000 nested brackets: the stdlib json raises RecursionError, orjson its own depth error."""


def _run_with(tmp_path, bad_lines: list[str], n: int = 80):
    """A finished run of n metrics steps (a column-path block) with `bad_lines` in the middle."""
    from cockpit.rundir import RunDir, dumps

    rd = RunDir(tmp_path / "run").create()
    lines = [dumps({"v": 1, "t": 1.0, "kind": "run_started", "total_steps": n, "config": {}})]
    for s in range(1, n + 1):
        lines.append(
            dumps(
                {
                    "v": 1,
                    "t": 1.0 + s,
                    "kind": "metrics",
                    "step": s,
                    "loss": 2.0 - s / n,
                    "grad_norm": 1.0,
                    "learning_rate": 1e-4,
                }
            )
        )
        if s == n // 2:
            lines.extend(bad_lines)
    lines.append(dumps({"v": 1, "t": 99.0, "kind": "state", "state": "finished", "step": n}))
    rd.events.write_text("\n".join(lines) + "\n")
    return rd


NESTED_EVENTS = [
    '{"v":1,"kind":"metrics","step":41,"loss":' + DEEP + "}",  # past both parsers' limits
    DEEP,
    '{"v":1,"kind":"error","message":' + "[" * 600 + "]" * 600 + "}",  # orjson reads it; pickle cannot
]
ABSURD_STEPS = [
    '{"v":1,"kind":"metrics","step":%d,"loss":1.0}' % 2**70,  # orjson makes it a float 1.2e21
    '{"v":1,"kind":"metrics","step":%d,"loss":1.0}' % 2**63,  # fits orjson's uint64, not an int64 column
    '{"v":1,"kind":"metrics","step":1e400,"loss":1.0}',  # inf
    '{"v":1,"kind":"metrics","step":NaN,"loss":1.0}',
    '{"v":1,"kind":"metrics","step":-3,"loss":1.0}',
    '{"v":1,"kind":"ack","id":"x","cmd":"stop","ok":true,"step":%d}' % 2**70,
]


@pytest.mark.parametrize("line", NESTED_EVENTS + ABSURD_STEPS, ids=lambda s: s[:40])
def test_hostile_event_line_is_skipped_and_counted(tmp_path, line):
    import pickle

    from cockpit.logs import load_history
    from cockpit.rundir import Tail

    rd = _run_with(tmp_path, [line])
    h, log = load_history(rd.path)
    assert list(h.steps) == list(range(1, 81)) and log.stats.bad == 1 and log.stats.bad_lines == [42]
    assert h.state == "finished" and not h.errors
    pickle.dumps(h)  # what the preload child sends its parent
    tail = Tail(rd.events)
    assert len(tail.poll()) == 82 and tail.stats.bad == 1


def test_diagnose_and_report_skip_nested_and_absurd_lines(tmp_path):
    from runhelpers import cockpit

    rd = _run_with(tmp_path, NESTED_EVENTS + ABSURD_STEPS)
    n = len(NESTED_EVENTS + ABSURD_STEPS)
    for cmd in ("diagnose", "report"):
        r = cockpit(cmd, str(rd.path))
        assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
        assert f"{n} unreadable line(s) skipped" in r.stdout


def test_trainer_state_nested_too_deep_or_with_absurd_steps(tmp_path):
    from cockpit.logs import LogError, load_history
    from runhelpers import cockpit

    deep = tmp_path / "deep" / "trainer_state.json"
    deep.parent.mkdir()
    deep.write_text('{"log_history": ' + DEEP + "}")
    with pytest.raises(LogError, match="nested too deeply"):
        load_history(deep)
    r = cockpit("diagnose", str(deep))
    assert r.returncode == 2 and "trainer_state.json: cannot read as JSON: nested too deeply" in r.stderr
    odd = tmp_path / "trainer_state.json"
    odd.write_text(
        '{"max_steps": 1e400, "log_history": [{"step": 1, "loss": 2.0}, {"step": %d, "loss": 1.0},'
        '{"step": NaN, "loss": 1.0}, {"step": 1e400, "eval_loss": 1.0}, {"step": 2, "loss": 1e999,'
        '"grad_norm": %d}]}' % (2**70, 10**400)
    )
    h, log = load_history(odd)
    assert list(h.steps) == [1, 2] and log.stats.bad == 3 and h.nonfinite == {"loss": [2], "grad_norm": [2]}
    assert h.total_steps is None


def test_history_takes_absurd_values_without_raising():
    """History is also fed events made in memory (the trainer_state converter, tests): it checks too."""
    from cockpit.history import History

    h = History().extend(
        [
            {"kind": "state", "state": "running", "t": 1e15},  # year 31,690,708: datetime raises on it
            {"kind": "run_started", "world_size": "2", "total_steps": float("inf"), "t": 10**400},
            {"kind": "metrics", "step": 2**70, "loss": 1.0},
            {"kind": "metrics", "step": 1, "loss": 10**400, "t": float("nan"), "mem_kind": [1], "mem_per_rank": 5},
            {"kind": "eval", "step": float("inf"), "eval_loss": 1.0},
            {"kind": "eval", "step": 1, "eval_loss": 10**400},
            {"kind": "sample", "step": "x"},
            {"kind": "error", "step": float("nan"), "message": "m"},
            {"kind": "ack", "step": -(2**70), "id": "a", "cmd": "stop", "ok": True},
        ]
    )
    assert list(h.steps) == [1] and h.series["loss"][0] == math.inf and h.world_size == 1
    assert h.first_event_t is None and h.last_event_t is None
    assert h.total_steps is None and h.mem_kind is None and list(h.eval_steps) == [1]
    assert h.upto(1).samples and h.upto(1).errors and h.marks[-1].step == 1


def test_deep_or_broken_control_line_is_unreadable_not_a_crash(tmp_path):
    from cockpit.trainer.commands import CommandReader, validate

    ctl = tmp_path / "control.jsonl"
    ctl.write_text(
        f'{{"id":"a","cmd":"set_lr","value":{DEEP}}}\n'
        '{"id":"b","cmd":"set_lr","value":' + "[" * 600 + "]" * 600 + "}\n"
        '{"id":"c","cmd":"st\\ud800op"}\n{"id":"d","cmd":"stop"}\n'
    )
    reader = CommandReader(ctl)
    cmds = reader.poll()
    assert [c["cmd"] for c in cmds] == ["<unreadable>", "<unreadable>", "st\ufffdop", "stop"]
    assert "an unreadable line" in validate(cmds[0]) and "unknown command" in validate(cmds[2])
    assert reader.bad_lines == 2


def _data(tmp_path, bad: list[str], name: str = "d.jsonl"):
    import json

    rows = [json.dumps({"instruction": f"question {i}", "output": f"answer {i}"}) for i in range(8)]
    p = tmp_path / name
    p.write_text("\n".join(rows[:3] + bad + rows[3:]) + "\n")
    return p


BAD_ROWS = [
    '{"instruction": "q", "output": "half \\ud800 a character"}',
    '{"instruction": "q", "output": ' + DEEP + "}",
    '{"instruction": "q\\udfff", "output": "lone low surrogate"}',
]


def test_lone_surrogate_and_deep_rows_are_bad_rows_by_line(tmp_path):
    from cockpit.data.load import DataError, load_file

    p = _data(tmp_path, BAD_ROWS + ['{"instruction": "q", "output": "a pair is fine \\ud83d\\ude00"}'])
    with pytest.raises(DataError) as e:
        load_file(str(p), "auto", None, False)
    assert [(b.line, b.message[:30]) for b in e.value.problems] == [
        (4, "a string holds a lone surrogat"),
        (5, "nested too deeply: over 1,000 "),
        (6, "a string holds a lone surrogat"),
    ]
    assert f"{p}:4: a string holds a lone surrogate \\ud800" in str(e.value)
    rows, _, _, bad = load_file(str(p), "auto", None, True)
    assert len(rows) == 9 and len(bad) == 3 and rows[3]["completion"][0]["content"] == "a pair is fine \U0001f600"
    arr = tmp_path / "d.json"
    arr.write_text('[{"instruction": "q", "output": "a"}, {"instruction": "q", "output": "b\\ud800"}]')
    with pytest.raises(DataError, match=r"d.json:2: a string holds a lone surrogate \\ud800"):
        load_file(str(arr), "auto", None, False)
    arr.write_text("[" + DEEP + "]")
    with pytest.raises(DataError, match="d.json: nested too deeply"):
        load_file(str(arr), "auto", None, False)


def test_check_data_refuses_surrogate_and_deep_rows_by_line_and_skips_them(tmp_path):
    import json

    from click.testing import CliRunner
    from test_data_audit import GOOD, tiny_tokenizer

    from cockpit.cli import main as cli

    tok = tmp_path / "tok"
    tiny_tokenizer(GOOD).save_pretrained(str(tok))
    cfg = tmp_path / "run.yaml"
    cfg.write_text(json.dumps({"model": {"name_or_path": str(tok)}, "data": {"path": str(_data(tmp_path, BAD_ROWS))}}))
    r = CliRunner().invoke(cli, ["check-data", str(cfg)], catch_exceptions=False)
    assert r.exit_code == 2
    assert "d.jsonl:4: a string holds a lone surrogate" in r.stderr and "d.jsonl:5: nested too deeply" in r.stderr
    r = CliRunner().invoke(cli, ["check-data", str(cfg), "--skip-bad", "--json"], catch_exceptions=False)
    assert r.exit_code == 1 and json.loads(r.stdout)["skipped_rows"] == 3


@pytest.mark.slow
def test_trainer_skips_bad_rows_and_trains_past_a_deeply_nested_control_line(tmp_path):
    """One real trainer run: a lone-surrogate row and a deep row in its data (data.skip_bad), and a
    control line of 50,000 brackets before a `save`. Before: the tokenizer's UnicodeEncodeError, then the
    command reader's RecursionError, each ended the run `crashed`."""
    import subprocess
    import sys

    from cockpit.config import config_from_text
    from cockpit.rundir import RunDir
    from runhelpers import demo_yaml, events

    data = _data(tmp_path, BAD_ROWS[:2])
    # The guards off the point: the demo model's first steps may log grad_norm over 10 (the precursor rule
    # would stop a 3-step run at its last step); this test is about the bad rows and the control line.
    cfg = demo_yaml(
        tmp_path,
        training__max_steps=3,
        samples__every=0,
        data__path=str(data),
        data__skip_bad=True,
        guards__on_precursor="warn",
    )
    rd = RunDir(tmp_path / "run").create()
    rd.config.write_text(config_from_text(cfg.read_text(), check_paths=False).to_yaml())
    with open(rd.control, "a") as f:
        f.write(f'{{"id":"deep","cmd":"pause","value":{DEEP}}}\n{{"id":"s1","cmd":"save"}}\n')
    r = subprocess.run(
        [sys.executable, "-m", "cockpit.trainer", str(rd.path)], capture_output=True, text=True, timeout=300
    )
    assert r.returncode == 0 and "RecursionError" not in r.stderr and "UnicodeEncodeError" not in r.stderr, r.stderr[
        -3000:
    ]
    evs = events(rd.path)
    acks = {e["id"]: e for e in evs if e["kind"] == "ack"}
    assert acks.pop("s1")["ok"] is True  # the line after it is read and applied
    assert all(a["ok"] is False for a in acks.values())  # an unreadable line is never applied
    assert evs[-1]["state"] == "finished"


def test_data_path_to_a_device_a_fifo_or_a_huge_file_is_refused_unread(tmp_path, monkeypatch):
    import os

    from cockpit.data.load import DataError, load_file

    with pytest.raises(DataError, match=r"/dev/zero: not a regular file \(a character device\)"):
        load_file("/dev/zero", "auto", None, True)
    fifo = tmp_path / "pipe.jsonl"
    os.mkfifo(fifo)
    with pytest.raises(DataError, match="not a regular file \\(a named pipe\\)"):  # must not block on open
        load_file(str(fifo), "auto", None, True)
    p = _data(tmp_path, [])
    monkeypatch.setenv("COCKPIT_MAX_DATA_BYTES", "100")
    with pytest.raises(DataError, match="over the 0.0 MiB a data file may have .* COCKPIT_MAX_DATA_BYTES"):
        load_file(str(p), "auto", None, True)
    monkeypatch.delenv("COCKPIT_MAX_DATA_BYTES")
    huge = tmp_path / "huge.jsonl"
    with open(huge, "wb") as f:  # sparse: 5 GiB on paper, no disk used
        f.truncate(5 << 30)
    with pytest.raises(DataError, match="5.0 GiB or more, over the 4.0 GiB"):
        load_file(str(huge), "auto", None, True)
    one_line = tmp_path / "one.jsonl"
    with open(one_line, "wb") as f:  # a binary file with no newline: not read whole either
        f.truncate(80 << 20)
    with pytest.raises(DataError, match="one.jsonl:1: a line over 64.0 MiB long"):
        load_file(str(one_line), "auto", None, True)


def test_event_with_lone_surrogate_or_huge_int_reads_like_orjson_would():
    """The stdlib fallback (a line with NaN) gives what orjson gives for the rest: U+FFFD for a lone
    surrogate (escaped or raw), a float for an int past 64 bits; so nothing downstream meets either."""
    from cockpit.rundir import parse_line

    ev = parse_line(
        b'{"kind":"error","step":1,"loss":NaN,"message":"a\\ud800b","path":"\xed\xa0\x80",'
        b'"n":%d,"pair":"\\ud83d\\ude00"}' % 10**400
    )
    assert ev["message"] == "a\ufffdb" and ev["path"] == "\ufffd" and ev["n"] == math.inf
    assert ev["pair"] == "\U0001f600"
    assert parse_line(b'{"kind":"ack","step":1,"x":%d}' % 2**70)["x"] == float(2**70)
