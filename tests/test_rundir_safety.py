"""Run directories that someone else prepared: symlinked run files, another user's or a world-writable
directory, a directory that is not empty. Nothing is written through a link, nothing is chmod-ed that
was not ours, and each refusal is a clear error (exit 2). Fast: no trainer is started."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from cockpit.rundir import EventWriter, RunDir, RunDirError, append_command, new_command
from runhelpers import cockpit, demo_yaml


def test_run_dir_with_planted_config_and_log_links_is_refused_and_nothing_written(tmp_path):
    """The issue's case: job/ holds config.yaml and trainer.log as links to files that are not the run's."""
    secret = tmp_path / "secret"
    secret.write_text("root only\n")
    os.chmod(secret, 0o600)
    job = tmp_path / "shared" / "job"
    job.mkdir(parents=True)
    (job / "config.yaml").symlink_to(secret)
    (job / "trainer.log").symlink_to(tmp_path / "created-through-link")
    r = cockpit("run", str(demo_yaml(tmp_path)), "--detach", "--run-dir", str(job))
    assert r.returncode == 2, r.stdout + r.stderr
    assert "not empty" in r.stderr and "Traceback" not in r.stderr
    assert secret.read_text() == "root only\n"
    assert not (tmp_path / "created-through-link").exists()
    assert sorted(p.name for p in job.iterdir()) == ["config.yaml", "trainer.log"]


def test_existing_config_is_never_overwritten(tmp_path):
    job = tmp_path / "job"
    job.mkdir()
    (job / "config.yaml").write_text("name: mine\n")
    r = cockpit("run", str(demo_yaml(tmp_path)), "--detach", "--run-dir", str(job))
    assert r.returncode == 2 and "already holds a run" in r.stderr
    assert (job / "config.yaml").read_text() == "name: mine\n"


def test_another_users_directory_is_refused_and_not_chmodded(tmp_path):
    if os.getuid() != 0:
        pytest.skip("needs root to chown a directory to another user")
    job = tmp_path / "job"
    job.mkdir(mode=0o755)
    os.chmod(job, 0o755)
    os.chown(job, 65534, 65534)  # nobody
    r = cockpit("run", str(demo_yaml(tmp_path)), "--detach", "--run-dir", str(job))
    assert r.returncode == 2 and "belongs to another user (uid 65534)" in r.stderr, r.stderr
    assert stat.S_IMODE(job.stat().st_mode) == 0o755 and list(job.iterdir()) == []


def test_world_writable_and_symlinked_run_dirs_are_refused(tmp_path):
    ww = tmp_path / "ww"
    ww.mkdir()
    os.chmod(ww, 0o777)
    with pytest.raises(RunDirError, match="writable by every user"):
        RunDir(ww).create()
    assert stat.S_IMODE(ww.stat().st_mode) == 0o777 and list(ww.iterdir()) == []
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real)
    with pytest.raises(RunDirError, match="symbolic link"):
        RunDir(tmp_path / "link").create()
    assert list(real.iterdir()) == []


def test_an_empty_directory_of_ours_is_used_as_it_is(tmp_path):
    job = tmp_path / "job"
    job.mkdir()
    os.chmod(job, 0o750)
    rd = RunDir(job).create()
    assert stat.S_IMODE(job.stat().st_mode) == 0o750  # never chmod-ed: it existed before us
    assert stat.S_IMODE(rd.control.stat().st_mode) == 0o600 and rd.events.exists()
    new = RunDir(tmp_path / "new").create()
    assert stat.S_IMODE(new.path.stat().st_mode) == 0o700


def test_writers_never_follow_a_link(tmp_path):
    rd = RunDir(tmp_path / "r").create()
    target = tmp_path / "elsewhere"
    for p in (rd.events, rd.control):
        p.unlink()
        p.symlink_to(target)  # dangling
    with pytest.raises(RunDirError, match="symbolic link"):
        EventWriter(rd.events)
    with pytest.raises(RunDirError, match="symbolic link"):
        append_command(rd, new_command("pause"))
    assert not target.exists()


def _run_with_dangling_link(tmp_path: Path, name: str) -> RunDir:
    from cockpit.config import config_from_text

    rd = RunDir(tmp_path / "run").create()
    rd.config.write_text(config_from_text(demo_yaml(tmp_path).read_text(), check_paths=False).to_yaml())
    (rd.checkpoints / "checkpoint-2").mkdir(parents=True)
    p = rd.path / name
    p.unlink()
    p.symlink_to(tmp_path / f"planted-{name}")
    return rd


@pytest.mark.parametrize("name", ["events.jsonl", "control.jsonl"])
def test_dangling_event_and_control_links_are_refused_everywhere(tmp_path, name):
    rd = _run_with_dangling_link(tmp_path, name)
    planted = tmp_path / f"planted-{name}"
    r = subprocess.run(
        [sys.executable, "-m", "cockpit.trainer", str(rd.path)], capture_output=True, text=True, timeout=120
    )
    assert r.returncode == 2 and f"{name} is a symbolic link" in r.stderr, r.stderr
    for args in (
        ("ctl", str(rd.path), "pause", "--timeout", "1"),
        ("resume", str(rd.path), "--detach"),
        ("attach", str(rd.path)),
    ):
        r = cockpit(*args)
        assert r.returncode == 2 and f"{name} is a symbolic link" in r.stderr, (args, r.stdout, r.stderr)
        assert "Traceback" not in r.stderr
    assert not planted.exists()
    assert not rd.lock.exists()


def test_the_launcher_hands_the_lock_to_its_trainer_and_the_file_names_it(tmp_path):
    """The lock goes with the inherited descriptor; a trainer that dies before it writes its own pid is
    seen dead (the file names it, not the launcher), and its lock is free again."""
    from cockpit.rundir import LockHeld, acquire_lock, hand_over_lock, held_lock_fd, read_lock_pid, release_lock

    rd = RunDir(tmp_path / "r").create()
    assert acquire_lock(rd, role="resuming") is None
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"], pass_fds=(held_lock_fd(rd),))
    try:
        hand_over_lock(rd, child.pid, "resuming")
        assert held_lock_fd(rd) is None and read_lock_pid(rd) == child.pid
        with pytest.raises(LockHeld, match=f"being resumed by pid {child.pid}"):
            acquire_lock(rd)
    finally:
        child.kill()
        child.wait()
    note = acquire_lock(rd)
    assert note == f"took over a stale lock from pid {child.pid} (no such process)"
    release_lock(rd)
    assert not rd.lock.exists()
