"""Faults survived, against real trainer processes on the tiny model: a killed trainer resumed, one
writer per run, a full disk, an untrusted control file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from runhelpers import (adapter_is_finite, cockpit, demo_yaml, events, kill_trainer, metric_steps, metrics_after,
                        state_is, wait_for)

pytestmark = pytest.mark.slow


def assert_complete(run_dir: Path, logging_steps: int = 1) -> None:
    """Steps strictly increasing, no duplicates, no gap larger than logging_steps."""
    steps = metric_steps(run_dir)
    assert steps, "no metrics"
    assert all(b > a for a, b in zip(steps, steps[1:])), "steps must strictly increase"
    assert max((b - a for a, b in zip(steps, steps[1:])), default=1) <= logging_steps


def test_kill_9_trainer_then_resume_continues_the_same_log(tmp_path):
    cfg = demo_yaml(tmp_path, training__max_steps=60, training__save_steps=10, samples__every=0)
    r = cockpit("run", str(cfg), "--detach", "--runs-dir", str(tmp_path / "runs"), check=True)
    rd = Path(r.stdout.strip().splitlines()[-1])
    wait_for(rd, lambda e: e["kind"] == "checkpoint" and e["step"] >= 20, what="checkpoint 20")
    kill_trainer(rd)
    before = max(metric_steps(rd))

    # The cockpit's own liveness check: the trainer pid is gone and no final state was written.
    import time

    from cockpit.rundir import RunDir, pid_alive, read_lock_pid

    deadline = time.monotonic() + 5
    while pid_alive(read_lock_pid(RunDir(rd))) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not pid_alive(read_lock_pid(RunDir(rd)))

    r = cockpit("resume", str(rd), "--headless", timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    evs = events(rd)
    resumed = [e for e in evs if e["kind"] == "state" and e["state"] == "resumed"]
    assert len(resumed) == 1 and resumed[0]["step"] == before
    assert evs[-1]["state"] == "finished"
    assert_complete(rd)
    assert max(metric_steps(rd)) == 60
    assert adapter_is_finite(rd / "adapter")


def test_one_writer_per_run_and_stale_lock_takeover(tmp_path):
    cfg = demo_yaml(tmp_path, training__max_steps=5000, samples__every=0)
    run_dir = tmp_path / "runs" / "fixed"
    cockpit("run", str(cfg), "--detach", "--run-dir", str(run_dir), check=True)
    wait_for(run_dir, metrics_after(1))

    r = cockpit("run", str(cfg), "--detach", "--run-dir", str(run_dir))
    assert r.returncode == 2 and "in use by trainer pid" in r.stderr
    r = subprocess.run([sys.executable, "-m", "cockpit.trainer", str(run_dir)], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 2 and "in use by trainer pid" in r.stderr
    cockpit("ctl", str(run_dir), "stop", check=True)
    wait_for(run_dir, state_is("stopped"))
    assert_complete(run_dir)

    # A lock left by a dead process is taken over, and the trainer says so.
    stale = tmp_path / "runs" / "stale"
    cockpit("run", str(cfg), "--detach", "--run-dir", str(stale), "--set", "training.max_steps=3", check=True)
    wait_for(stale, state_is("finished", "crashed"))
    (stale / "trainer.lock").write_text("999999 elsewhere\n")
    r = subprocess.run([sys.executable, "-m", "cockpit.trainer", str(stale), "--resume"], capture_output=True,
                       text=True, timeout=300)
    assert "took over a stale lock from pid 999999" in r.stderr


def test_disk_full_during_save_reports_and_keeps_no_partial_checkpoint(tmp_path):
    cfg = demo_yaml(tmp_path, training__max_steps=12, training__save_steps=5, samples__every=0)
    env = {**os.environ, "COCKPIT_FAULT_SAVE_ENOSPC": "1"}
    r = subprocess.run([sys.executable, "-m", "cockpit.cli", "run", str(cfg), "--headless", "--runs-dir",
                        str(tmp_path / "runs")], env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    (rd,) = list((tmp_path / "runs").iterdir())
    errs = [e for e in events(rd) if e["kind"] == "error"]
    assert len(errs) == 1 and "No space left on device" in errs[0]["message"] and "every later save tries again" in errs[0]["message"]
    assert not any(p.name.startswith(("checkpoint-", ".staging")) for p in (rd / "checkpoints").iterdir())
    assert events(rd)[-1]["state"] == "finished"
    assert_complete(rd)


def test_trainer_refuses_control_file_others_can_write(tmp_path):
    from cockpit.config import config_from_text
    from cockpit.rundir import RunDir

    cfg = demo_yaml(tmp_path, training__max_steps=3)
    rd = RunDir(tmp_path / "run").create()
    rd.config.write_text(config_from_text(cfg.read_text(), check_paths=False).to_yaml())
    os.chmod(rd.control, 0o666)
    r = subprocess.run([sys.executable, "-m", "cockpit.trainer", str(rd.path)], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 2 and "writable by other users" in r.stderr
    assert events(rd.path)[-1]["state"] == "crashed"
