"""Report and run list on every real log and on our own runs; tolerant reading of bad logs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cockpit.logs import LogError, load_history, resolve
from tuihelpers import write_run

FIX = Path(__file__).parent / "fixtures" / "real-logs"
REAL = sorted(FIX.glob("*.json"))


def cockpit(*args):
    return subprocess.run([sys.executable, "-m", "cockpit.cli", *args], capture_output=True, text=True)


@pytest.mark.parametrize("log", REAL, ids=lambda p: p.name[:24])
def test_report_on_every_real_log(tmp_path, log):
    from cockpit.report import main

    md, html = tmp_path / "r.md", tmp_path / "r.html"
    assert main(str(log), out=str(md)) == 0
    assert main(str(log), out=str(html)) == 0
    text = md.read_text()
    assert text.startswith("# Report:") and "## Findings timeline" in text and "\x1b[" not in text
    assert "<svg" in html.read_text() or "log_history" in log.read_text() and "[]" in log.read_text()


def test_report_on_our_run_lists_actions_and_bands(tmp_path):
    rd = write_run(tmp_path / "run", state="stopped")
    r = cockpit("report", str(rd.path), "--out", str(tmp_path / "r.html"))
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "trainable params" in out and "16,384" in out and "best loss" in out
    assert "scale_lr acked: lr 2e-4 -> 1e-4" in out and "checkpoint" in out
    assert "bands: normal max 5, danger 10, explosion 50" in out
    html = (tmp_path / "r.html").read_text()
    assert "stroke-dasharray" in html and "explosion" in html


def test_report_refuses_bad_out_and_bad_logs(tmp_path):
    rd = write_run(tmp_path / "run", state="finished")
    r = cockpit("report", str(rd.path), "--out", str(tmp_path / "r.pdf"))
    assert r.returncode == 2 and ".md or .html" in r.stderr
    for name, content in (("empty.json", b""), ("bin.json", b"\x00\x01\xff"), ("shape.json", b'{"a": 1}')):
        p = tmp_path / name
        p.write_bytes(content)
        r = cockpit("report", str(p))
        assert r.returncode == 2 and "error:" in r.stderr


def test_tolerant_reading_counts_corrupt_lines(tmp_path):
    rd = write_run(tmp_path / "run", state="finished")
    with open(rd.events, "ab") as f:
        f.write(b'garbage line\n{"v":1,"kind":"brand_new_kind","x":1}\n\x00\xff\n{"v":1,"kind":"metr')
    h, log = load_history(rd.path)
    assert len(h) == 60 and log.stats.bad == 2 and log.stats.torn_tail
    assert any(e["kind"] == "brand_new_kind" for e in h.other)
    r = cockpit("diagnose", str(rd.path))
    assert "2 unreadable line(s) skipped" in r.stdout


def test_hf_logs_with_eval_nan_and_missing_keys(tmp_path):
    p = tmp_path / "trainer_state.json"
    p.write_text('{"max_steps": 4, "global_step": 4, "log_history": ['
                 '{"step": 1, "loss": 2.0}, {"step": 2, "loss": NaN, "grad_norm": Infinity},'
                 '{"step": 2, "eval_loss": 2.5}, {"step": 3, "loss": 1.5, "grad_norm": 1.0}, "junk",'
                 '{"step": 4, "train_runtime": 1.0, "train_loss": 1.7}]}')
    h, log = load_history(p)
    assert list(h.steps) == [1, 2, 3] and len(h.eval_steps) == 1 and log.stats.bad == 1
    assert h.nonfinite["loss"] == [2] and h.nonfinite["grad_norm"] == [2]
    ckpt = tmp_path / "out" / "checkpoint-4"
    ckpt.mkdir(parents=True)
    (ckpt / "trainer_state.json").write_text(p.read_text())
    assert resolve(tmp_path / "out").kind == "trainer_state"
    with pytest.raises(LogError):
        resolve(tmp_path / "nothing-here")


def test_ls_shows_states_and_crashed_by_pid(tmp_path):
    runs = tmp_path / "runs"
    write_run(runs / "a-finished", state="finished", pid=os.getpid())
    write_run(runs / "b-alive", state=None, pid=os.getpid())
    write_run(runs / "c-dead", state=None, pid=999_999_999)
    r = cockpit("ls", str(runs))
    assert r.returncode == 0
    lines = {ln.split()[0]: ln for ln in r.stdout.splitlines()[1:]}
    assert "finished" in lines["a-finished"] and "60/100" in lines["a-finished"]
    assert "running" in lines["b-alive"]
    assert "crashed" in lines["c-dead"]
    assert "does not exist" in cockpit("ls", str(tmp_path / "none")).stdout
