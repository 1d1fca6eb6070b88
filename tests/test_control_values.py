"""Acks that tell the truth: commands without an id, bad merge values and absurdly small lrs are refused
(before sending where the sender can know, and by the trainer for hand-written lines)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from cockpit.control import CommandError, build_command
from cockpit.rundir import EventWriter, RunDir
from cockpit.trainer.commands import validate
from runhelpers import cockpit, demo_yaml, events, metrics_after, state_is, wait_for


@pytest.mark.parametrize(
    "value,needle",
    [
        ("int3", "not one of fp32, bf16, fp16"),
        ('{"dtype": "fp8"}', "not one of"),
    ],
)
def test_ctl_refuses_bad_merge_values(tmp_path, value, needle):
    rd = RunDir(tmp_path / "run").create()
    with EventWriter(rd.events) as w:
        w.write("state", state="running", step=3)
    r = cockpit("ctl", str(rd.path), "merge", value)
    assert r.returncode == 2 and needle in r.stderr, r.stderr
    r = cockpit("ctl", str(rd.path), "lr", "1e-300")
    assert r.returncode == 2 and "too small to train anything" in r.stderr
    assert rd.control.read_text() == ""  # nothing was written
    assert build_command("merge", "bf16")["value"] == "bf16"


def test_validate_names_what_is_wrong():
    now = time.time()
    assert "no 'id'" in validate({"cmd": "pause"})
    assert "no 'id'" in validate({"id": 7, "cmd": "pause"})
    assert "expired" in validate({"id": "a", "cmd": "pause", "expires": now - 5}, now=now)
    assert validate({"id": "a", "cmd": "pause", "expires": now + 5}, now=now) is None
    assert "not a unix time" in validate({"id": "a", "cmd": "pause", "expires": "soon"})
    assert "unknown field" in validate({"id": "a", "cmd": "merge", "value": {"dtype": "bf16", "force": True}})
    assert validate({"id": "a", "cmd": "merge", "value": {"dtype": "bf16", "out": "/tmp/m"}}) is None
    assert validate({"cmd": "stop", "internal": True}) is None  # SIGTERM and guards: the trainer's own
    with pytest.raises(CommandError):
        build_command("merge", {"dtype": "int3"})


@pytest.mark.slow
def test_trainer_refuses_commands_without_id_or_with_a_bad_merge_value(tmp_path):
    cfg = demo_yaml(tmp_path, training__max_steps=5000, samples__every=0)
    r = cockpit("run", str(cfg), "--detach", "--runs-dir", str(tmp_path / "runs"), check=True)
    rd = Path(r.stdout.strip().splitlines()[-1])
    wait_for(rd, metrics_after(1))
    with open(rd / "control.jsonl", "a") as f:
        f.write(json.dumps({"cmd": "pause"}) + "\n")
        f.write(json.dumps({"id": "m1", "cmd": "merge", "value": {"dtype": "int3"}}) + "\n")
        f.write(json.dumps({"id": "s1", "cmd": "scale_lr", "value": 0.001}) + "\n")
        f.write(json.dumps({"id": "s2", "cmd": "scale_lr", "value": 0.001}) + "\n")
    wait_for(rd, lambda e: e["kind"] == "ack" and e["id"] == "s2", what="the last ack")
    acks = {e["id"]: e for e in events(rd) if e["kind"] == "ack"}
    assert acks[""]["ok"] is False and "no 'id'" in acks[""]["reason"]
    assert acks["m1"]["ok"] is False and "int3" in acks["m1"]["reason"]
    assert acks["s1"]["ok"]  # peak 3e-4 -> 3e-7
    assert acks["s2"]["ok"] is False and "under 1e-08" in acks["s2"]["reason"]  # -> 3e-10: refused
    assert not [e for e in events(rd) if e["kind"] == "state" and e["state"] == "paused"]
    assert not (rd / "merge.log").exists()
    cockpit("ctl", str(rd), "stop", check=True)
    wait_for(rd, state_is("stopped"))
