"""Reading a long log in a forked child gives the same History as reading it here, and every failure
(a bad log, a child that dies) ends as it would without the child."""

from __future__ import annotations

import os
import signal
import time

import pytest

from cockpit.logs import LogError, load_history, preload
from cockpit.logs.preload import Preload
from cockpit.rundir import RunDir, dumps


@pytest.fixture(autouse=True)
def fork_from_1mib(monkeypatch):
    monkeypatch.setattr(preload, "MIN_BYTES", 1 << 20)


def long_run(path, steps: int = 20_000) -> RunDir:
    rd = RunDir(path).create()
    with open(rd.events, "w") as f:
        f.write(dumps({"v": 1, "t": 1.0, "kind": "run_started", "config": {}, "total_steps": steps}) + "\n")
        for s in range(1, steps + 1):
            f.write(
                dumps(
                    {
                        "v": 1,
                        "t": 1.0 + s,
                        "kind": "metrics",
                        "step": s,
                        "loss": 2.0 / s**0.1,
                        "grad_norm": 1.0 if s != 777 else float("nan"),
                        "learning_rate": 1e-4,
                        "entropy": 1.5,
                        "mem_used": 1e9,
                        "mem_total": 8e9,
                        "mem_kind": "ram",
                    }
                )
                + "\n"
            )
            if s % 5000 == 0:
                f.write(
                    dumps({"v": 1, "t": 1.0 + s, "kind": "ack", "id": f"a{s}", "cmd": "save", "ok": True, "step": s})
                    + "\n"
                )
    assert rd.events.stat().st_size >= preload.MIN_BYTES
    return rd


def test_forked_read_equals_inline(tmp_path):
    rd = long_run(tmp_path / "r")
    pre = Preload(rd.path)
    assert pre.pid is not None  # it did fork
    h, log = pre.result()
    h2, log2 = load_history(rd.path)
    assert list(h.steps) == list(h2.steps) and len(h) == 20_000
    for k in h.series:
        assert [repr(x) for x in h.series[k]] == [repr(x) for x in h2.series[k]], k
    assert h.nonfinite == h2.nonfinite == {"grad_norm": [777]}
    assert [m.label for m in h.marks] == [m.label for m in h2.marks] and log.title == log2.title


