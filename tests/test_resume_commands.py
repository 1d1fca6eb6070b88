"""A resumed trainer acts only on commands written after it started, and a command that its sender gave
up on (no ack in time) is never applied later: against real trainer processes on the tiny model."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from runhelpers import cockpit, demo_yaml, events, metric_steps, metrics_after, state_is, wait_for

pytestmark = pytest.mark.slow


def _lr_at(run_dir: Path, step: int) -> float:
    return next(e["learning_rate"] for e in events(run_dir) if e["kind"] == "metrics" and e["step"] == step)


def test_run_stopped_by_command_resumes_to_its_end_without_replaying_old_commands(tmp_path):
    # Constant lr, so a second halving would show in the logged learning_rate.
    cfg = demo_yaml(
        tmp_path,
        training__max_steps=60,
        training__save_steps=10,
        training__lr_scheduler_type="constant",
        training__warmup_ratio=0.0,
        samples__every=0,
    )
    r = cockpit("run", str(cfg), "--detach", "--runs-dir", str(tmp_path / "runs"), check=True)
    rd = Path(r.stdout.strip().splitlines()[-1])
    wait_for(rd, metrics_after(12), what="step 13")
    cockpit("ctl", str(rd), "lr", "x0.5", check=True)
    cockpit("ctl", str(rd), "pause", check=True)
    cockpit("ctl", str(rd), "stop", check=True)
    stopped = wait_for(rd, state_is("stopped"), what="stopped")
    old_ids = {e["id"] for e in events(rd) if e["kind"] == "ack"}
    assert len(old_ids) == 3
    halved = _lr_at(rd, max(metric_steps(rd)))
    assert halved == pytest.approx(1.5e-4)

    r = cockpit("resume", str(rd), "--headless", timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    evs = events(rd)
    start = next(i for i, e in enumerate(evs) if e["kind"] == "state" and e["state"] == "resumed")
    after = evs[start:]
    assert not [e for e in after if e["kind"] == "ack"], "old commands were acked again"
    assert not [e for e in after if e["kind"] == "state" and e["state"] in ("paused", "stopping", "stopped")]
    assert after[-1]["kind"] == "state" and after[-1]["state"] == "finished"
    assert max(metric_steps(rd)) == 60 and stopped["step"] < 60
    # The halving was applied once (it lives on in the checkpoint's scheduler), not twice.
    assert _lr_at(rd, 60) == pytest.approx(halved)


def test_a_command_nobody_waits_for_any_more_is_refused_as_expired(tmp_path):
    cfg = demo_yaml(tmp_path, training__max_steps=5000, samples__every=0)
    r = cockpit("run", str(cfg), "--detach", "--runs-dir", str(tmp_path / "runs"), check=True)
    rd = Path(r.stdout.strip().splitlines()[-1])
    started = wait_for(rd, lambda e: e["kind"] == "run_started")
    wait_for(rd, metrics_after(2))
    pid = int(started["trainer_pid"])
    os.kill(pid, signal.SIGSTOP)  # a trainer that does not read its commands for a while
    try:
        r = cockpit("ctl", str(rd), "lr", "x0.5", "--timeout", "1")
        assert r.returncode == 1 and "expired" in r.stderr and "not be applied" in r.stderr, r.stderr
    finally:
        os.kill(pid, signal.SIGCONT)
    ack = wait_for(rd, lambda e: e["kind"] == "ack" and e.get("cmd") == "scale_lr", what="the late ack")
    assert ack["ok"] is False and "expired" in ack["reason"]
    assert not [e for e in events(rd) if e["kind"] == "ack" and e.get("ok")]
    cockpit("ctl", str(rd), "stop", check=True)
    wait_for(rd, state_is("stopped"))


def test_a_sample_asked_for_while_paused_is_answered_before_a_stop(tmp_path):
    """`sample` waited for the next step end, which a paused run never reaches: with a stop after it the
    command was never acked. A paused trainer now generates at once."""
    cfg = demo_yaml(tmp_path, training__max_steps=5000, samples__every=0)
    r = cockpit("run", str(cfg), "--detach", "--runs-dir", str(tmp_path / "runs"), check=True)
    rd = Path(r.stdout.strip().splitlines()[-1])
    wait_for(rd, metrics_after(3), what="step 4")
    cockpit("ctl", str(rd), "pause", check=True)
    paused_at = wait_for(rd, state_is("paused"), what="paused")["step"]
    r = cockpit("ctl", str(rd), "sample", "--timeout", "60")
    assert r.returncode == 0 and "samples written" in r.stdout, r.stdout + r.stderr
    cockpit("ctl", str(rd), "stop", check=True)
    wait_for(rd, state_is("stopped"), what="stopped")
    evs = events(rd)
    samples = [e for e in evs if e["kind"] == "sample"]
    assert samples and {e["step"] for e in samples} == {paused_at}
    ack = next(e for e in evs if e["kind"] == "ack" and e.get("cmd") == "sample")
    assert ack["ok"] and ack["step"] == paused_at
    assert max(metric_steps(rd)) == paused_at  # no step ran to produce them
