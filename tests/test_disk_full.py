"""A full disk never loses the run: the trainer trains on, holds its events until the disk takes them,
saves again when space comes back, and writes its final state even when the disk stays full.

Real trainer processes on the tiny model, with the run directory on a small tmpfs (needs `mount`, as
root in CI; skipped elsewhere). The writer's own logic is also tested on /dev/full, anywhere."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from cockpit.event_writer import EventWriter
from cockpit.rundir import RunDir, pid_alive, read_lock_pid
from runhelpers import adapter_is_finite, cockpit, demo_yaml, events, metric_steps, wait_for


@pytest.fixture
def small_fs(tmp_path):
    mnt = tmp_path / "fs"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", str(mnt)], capture_output=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.decode().strip()}")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def fill(mnt: Path) -> Path:
    filler = mnt / "filler"
    with open(filler, "wb", buffering=0) as f:
        while True:
            try:
                f.write(b"\0" * 4096)
            except OSError as e:
                assert e.errno == errno.ENOSPC
                return filler


def step_seconds(rd: Path) -> float:
    """Wall time per step over the last logged steps: how fast the trainer goes on this machine now."""
    ts = [(e["step"], e["t"]) for e in events(rd) if e["kind"] == "metrics"][-6:]
    return (ts[-1][1] - ts[0][1]) / max(1, ts[-1][0] - ts[0][0])


def full_during(rd: Path, mnt: Path, seconds: float, steps: int = 0) -> None:
    """Pause the run, fill the disk, resume it and let it train on the full disk for `seconds`, and at
    least as long as `steps` steps take at the pace measured before (so that a save falls inside the full
    stretch on a loaded machine too), then free the space: the full stretch falls mid-run however fast
    this machine trains."""
    hold = max(seconds, 2.0 * steps * step_seconds(rd))
    cockpit("ctl", str(rd), "pause", check=True)
    filler = fill(mnt)
    cockpit("ctl", str(rd), "resume", "--no-wait", check=True)
    time.sleep(hold)
    filler.unlink()


def paused_at(rd: Path) -> int:
    return next(e["step"] for e in events(rd) if e["kind"] == "state" and e["state"] == "paused")


def trainer_pid(rd: Path) -> int:
    return next(int(e["trainer_pid"]) for e in events(rd) if e["kind"] == "run_started")


def wait_exit(pid: int, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not pid_alive(pid), "the trainer did not end"


@pytest.mark.slow
def test_disk_full_mid_run_then_space_returns(small_fs, tmp_path):
    cfg = demo_yaml(tmp_path, training__max_steps=100, training__save_steps=5, samples__every=0)
    rd = small_fs / "run"
    cockpit("run", str(cfg), "--detach", "--run-dir", str(rd), check=True)
    wait_for(rd, lambda e: e["kind"] == "checkpoint" and e["step"] >= 10, what="checkpoint 10")
    pid = trainer_pid(rd)
    # saves fail, events and trainer.log writes are refused meanwhile; two saves' worth of steps at least
    full_during(rd, small_fs, seconds=6, steps=2 * 5)
    assert pid_alive(pid), "the trainer died on the full disk"
    at_full = paused_at(rd)
    wait_exit(pid)

    evs = events(rd)
    assert evs[-1]["kind"] == "state" and evs[-1]["state"] == "finished", evs[-1]
    assert metric_steps(rd) == list(range(1, 101)), "held events were lost"
    assert max(metric_steps(rd)) > at_full + 5
    failed = [e for e in evs if e["kind"] == "error"]
    assert len(failed) == 1 and "tries again" in failed[0]["message"], failed
    again = [e for e in evs if e["kind"] == "checkpoint" and "saving works again" in e.get("note", "")]
    assert again and again[0]["step"] > failed[0]["step"]
    assert (rd / "checkpoints" / "checkpoint-100").is_dir()
    assert adapter_is_finite(rd / "adapter")
    assert not any(p.name.startswith(".staging") for p in (rd / "checkpoints").iterdir())


@pytest.mark.slow
def test_disk_full_to_the_end_still_writes_the_final_state(small_fs, tmp_path):
    cfg = demo_yaml(tmp_path, training__max_steps=40, training__save_steps=5, samples__every=0)
    rd = small_fs / "run"
    cockpit("run", str(cfg), "--detach", "--run-dir", str(rd), check=True)
    wait_for(rd, lambda e: e["kind"] == "metrics" and e["step"] >= 6, what="step 6")
    pid = trainer_pid(rd)
    cockpit("ctl", str(rd), "pause", check=True)  # the disk fills before the run can end, however fast it is
    fill(small_fs)
    cockpit("ctl", str(rd), "resume", "--no-wait", check=True)  # the command file still takes a line
    wait_exit(pid)
    evs = events(rd)
    last = evs[-1]
    assert last["kind"] == "state" and last["state"] == "finished", last
    assert last["adapter"] is None and "adapter not saved" in last["reason"]
    assert not (rd / ".space-reserve").exists()
    assert not pid_alive(read_lock_pid(RunDir(rd)))
    r = cockpit("ls", str(small_fs))
    assert "finished" in r.stdout and "crashed" not in r.stdout, r.stdout


def test_writer_holds_events_while_writes_fail_and_keeps_lines_whole(tmp_path, monkeypatch):
    path = tmp_path / "events.jsonl"
    w = EventWriter(path)
    real_write = os.write
    budget = {"bytes": None}

    def flaky_write(fd, data):
        if budget["bytes"] is None:
            return real_write(fd, data)
        if budget["bytes"] <= 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        n = real_write(fd, bytes(data[: budget["bytes"]]))  # the disk takes only part of the line
        budget["bytes"] -= n
        return n

    monkeypatch.setattr(os, "write", flaky_write)
    w.write("metrics", step=1)
    budget["bytes"] = 20
    for s in range(2, 6):
        w.write("metrics", step=s)
    assert w.pending == 4 and w.failed
    budget["bytes"] = None  # space is back
    w.write("state", state="finished", step=5)
    w.close()
    lines = path.read_text().splitlines()
    assert [json.loads(ln).get("step") for ln in lines] == [1, 2, 3, 4, 5, 5]


def test_writer_on_a_disk_that_refuses_everything_never_raises():
    w = EventWriter("/dev/full")
    for s in range(5):
        w.write("metrics", step=s)
    w.sync()
    w.close()
    assert w.failed >= 5
