"""`cockpit serve`: the cockpit in a real (headless) browser, bound to loopback unless --public.

The browser test loads the page textual-serve serves, waits until the app's first bytes arrived over the
websocket, and reads the pixels xterm.js drew: the cockpit's own palette has to fill the terminal."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

from cockpit.serve import ServeError, check_host, check_port_free, is_loopback
from runhelpers import COCKPIT, ROOT, demo_yaml, kill_trainer, state_is, wait_for
from tuihelpers import write_run

sys.path.insert(0, str(ROOT / "bench"))
from chromium import CHROMIUM, free_port, live_screenshot  # noqa: E402

pytest.importorskip("textual_serve")

FIRST_BYTE = "document.body.classList.contains('-first-byte')"  # textual-serve's page: the app has drawn
COLOURS = """(() => {
  const c = document.querySelector('#terminal canvas.xterm-text-layer') || document.querySelector('#terminal canvas');
  if (!c) return null;
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data, n = {};
  for (let i = 0; i < d.length; i += 4) {
    const k = '#' + ((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]).toString(16).padStart(6, '0');
    n[k] = (n[k] || 0) + 1;
  }
  return {pixels: d.length / 4, colours: n};
})()"""


# xterm.js paints the app's first frames over a few seconds, longer on a busy machine: a fixed wait
# read the canvas half-painted (two thirds black) now and then. Ready is: the first bytes came, and the
# canvas holds no more xterm black than a finished frame does.
DRAWN = f"""{FIRST_BYTE} && (() => {{
  const p = {COLOURS};
  return p && (p.colours['#000000'] || 0) / p.pixels < 0.05;
}})()"""


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost", "127.0.0.2"])
def test_loopback_hosts_are_served(host):
    assert is_loopback(host)
    check_host(host, public=False)


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "::"])
def test_a_public_host_is_refused_without_public(host):
    assert not is_loopback(host)
    with pytest.raises(ServeError, match="plain HTTP.*ssh -L 8000:127.0.0.1:8000"):
        check_host(host, public=False)
    check_host(host, public=True)


def test_a_refused_host_starts_no_run(tmp_path):
    cfg = demo_yaml(tmp_path)
    r = subprocess.run(
        [*COCKPIT, "serve", str(cfg), "--host", "0.0.0.0", "--runs-dir", str(tmp_path / "runs")],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert r.returncode == 2 and "--host 0.0.0.0: not a loopback address" in r.stderr, r.stderr
    assert "--public" in r.stderr and not (tmp_path / "runs").exists()


def test_a_taken_port_is_refused_before_serving(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        with pytest.raises(ServeError, match=f"--port {port}: cannot listen on 127.0.0.1:{port}"):
            check_port_free("127.0.0.1", port)
        rd = write_run(tmp_path / "run", state="finished")
        r = subprocess.run(
            [*COCKPIT, "serve", str(rd.path), "--port", str(port)], capture_output=True, text=True, timeout=60, cwd=ROOT
        )
    assert r.returncode == 2 and f"--port {port}" in r.stderr and "Traceback" not in r.stderr, r.stderr


def test_a_directory_that_is_no_run_is_refused(tmp_path):
    r = subprocess.run(
        [*COCKPIT, "serve", str(tmp_path), "--port", str(free_port())],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert r.returncode == 2 and "is not a run directory (no events.jsonl)" in r.stderr, r.stderr


def start_serving(*args: str, port: int) -> subprocess.Popen:
    proc = subprocess.Popen(
        [*COCKPIT, "serve", *args, "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return proc
        except OSError:
            if proc.poll() is not None:
                raise AssertionError(f"cockpit serve exited {proc.returncode}: {proc.stdout.read()}") from None
            time.sleep(0.2)
    stop_serving(proc)
    raise AssertionError("cockpit serve did not listen within 60 s")


def printed_url(proc: subprocess.Popen, port: int) -> str:
    """The URL `cockpit serve` printed, with this serve's key: the page needs it."""
    line = proc.stdout.readline()
    assert f"at http://127.0.0.1:{port}/?key=" in line, line
    return line.split(" at ", 1)[1].split()[0]


