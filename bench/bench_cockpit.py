"""The cockpit watching a run: event-to-screen latency (p50/p95) at several event rates, whether it keeps
up (lag and memory do not grow), and its CPU use while idle-watching at 10 events/s."""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def new_run():
    """A running run whose 'trainer' is this process; returns (RunDir, EventWriter)."""
    from cockpit.config import RunConfig
    from cockpit.rundir import EventWriter, RunDir

    rd = RunDir(Path(tempfile.mkdtemp()) / "run").create()
    cfg = RunConfig()
    rd.config.write_text(cfg.to_yaml())
    w = EventWriter(rd.events)
    w.write("run_started", config=cfg.model_dump(mode="json"), pid=os.getpid(), total_steps=10**9, device="cpu")
    w.write("state", state="running", step=0)
    return rd, w


def metrics(step: int) -> dict:
    """A plausible logged step: every value moves a little, as in a real run, so every panel changes."""
    import math
    import random

    return {
        "step": step,
        "epoch": step / 1000,
        "loss": 1.0 + 2 / (1 + step / 50) + 0.05 * random.random(),
        "grad_norm": 1.0 + 0.3 * math.sin(step / 7) + 0.1 * random.random(),
        "entropy": 2.0 - step / 1e5,
        "learning_rate": 2e-4 * (1 - step / 1e6),
        "mean_token_accuracy": 0.5 + step / 1e6,
        "num_tokens": 4096 * step,
        "mem_used": 1e9 + 1e6 * random.random(),
        "mem_total": 8e9,
        "mem_kind": "ram",
        "step_time": 0.1 + 0.01 * random.random(),
        "tokens_per_s": 40000 + 500 * random.random(),
    }


def run_rate(rate: float, seconds: float, mode: str = "watching") -> dict:
    """mode: "watching" (nobody at the keys: the idle frame rate) or "active" (keys pressed lately)."""
    import psutil

    from cockpit.tui.app import CockpitApp
    from cockpit.tui.screen import CockpitScreen
    from cockpit.tui.sources import LiveSource

    rd, w = new_run()
    written: dict[int, float] = {}
    shown: dict[int, float] = {}
    orig = CockpitScreen._render_all

    def render(self):  # record when each step first reaches the screen
        orig(self)
        h = self.history
        if len(h):
            last = h.steps[-1]
            now = time.perf_counter()
            for s in range(max(1, last - 5000), last + 1):
                if s in written and s not in shown:
                    shown[s] = now

    CockpitScreen._render_all = render
    stop = threading.Event()

    def writer():
        s = 0
        period = 1.0 / rate
        nxt = time.perf_counter()
        while not stop.is_set():
            s += 1
            written[s] = time.perf_counter()
            w.write("metrics", **metrics(s))
            nxt += period
            time.sleep(max(0.0, nxt - time.perf_counter()))

    proc = psutil.Process()

    async def go():
        app = CockpitApp(LiveSource(rd.path), run_dir=rd.path)
        async with app.run_test(size=(160, 48)) as pilot:
            await pilot.pause(0.5)
            app.screen.pacer.last_key = float("inf") if mode == "active" else float("-inf")
            th = threading.Thread(target=writer, daemon=True)
            th.start()
            rss0 = proc.memory_info().rss
            cpu0 = proc.cpu_times()
            t0 = time.perf_counter()
            half_lag = None
            await pilot.pause(seconds / 2)
            half_lag = len(written) - len(shown)
            await pilot.pause(seconds / 2)
            stop.set()
            cpu1 = proc.cpu_times()
            wall = time.perf_counter() - t0
            rss1 = proc.memory_info().rss
            await pilot.pause(0.5)
            return (
                half_lag,
                len(written) - len(shown),
                (cpu1.user + cpu1.system - cpu0.user - cpu0.system) / wall,
                rss0,
                rss1,
            )

    half_lag, end_lag, cpu, rss0, rss1 = asyncio.run(go())
    CockpitScreen._render_all = orig
    lat = sorted((shown[s] - written[s]) * 1000 for s in shown)
    return {
        "rate": rate,
        "mode": mode,
        "events": len(written),
        "p50": statistics.median(lat) if lat else None,
        "p95": lat[int(0.95 * (len(lat) - 1))] if lat else None,
        "lag_half": half_lag,
        "lag_end": end_lag,
        "cpu": cpu,
        "rss_growth_mb": (rss1 - rss0) / 2**20,
    }


