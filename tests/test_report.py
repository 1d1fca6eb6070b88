"""Report and run list on every real log and on our own runs; tolerant reading of bad logs."""

from __future__ import annotations

import json
import os
import shutil
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
    assert r.stdout == f"saved: {tmp_path / 'r.html'}\n"  # the file was asked for; the terminal says where
    r = cockpit("report", str(rd.path))
    out = r.stdout
    assert "trainable params" in out and "16,384" in out and "best loss" in out
    assert "scale_lr acked: lr 2e-4 -> 1e-4" in out and "checkpoint" in out
    assert "horizontal lines: normal max at 5, danger at 10" in out and "off the chart: explosion at 50" in out
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
    p.write_text(
        '{"max_steps": 4, "global_step": 4, "log_history": ['
        '{"step": 1, "loss": 2.0}, {"step": 2, "loss": NaN, "grad_norm": Infinity},'
        '{"step": 2, "eval_loss": 2.5}, {"step": 3, "loss": 1.5, "grad_norm": 1.0}, "junk",'
        '{"step": 4, "train_runtime": 1.0, "train_loss": 1.7}]}'
    )
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


def _vram_run_with_eval(path: Path):
    """write_run's run, as if on a 24 GiB GPU, with an evaluation every 15 steps."""
    from cockpit.rundir import dumps

    rd = write_run(path, state="finished")
    lines = rd.events.read_text().splitlines()
    out = []
    for line in lines:
        ev = json.loads(line)
        if ev["kind"] == "metrics":
            ev.update(mem_kind="vram", mem_used=7.52e8 + ev["step"] * 1e8)
        out.append(dumps(ev))
        if ev["kind"] == "metrics" and ev["step"] % 15 == 0:
            out.append(dumps({"v": 1, "t": ev["t"], "kind": "eval", "step": ev["step"], "eval_loss": ev["loss"] * 1.1}))
    rd.events.write_text("\n".join(out) + "\n")
    return rd


def test_html_report_ticks_units_eval_bands_spans_and_labelled_marks(tmp_path):
    from cockpit.logs import load_history
    from cockpit.report.html import render_html
    from cockpit.report.model import build_report

    rd = _vram_run_with_eval(tmp_path / "run")
    rep = build_report(*load_history(rd.path))
    charts = {c.key: c for c in rep.charts}
    loss = charts["loss"]
    assert [ln.kind for ln in loss.lines] == ["train", "eval"] and loss.lines[1].steps == [15, 30, 45, 60]
    assert loss.lines[0].smooth is not None and len(loss.lines[0].smooth) == len(loss.lines[0].values)
    assert charts["grad_norm"].log_y and [b.lo for b in charts["grad_norm"].bands] == [5.0, 10.0, 50.0]
    assert max(charts["mem_used"].lines[0].values) < 24  # GiB, not bytes
    assert [(s.first, s.last, s.label) for s in charts["grad_norm"].spans] == [(40, 42, "grad_norm_precursor")]
    assert not charts["loss"].spans  # a grad_norm finding is shaded on the grad_norm chart only
    page = render_html(rep)
    assert "memory, GiB" in page and "7.52e+08" not in page
    assert ">2.0e-04<" in page and ">1.0e-04<" in page  # lr ticks in scientific notation
    assert "grad_norm (log scale)" in page and ">10<" in page and ">1<" in page
    assert ">lr 2e-4 -&gt; 1e-4<" in page and ">ckpt 50<" in page  # labelled markers
    assert "<title>grad_norm_precursor: steps 40-42</title>" in page
    assert 'stroke-dasharray="6 3"' in page and "<circle" in page  # eval loss on the loss chart
    assert "<script" not in page and "https://" not in page


def test_text_report_says_what_its_lines_are(tmp_path):
    from tuihelpers import append

    rd = _vram_run_with_eval(tmp_path / "run")
    # `save` acks "checkpoint at step 50", then its checkpoint is marked: one line, said once
    append(rd, kind="ack", id="s1", cmd="save", ok=True, step=50, change="checkpoint at step 50")
    r = cockpit("report", str(rd.path))
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "state: state" not in out and "step 60  state: finished" in out
    assert "vertical lines: step 30 lr 2e-4 -> 1e-4; step 50 ckpt 50" in out
    assert "operator actions / guards" not in out
    assert "memory, GiB" in out and "2.0e-04" in out and "throughput, tokens/s" in out
    # the legend under the loss chart, not over its first steps; a marker per line
    assert "  ⠶ train loss   o eval loss" in out.split("Charts")[1]


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def _png_pixels(data: bytes) -> bytes:
    """The compressed image data, inflated (filter bytes included: enough to tell blank from drawn)."""
    import zlib

    i, idat = 8, b""
    while i < len(data):
        n = int.from_bytes(data[i : i + 4], "big")
        if data[i + 4 : i + 8] == b"IDAT":
            idat += data[i + 8 : i + 8 + n]
        i += 12 + n
    return zlib.decompress(idat)


CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium on this machine (apt-get install chromium)")
def test_html_report_renders_in_headless_chromium(tmp_path):
    from cockpit.logs import load_history
    from cockpit.report.html import render_html
    from cockpit.report.model import build_report

    page = tmp_path / "report.html"
    page.write_text(render_html(build_report(*load_history(_vram_run_with_eval(tmp_path / "run").path))))
    blank = tmp_path / "blank.html"
    blank.write_text("<!doctype html><html><body></body></html>")

    def shot(src: Path) -> bytes:
        png = src.with_suffix(".png")
        subprocess.run(
            [
                CHROMIUM,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                f"--screenshot={png}",
                "--window-size=1000,1400",
                src.as_uri(),
            ],
            capture_output=True,
            timeout=120,
        )
        assert png.exists(), f"chromium wrote no screenshot of {src.name}"
        return png.read_bytes()

    drawn, empty = shot(page), shot(blank)
    assert _png_size(drawn) == (1000, 1400)
    pixels, nothing = _png_pixels(drawn), _png_pixels(empty)
    # A blank page is one colour: a handful of byte values that compress to almost nothing.
    assert len(set(nothing)) < 8 and len(set(pixels)) > 100
    assert len(drawn) > 20 * len(empty)


def test_tick_labels_read_as_people_write_them():
    from cockpit.report.units import fmt_tick, linear_ticks, log_ticks

    cases = [
        (900_000, None, 100_000, "900k"),
        (1.25e6, None, 2.5e5, "1.25M"),
        (12_500, None, 2_500, "12.5k"),
        (3_600, "tokens/s", 200, "3,600"),
        (0.25, None, 0.05, "0.25"),
        (2e-4, "lr", 2e-5, "2.0e-04"),
        (0, "lr", 1, "0"),
    ]
    assert [fmt_tick(v, unit, step) for v, unit, step, _ in cases] == [want for *_, want in cases]
    assert linear_ticks(0.52, 3.41) == (0.0, 4.0, [0.0, 1.0, 2.0, 3.0, 4.0])
    assert log_ticks(0.3, 33.4)[2] == [0.2, 0.5, 1, 2, 5, 10, 20, 50]
    lo, hi, ticks = linear_ticks(1.2e21, 1.2e21)  # flat at a value where +1 is lost: still a range
    assert lo < 1.2e21 < hi and len(ticks) >= 2