def test_errors_in_the_child_are_raised_here(tmp_path):
    bad = tmp_path / "events.jsonl"
    bad.write_bytes(b"\x00\xff" * (preload.MIN_BYTES // 2 + 1))  # binary: no events at all
    pre = Preload(bad)
    assert pre.pid is not None
    h, _ = pre.result()  # a binary events file folds to nothing, like the in-process read
    assert len(h) == 0
    pre = Preload(tmp_path / "missing")
    with pytest.raises(LogError):
        pre.result()


def test_a_child_that_dies_is_replaced_by_an_inline_read(tmp_path):
    rd = long_run(tmp_path / "r")
    pre = Preload(rd.path)
    os.kill(pre.pid, signal.SIGKILL)
    h, _ = pre.result()
    assert len(h) == 20_000


def test_small_logs_and_the_switch_do_not_fork(tmp_path, monkeypatch):
    rd = long_run(tmp_path / "r")
    monkeypatch.setenv("COCKPIT_NO_PRELOAD", "1")
    assert Preload(rd.path).pid is None
    monkeypatch.delenv("COCKPIT_NO_PRELOAD")
    monkeypatch.setattr(preload, "MIN_BYTES", 1 << 40)
    assert Preload(rd.path).pid is None


def test_split_read_keeps_line_numbers_bad_lines_and_a_torn_tail(tmp_path):
    """The child reads the head of the file and this process the tail: a corrupt line in each part is
    counted with its true line number, a resume that re-logs steps across the split keeps the later
    values, and a torn last line is reported, exactly as one in-process read."""
    rd = long_run(tmp_path / "r")
    with open(rd.events, "ab") as f:
        f.write(b"{corrupt\n")
        for s in range(19_990, 20_011):  # a resume re-logging from step 19,990
            f.write(
                dumps(
                    {
                        "v": 1,
                        "t": 9e4 + s,
                        "kind": "metrics",
                        "step": s,
                        "loss": 0.5,
                        "grad_norm": 2.0,
                        "learning_rate": 1e-4,
                        "entropy": 1.0,
                        "mem_used": 1e9,
                        "mem_total": 8e9,
                        "mem_kind": "ram",
                    }
                ).encode()
                + b"\n"
            )
        f.write(b'{"v": 1, "kind": "metr')  # torn
    lines = rd.events.read_bytes().split(b"\n")
    head_bad = 3
    lines.insert(head_bad - 1, b"not json at all")
    rd.events.write_bytes(b"\n".join(lines))
    pre = Preload(rd.path)
    assert pre.pid is not None and pre.split is not None
    h, log = pre.result()
    h2, log2 = load_history(rd.path)
    assert list(h.steps) == list(h2.steps) and h.steps[-1] == 20_010
    for k in h.series:
        assert [repr(x) for x in h.series[k]] == [repr(x) for x in h2.series[k]], k
    assert log.stats.bad == log2.stats.bad == 2
    assert log.stats.bad_lines == log2.stats.bad_lines
    assert log.stats.bad_lines[0] == head_bad and log.stats.torn_tail and log2.stats.torn_tail
    assert log.stats.lines == log2.stats.lines


def test_live_read_stops_at_the_last_whole_line_and_can_be_cancelled(tmp_path):
    rd = long_run(tmp_path / "r")
    with open(rd.events, "ab") as f:
        f.write(b'{"v": 1, "t": 2.0, "kind": "metrics", "step": 20')  # the trainer is mid-line
    pre = Preload(rd.path, live=True)
    assert pre.pid is not None and pre.wait(30)
    h, stats, end = pre.result_live()
    assert len(h) == 20_000 and rd.events.read_bytes()[:end].endswith(b"\n")
    assert stats.end_lineno == rd.events.read_bytes()[:end].count(b"\n") and not stats.torn_tail
    # closed before the child answered: it is killed and reaped, never left blocked on a full pipe
    pre = Preload(rd.path, live=True)
    pid = pre.pid
    pre.cancel()
    assert pre.fd is None and pre.result_live() is None
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
    # a child that died is not trusted: the caller reads the file itself
    pre = Preload(rd.path, live=True)
    os.kill(pre.pid, signal.SIGKILL)
    assert pre.result_live() is None


def _group(pgid: int) -> list[int]:
    """The live processes of a process group (zombies, waiting to be reaped, left out)."""
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                fields = open(f"/proc/{d}/stat").read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                out.append(int(d))
    return out


def test_a_whole_log_is_read_by_two_processes_and_both_are_cancelled(tmp_path, monkeypatch):
    # The replay asks for the whole log (share 1.0): its child forks one more reader for the first half.
    rd = long_run(tmp_path / "r", steps=60_000)
    monkeypatch.setattr(preload, "TWO_READERS_BYTES", 4 << 20)
    pre = Preload(rd.path, share=1.0)
    h, _ = pre.result()
    h2, _ = load_history(rd.path)
    assert list(h.steps) == list(h2.steps) and len(h) == 60_000 and h.nonfinite == h2.nonfinite
    assert [m.label for m in h.marks] == [m.label for m in h2.marks]
    pre = Preload(rd.path, share=1.0)
    deadline = time.monotonic() + 20
    while len(_group(pre.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.005)
    assert len(_group(pre.pid)) == 2, "the child forked no second reader"
    pgid = pre.pid
    pre.cancel()
    time.sleep(0.2)
    assert _group(pgid) == []  # the second reader went with the child, not left to read on alone


def test_readers_end_with_the_command_that_started_them(tmp_path):
    # A replay quit (or killed) while its log is still being read: its readers do not read on for nobody.
    import subprocess
    import sys

    rd = long_run(tmp_path / "r", steps=60_000)
    pid_file = tmp_path / "pid"
    script = (
        "import sys, time; from cockpit.logs import preload; preload.MIN_BYTES = 1 << 20; "
        "preload.TWO_READERS_BYTES = 4 << 20; preload._read = lambda *a: time.sleep(60); "  # a slow read
        "p = preload.Preload(sys.argv[1], share=1.0); open(sys.argv[2], 'w').write(str(p.pid)); time.sleep(0.3)"
    )
    subprocess.run([sys.executable, "-c", script, str(rd.path), str(pid_file)], check=True, timeout=60)
    pgid = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    try:
        while _group(pgid) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert _group(pgid) == []
    finally:
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_a_tensorboard_folder_is_read_by_the_child_too(tmp_path, monkeypatch):
    """The replay is on screen while another tool's log is read: its folder's size counts the files under
    it (`output_dir/runs/<stamp>/events.out.tfevents.*`), not an events.jsonl it does not hold."""
    import shutil
    from pathlib import Path

    tb = tmp_path / "out"
    shutil.copytree(Path(__file__).parent / "fixtures" / "trackers" / "generated" / "tensorboard", tb / "runs" / "x")
    monkeypatch.setattr(preload, "MIN_BYTES", 1)
    pre = Preload(tb, share=1.0)
    assert pre.forked
    h, log = pre.result()
    h2, _ = load_history(tb)
    assert log.kind == "tensorboard" and len(h) == len(h2) > 0
