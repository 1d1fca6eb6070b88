"""Faults survived, against real trainer processes on the tiny model: a killed trainer resumed, one
writer per run, a full disk, an untrusted control file."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cockpit.rundir import read_events
from runhelpers import (
    adapter_is_finite,
    cockpit,
    demo_yaml,
    events,
    kill_trainer,
    metric_steps,
    metrics_after,
    state_is,
    wait_for,
)

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
    r = subprocess.run(
        [sys.executable, "-m", "cockpit.trainer", str(run_dir)], capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 2 and "in use by trainer pid" in r.stderr
    cockpit("ctl", str(run_dir), "stop", check=True)
    wait_for(run_dir, state_is("stopped"))
    assert_complete(run_dir)

    # A lock left by a dead process is taken over, and the trainer says so.
    stale = tmp_path / "runs" / "stale"
    cockpit("run", str(cfg), "--detach", "--run-dir", str(stale), "--set", "training.max_steps=3", check=True)
    wait_for(stale, state_is("finished", "crashed"))
    wait_gone(stale)  # a lock is stale only once its process is gone (the flock goes with it)
    (stale / "trainer.lock").write_text("999999 elsewhere\n")
    r = subprocess.run(
        [sys.executable, "-m", "cockpit.trainer", str(stale), "--resume"], capture_output=True, text=True, timeout=300
    )
    assert "took over a stale lock from pid 999999" in r.stderr


def test_disk_full_during_save_reports_and_keeps_no_partial_checkpoint(tmp_path):
    cfg = demo_yaml(tmp_path, training__max_steps=12, training__save_steps=5, samples__every=0)
    env = {**os.environ, "COCKPIT_FAULT_SAVE_ENOSPC": "1"}
    r = subprocess.run(
        [sys.executable, "-m", "cockpit.cli", "run", str(cfg), "--headless", "--runs-dir", str(tmp_path / "runs")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    (rd,) = list((tmp_path / "runs").iterdir())
    errs = [e for e in events(rd) if e["kind"] == "error"]
    assert (
        len(errs) == 1
        and "No space left on device" in errs[0]["message"]
        and "every later save tries again" in errs[0]["message"]
    )
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
    r = subprocess.run(
        [sys.executable, "-m", "cockpit.trainer", str(rd.path)], capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 2 and "writable by other users" in r.stderr
    assert events(rd.path)[-1]["state"] == "crashed"


@pytest.fixture(scope="module")
def stopped_run(tmp_path_factory) -> Path:
    """A run stopped by SIGTERM after its first checkpoint: resumable."""
    tmp = tmp_path_factory.mktemp("stopped")
    cfg = demo_yaml(tmp, training__max_steps=5000, training__save_steps=5, samples__every=0)
    rd = tmp / "run"
    cockpit("run", str(cfg), "--detach", "--run-dir", str(rd), check=True)
    wait_for(rd, lambda e: e["kind"] == "checkpoint", what="a checkpoint")
    os.kill(next(e["trainer_pid"] for e in events(rd) if e["kind"] == "run_started"), signal.SIGTERM)
    wait_for(rd, state_is("stopped"))
    wait_gone(rd)
    return rd


def wait_gone(rd: Path, timeout: float = 60) -> None:
    """Until the run's trainer has exited (its lock file is removed last)."""
    deadline = time.monotonic() + timeout
    while (rd / "trainer.lock").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not (rd / "trainer.lock").exists(), "the trainer did not exit"