def attached_cpu(rate: float, seconds: float, keys: bool) -> tuple[float, float]:
    """CPU of a real `cockpit attach` process (in a tmux pane, drawing to a terminal) watching a run that
    gets `rate` metrics events a second; with `keys`, a key is pressed every 2 s (the active frame rate)."""
    import subprocess

    import psutil

    rd, w = new_run()
    sock = ["tmux", "-L", f"bench-{os.getpid()}", "-f", "/dev/null"]
    subprocess.run(
        sock
        + [
            "new-session",
            "-d",
            "-s",
            "c",
            "-x",
            "160",
            "-y",
            "48",
            f"exec {sys.executable} -m cockpit.cli attach {rd.path}",
        ],
        check=True,
    )
    # tmux 3.3 sizes a detached session's window 80x24 unless told to keep a manual size
    subprocess.run(sock + ["set-option", "-t", "c", "window-size", "manual"], check=True)
    subprocess.run(sock + ["resize-window", "-t", "c", "-x", "160", "-y", "48"], check=True)
    try:
        pid = int(
            subprocess.run(
                sock + ["list-panes", "-t", "c", "-F", "#{pane_pid}"], capture_output=True, text=True
            ).stdout.split()[0]
        )
        proc = psutil.Process(pid)
        server = proc.parent()  # the tmux server: it parses what the cockpit draws (sshd would, over SSH)
        step, t_next = 0, time.perf_counter()

        def run_for(sec: float, measure: bool) -> float:
            nonlocal step, t_next
            c0, s0, t0, k = proc.cpu_times(), server.cpu_times(), time.perf_counter(), time.perf_counter()
            while time.perf_counter() - t0 < sec:
                step += 1
                w.write("metrics", **metrics(step))
                if keys and time.perf_counter() - k > 2:
                    subprocess.run(sock + ["send-keys", "-t", "c", "F12"], check=True)
                    k = time.perf_counter()
                t_next += 1 / rate
                time.sleep(max(0.0, t_next - time.perf_counter()))
            c1, s1, wall = proc.cpu_times(), server.cpu_times(), time.perf_counter() - t0
            return (
                (c1.user + c1.system - c0.user - c0.system) / wall,
                (s1.user + s1.system - s0.user - s0.system) / wall,
            )

        run_for(17 if not keys else 3, False)  # start-up, and past the first 15 s in which it counts as active
        return run_for(seconds, True)
    finally:
        subprocess.run(sock + ["kill-server"], capture_output=True)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rates", default="10,200,1000")
    ap.add_argument("--seconds", type=float, default=10)
    a = ap.parse_args()
    rows = [run_rate(float(r), a.seconds, mode) for r in a.rates.split(",") for mode in ("watching", "active")]
    print(
        "| events/s | frames | events | latency p50 | latency p95 | backlog at half time / end | "
        "cockpit CPU (incl. writer) | RSS growth |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['rate']:g} | {r['mode']} | {r['events']} | {r['p50']:.0f} ms | {r['p95']:.0f} ms | "
            f"{r['lag_half']} / {r['lag_end']} | {r['cpu']:.1%} of a core | {r['rss_growth_mb']:+.1f} MiB |"
        )
    print()
    print("| `cockpit attach` process in a 160x48 tmux pane, 10 events/s | its CPU | the tmux server's CPU |")
    print("|---|---|---|")
    for keys in (False, True):
        cpu, term = attached_cpu(10, a.seconds * 2, keys)
        print(
            f"| {'a key pressed every 2 s (active, 10 frames/s)' if keys else 'watching (1 frame/s)'} | "
            f"{cpu:.1%} of a core | {term:.1%} of a core |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