def open_page(url: str) -> str:
    """The printed URL as a browser opens it: the key becomes a cookie, then the page comes."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
    return opener.open(url, timeout=10).read().decode()


def stop_serving(proc: subprocess.Popen) -> None:
    """SIGTERM, as Ctrl+C: textual-serve stops the attach processes it started for the browser tabs."""
    children = psutil.Process(proc.pid).children(recursive=True)
    proc.terminate()
    proc.wait(timeout=30)
    gone, alive = psutil.wait_procs(children, timeout=10)
    for p in alive:
        p.kill()
    assert not alive, f"served processes outlived the server: {[p.pid for p in alive]}"


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="no chromium: the browser test needs a headless browser")
def test_the_cockpit_in_a_headless_browser(tmp_path):
    rd = write_run(tmp_path / "served-run", state="finished")
    port = free_port()
    proc = start_serving(str(rd.path), port=port)
    try:
        url = printed_url(proc, port)
        html = open_page(url)
        assert "<div>cockpit: served-run</div>" in html  # the page's title card names the run
        served = []  # the tab's process, a child of the server, while the page is open

        def children():
            served.extend(" ".join(p.cmdline()) for p in psutil.Process(proc.pid).children(recursive=True))

        probed = live_screenshot(
            url,
            tmp_path / "served.png",
            1280,
            800,
            ready=DRAWN,
            settle=1.0,
            timeout=90,
            probe=COLOURS,
            while_open=children,
        )
        assert any("cockpit.cli attach" in c and str(rd.path) in c for c in served), served
    finally:
        stop_serving(proc)
    assert probed is not None, "no terminal canvas on the page"
    colours, pixels = probed["colours"], probed["pixels"]
    share = lambda c: colours.get(c, 0) / pixels  # noqa: E731
    # cockpit-dark's background and its panels fill the terminal; its green (the bands' ok) draws the
    # sparklines. xterm's own background (black) shows only where the app has not drawn: the cockpit
    # takes the whole browser window, not an 80x24 corner of it.
    assert share("#121212") + share("#1c1c1c") > 0.5, sorted(colours.items(), key=lambda kv: -kv[1])[:10]
    assert share("#5fd75f") > 0.002 and share("#e4e4e4") > 0.005
    assert share("#000000") < 0.05
    assert (tmp_path / "served.png").stat().st_size > 20_000


@pytest.mark.slow
def test_serving_a_config_starts_its_run_then_serves_it(tmp_path):
    cfg = demo_yaml(tmp_path, training__max_steps=6, samples__every=0)
    port = free_port()
    proc = start_serving(str(cfg), "--runs-dir", str(tmp_path / "runs"), port=port)
    try:
        runs = list((tmp_path / "runs").iterdir())
        assert len(runs) == 1
        wait_for(runs[0], state_is("finished"), timeout=180, what="the served config's run to finish")
        printed_line = proc.stdout.readline()
        html = open_page(printed_line.split(" at ", 1)[1].split()[0])
        assert f"cockpit: {runs[0].name}" in html
    finally:
        stop_serving(proc)
        for run in (tmp_path / "runs").iterdir():
            kill_trainer(run)
    assert Path(runs[0], "events.jsonl").is_file()
    printed = proc.stdout.read()
    printed = printed_line + printed  # the first line, with the URL, was read while serving
    assert "serving the cockpit on" in printed and '"GET / HTTP' not in printed, printed  # no access log
    assert "Press Ctrl+C to quit" not in printed  # nor textual-serve's banner under our line


def test_a_bad_config_is_refused_and_nothing_is_served(tmp_path):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("training:\n  learning_rate: fast\n")
    r = subprocess.run(
        [*COCKPIT, "serve", str(cfg), "--port", str(free_port()), "--runs-dir", str(tmp_path / "runs")],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert r.returncode == 2 and "learning_rate" in r.stderr, r.stderr  # cockpit run's message, as it is
    assert "the run did not start" in r.stderr and "serving" not in r.stdout


def test_without_textual_serve_the_extra_is_named(tmp_path):
    rd = write_run(tmp_path / "run", state="finished")
    hide = "import sys; sys.modules['textual_serve'] = None; from cockpit.cli import main; main()"
    r = subprocess.run(
        [sys.executable, "-c", hide, "serve", str(rd.path), "--port", str(free_port())],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert r.returncode == 2 and "pip install 'lora-cockpit[serve]'" in r.stderr, r.stderr