def test_two_resumes_at_once_the_second_is_told_by_whom_and_nothing_crashes(stopped_run):
    rd = stopped_run
    before = (rd / "events.jsonl").stat().st_size
    argv = [sys.executable, "-m", "cockpit.cli", "resume", str(rd), "--detach"]
    procs = [subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [(p, *p.communicate(timeout=120)) for p in procs]
    ((winner, w_out, w_err),) = [o for o in outs if o[0].returncode == 0]
    ((loser, l_out, l_err),) = [o for o in outs if o[0].returncode != 0]
    assert loser.returncode == 2, l_out + l_err
    m = re.search(r"already being resumed by pid (\d+)", l_err)
    assert m, l_err
    started = wait_for(rd, lambda e: e["kind"] == "run_started" and e.get("resumed_from"), what="the resumed start")
    assert int(m.group(1)) in (winner.pid, started["trainer_pid"])
    assert "stale" not in l_out + l_err and "crashed" not in l_out + l_err
    wait_for(rd, lambda e: e["kind"] == "metrics" and e["t"] > started["t"], what="resumed training")
    os.kill(started["trainer_pid"], signal.SIGTERM)
    wait_for(rd, lambda e: e["kind"] == "state" and e["state"] == "stopped" and e["t"] > started["t"])
    wait_gone(rd)
    new = list(read_events(rd / "events.jsonl", start=before))
    states = [e["state"] for e in new if e["kind"] == "state"]
    assert states[0] == "resumed" and states[-1] == "stopped" and "crashed" not in states, states
    assert sum(1 for e in new if e["kind"] == "run_started") == 1


def resume_edited(rd: Path, old: str, new: str):
    """`cockpit resume` with `old` in config.yaml replaced by `new` (put back afterwards): the result,
    and the size of events.jsonl before it."""
    cfg = rd / "config.yaml"
    text = cfg.read_text()
    cfg.write_text(text.replace(old, new))
    assert cfg.read_text() != text
    before = (rd / "events.jsonl").stat().st_size
    try:
        return cockpit("resume", str(rd), "--detach"), before
    finally:
        cfg.write_text(text)


def test_resume_after_lora_r_was_edited_names_the_change(stopped_run):
    rd = stopped_run
    r, before = resume_edited(rd, "\n  r: 8\n", "\n  r: 16\n")
    assert r.returncode == 2, r.stdout + r.stderr
    assert "lora.r: 8 in the checkpoint, 16 in config.yaml" in r.stderr and len(r.stderr.splitlines()) <= 3
    assert (rd / "events.jsonl").stat().st_size == before and not (rd / "trainer.lock").exists()


def test_resume_after_the_base_model_was_changed_is_refused(stopped_run, tmp_path):
    """config.yaml pointed at another base: of the same shapes (a copy of the demo model here, which
    resumed silently on weights the adapter never saw), or of others (a size-mismatch traceback and a
    "crashed" run). Both are refused before anything starts, naming both models."""
    import shutil

    from cockpit.demo import resolve_model_path

    rd = stopped_run
    other = tmp_path / "other-model"
    shutil.copytree(resolve_model_path("demo:tiny-llama"), other)
    line = next(x for x in (rd / "config.yaml").read_text().splitlines() if x.strip().startswith("name_or_path:"))
    r, before = resume_edited(rd, line, line.split(":", 1)[0] + f": {other}")
    assert r.returncode == 2, r.stdout + r.stderr
    assert f"model.name_or_path: 'demo:tiny-llama' when the checkpoints were saved, '{other}' in config.yaml" in (
        r.stderr
    )
    assert "Traceback" not in r.stderr
    assert (rd / "events.jsonl").stat().st_size == before and not (rd / "trainer.lock").exists()


def test_sigterm_while_loading_ends_stopped_and_frees_the_lock(tmp_path):
    from cockpit.config import config_from_text
    from cockpit.rundir import RunDir

    rd = RunDir(tmp_path / "run").create()
    rd.config.write_text(
        config_from_text(demo_yaml(tmp_path, training__max_steps=3).read_text(), check_paths=False).to_yaml()
    )
    p = subprocess.Popen(
        [sys.executable, "-m", "cockpit.trainer", str(rd.path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    wait_for(rd.path, state_is("starting"), what="the starting state")
    p.send_signal(signal.SIGTERM)
    out, _ = p.communicate(timeout=60)
    assert p.returncode == 0, out
    last = events(rd.path)[-1]
    assert last["kind"] == "state" and last["state"] == "stopped" and "SIGTERM while loading" in last["reason"]
    assert not any(e["kind"] == "run_started" for e in events(rd.path))
    assert not rd.lock.exists()


def _proc_state(pid: int) -> str | None:
    """The state letter in /proc/PID/stat (Z: a zombie), or None once the pid is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b") ", 1)[1][:1].decode()
    except FileNotFoundError:
        return None


def test_a_finished_trainer_is_reaped_while_its_launcher_lives(tmp_path):
    """The trainer stayed <defunct> for as long as the process that started it lived: a cockpit left
    open on the finished run, or `cockpit sweep` with every finished trial. All of them start it with
    launch.start_run / resume_run; this test process is that launcher, alive throughout."""
    from cockpit.config import load_config
    from cockpit.launch import start_run

    cfg = load_config(demo_yaml(tmp_path, training__max_steps=3, samples__every=0))
    rd = start_run(cfg, runs_dir=tmp_path / "runs")
    pid = rd.spawned.pid
    wait_for(rd.path, state_is("finished", "stopped", "crashed"), what="the final state")
    deadline = time.monotonic() + 60
    while _proc_state(pid) not in (None, "Z") and time.monotonic() < deadline:
        time.sleep(0.1)  # the trainer exits shortly after its final state
    assert _proc_state(pid) in (None, "Z"), f"trainer pid {pid} has not exited 60 s after its final state"
    deadline = time.monotonic() + 5
    while _proc_state(pid) == "Z" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _proc_state(pid) is None, f"trainer pid {pid} is left <defunct> while its launcher is alive"
    assert rd.spawned.returncode == 0
