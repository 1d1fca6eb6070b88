"""Alive is not training: a trainer stopped by a signal, or one silent for longer than its steps take,
is shown as such by `ls` and the live cockpit (it used to show RUNNING, "healthy", a frozen clock and an
ETA). A replayed run whose trainer is gone without a final state is not shown running either."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import time

import pytest

from cockpit.rundir import ReadError, Tail, process_state, stall_after
from cockpit.rundir import tail as tail_module
from cockpit.rundir.tail import RETRY_MAX_S
from cockpit.tui.app import CockpitApp
from cockpit.tui.sources import LiveSource, ReplaySource
from cockpit.tui.widgets.run_panel import RunPanel
from runhelpers import cockpit
from tuihelpers import T0, append, write_run


@pytest.fixture
def stopped_process():
    p = subprocess.Popen(["sleep", "120"])
    os.kill(p.pid, signal.SIGSTOP)
    deadline = time.monotonic() + 5
    while process_state(p.pid) != "suspended" and time.monotonic() < deadline:
        time.sleep(0.02)
    yield p
    p.kill()
    p.wait()


def test_process_state_tells_suspended_from_running_and_gone(stopped_process):
    assert process_state(stopped_process.pid) == "suspended"
    os.kill(stopped_process.pid, signal.SIGCONT)
    time.sleep(0.1)
    assert process_state(stopped_process.pid) == "running"
    stopped_process.kill()
    stopped_process.wait()
    assert process_state(stopped_process.pid) == "gone"
    assert stall_after(0.1) == 60.0 and stall_after(30.0) == 300.0 and stall_after(float("nan")) == 60.0


def test_ls_shows_suspended_and_stalled(tmp_path, stopped_process):
    runs = tmp_path / "runs"
    write_run(runs / "a-suspended", state=None, pid=stopped_process.pid)
    stalled = write_run(runs / "b-stalled", state=None, pid=os.getpid())
    old = time.time() - 600
    os.utime(stalled.events, (old, old))
    write_run(runs / "c-fresh", state=None, pid=os.getpid())
    r = cockpit("ls", str(runs))
    lines = {ln.split()[0]: ln for ln in r.stdout.splitlines()[1:] if ln.split()}
    assert "suspended" in lines["a-suspended"], r.stdout
    assert "stalled" in lines["b-stalled"], r.stdout
    assert "running" in lines["c-fresh"], r.stdout
    assert f"kill -CONT {stopped_process.pid}" in r.stdout and "no events for 10m" in r.stdout


def _panel_text(app) -> str:
    """The run panel as drawn (one row a line: the rows' keys are what the panel repaints from)."""
    return app.screen.query_one(RunPanel)._key or ""


async def test_cockpit_shows_a_suspended_trainer_and_no_eta(tmp_path, stopped_process):
    rd = write_run(tmp_path / "r", pid=stopped_process.pid)
    app = CockpitApp(LiveSource(rd.path, poll=0.02), run_dir=rd.path, clock=lambda: T0 + 100)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause(1.2)
        scr = app.screen
        assert scr.state == "suspended"
        assert f"kill -CONT {stopped_process.pid}" in _panel_text(app)
        assert "eta --:--" in _panel_text(app)
        os.kill(stopped_process.pid, signal.SIGCONT)
        await pilot.pause(1.2)
        assert scr.state == "running"


async def test_cockpit_shows_a_silent_trainer_as_stalled(tmp_path):
    rd = write_run(tmp_path / "r", pid=os.getpid())
    old = time.time() - 300
    os.utime(rd.events, (old, old))
    app = CockpitApp(LiveSource(rd.path, poll=0.02), run_dir=rd.path, clock=lambda: T0 + 100)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause(1.2)
        assert app.screen.state == "stalled"
        assert "no events for 30" in _panel_text(app) and "STALLED" in _panel_text(app)


async def test_replay_of_a_run_whose_trainer_is_gone_is_not_running(tmp_path):
    from cockpit.logs import load_history
    from cockpit.tui.launch import _trainer_gone_without_state

    rd = write_run(tmp_path / "r", state=None, pid=999_999_999)
    assert _trainer_gone_without_state(rd.path)
    history, log = load_history(rd.path)
    source = ReplaySource(history, log.title)
    source.ended_without_state = True
    app = CockpitApp(source, run_dir=None)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause(0.4)
        assert app.screen.state == "crashed"
        await pilot.press("home", "right", "right")
        await pilot.pause(0.3)
        assert app.screen.state == "running"  # earlier in the recording it was running
    alive = write_run(tmp_path / "alive", state=None, pid=os.getpid())
    assert not _trainer_gone_without_state(alive.path)


def test_ls_survives_times_that_are_not_times(tmp_path):
    run = tmp_path / "runs" / "odd"
    run.mkdir(parents=True)
    (run / "events.jsonl").write_text(
        '{"v":1,"t":"yesterday","kind":"state","state":"running","step":0}\n'
        '{"v":1,"t":1e300,"kind":"metrics","step":3,"loss":1.0}\n'
    )
    r = cockpit("ls", str(tmp_path / "runs"))
    assert r.returncode == 0 and "odd" in r.stdout and "crashed" in r.stdout, r.stdout + r.stderr


# ---- an events file that cannot be read ------------------------------------------------------------------


class _FailingOpen:
    """`open` for the tail module that fails the way a dying disk or a lost NFS server does, until `healed`."""

    def __init__(self, err: int):
        self.err, self.healed, self.calls = err, False, 0

    def __call__(self, *args, **kwargs):
        if self.healed:
            return open(*args, **kwargs)
        self.calls += 1
        raise OSError(self.err, os.strerror(self.err))


@pytest.mark.parametrize("err", [errno.EIO, errno.ESTALE, errno.EACCES], ids=errno.errorcode.get)
def test_a_tail_that_cannot_read_says_why_backs_off_and_recovers(tmp_path, monkeypatch, err):
    """Only FileNotFoundError was caught: EIO or a stale NFS handle raised out of poll() and ended the
    cockpit's reader thread. Now poll() returns nothing new, `error` says why, and the reads are spaced
    out (doubling) until one works: then the events written meanwhile arrive and the error is gone."""
    rd = write_run(tmp_path / "r", steps=5, pid=os.getpid())
    tail = Tail(rd.events)
    assert len(tail.poll()) > 5 and tail.error is None
    failing = _FailingOpen(err)
    monkeypatch.setattr(tail_module, "open", failing, raising=False)
    append(rd, kind="metrics", step=6, loss=1.0)
    assert tail.poll() == []
    first = tail.error
    assert isinstance(first, ReadError) and first.errno == err and first.failures == 1
    assert os.strerror(err) in str(first) and str(rd.events) in str(first)
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        assert tail.poll() == []
        time.sleep(0.01)
    # 100 polls in one second, but reads only after 0.1, 0.2 and 0.4 s pauses (and the one at 0.7 s ...)
    assert 3 <= failing.calls <= 6 and tail.error.failures == failing.calls, failing.calls
    assert tail.error.since == first.since and tail.error.retry_in > first.retry_in
    failing.healed = True
    deadline = time.monotonic() + RETRY_MAX_S + 1
    got = []
    while not got and time.monotonic() < deadline:
        got = tail.poll()
        time.sleep(0.02)
    assert [e["step"] for e in got] == [6] and tail.error is None


async def test_the_cockpit_shows_an_unreadable_log_and_recovers(tmp_path, monkeypatch):
    """The screen said RUNNING over a reader that had died of an I/O error. Now the status line and the
    event log say the events cannot be read and why, and the run comes back once they can."""
    rd = write_run(tmp_path / "r", pid=os.getpid())
    app = CockpitApp(LiveSource(rd.path, poll=0.02), run_dir=rd.path, clock=lambda: T0 + 100)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause(0.6)
        scr = app.screen
        assert scr.state == "running"
        failing = _FailingOpen(errno.EIO)
        monkeypatch.setattr(tail_module, "open", failing, raising=False)
        append(rd, kind="metrics", step=61, loss=0.6, grad_norm=1.0)
        await pilot.pause(1.2)
        assert failing.calls and scr.state == "unreadable"
        assert "UNREADABLE" in _panel_text(app) and "Input/output error" in _panel_text(app)
        assert any("UNREADABLE" in ln and "events.jsonl" in ln for ln in _log_lines(app)), _log_lines(app)
        assert scr.history.step == 60
        failing.healed = True
        await pilot.pause(RETRY_MAX_S / 2 + 1.0)
        assert scr.state == "running" and scr.history.step == 61
        assert any("events.jsonl is readable again" in ln for ln in _log_lines(app)), _log_lines(app)


def _log_lines(app) -> list[str]:
    """The log's lines as written (on screen a long one wraps over several rows)."""
    return [line.plain for _, line in app.screen.query_one("#log").entries]


def test_headless_says_when_the_log_cannot_be_read(tmp_path, monkeypatch):
    import io

    from cockpit.headless import follow

    rd = write_run(tmp_path / "r", steps=3, state=None, pid=os.getpid())
    failing = _FailingOpen(errno.EIO)
    monkeypatch.setattr(tail_module, "open", failing, raising=False)
    out = io.StringIO()
    assert follow(rd, out=out, poll=0.02, stall_timeout=0.5) == 4
    assert f"read error: cannot read {rd.events}: Input/output error (EIO); retrying" in out.getvalue()


def test_a_sender_that_cannot_read_the_acks_says_so_not_that_the_command_expired(tmp_path, monkeypatch):
    """wait_for_ack polled past the tail's read error and ended with "no ack": `cockpit ctl` then said the
    command expired and would not be applied, which nobody could know. Now it says the acks were unreadable."""
    from cockpit.control import AcksUnreadable, wait_for_ack

    rd = write_run(tmp_path / "r", steps=3, pid=os.getpid())
    monkeypatch.setattr(tail_module, "open", _FailingOpen(errno.EIO), raising=False)
    with pytest.raises(AcksUnreadable, match="cannot read .*events.jsonl.*EIO"):
        wait_for_ack(rd, "abc", timeout=0.3)
    monkeypatch.undo()
    assert wait_for_ack(rd, "abc", timeout=0.1) is None  # readable, no ack: the plain timeout
