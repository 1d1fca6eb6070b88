"""Soak (not in the default suite: `make soak`): the cockpit attached to the demo run for SOAK_MINUTES
(default 30) with a command every few seconds from a script; reports both processes' memory at start
and end and any lost or duplicated acks."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from runhelpers import demo_yaml, events, wait_for

pytestmark = pytest.mark.soak


def test_soak(tmp_path):
    minutes = float(os.environ.get("SOAK_MINUTES", "30"))
    cfg = demo_yaml(
        tmp_path,
        training__max_steps=10_000_000,
        training__save_steps=500,
        samples__every=200,
        training__lr_scheduler_type="constant",
        # The tiny model spikes past the explosion bound now and then over thousands of steps; the
        # soak is about the cockpit staying up, so the guard warns instead of ending the run.
        guards__on_explosion="warn",
    )
    r = subprocess.run(
        [sys.executable, "-m", "cockpit.cli", "run", str(cfg), "--detach", "--runs-dir", str(tmp_path / "runs")],
        capture_output=True,
        text=True,
        check=True,
    )
    rd = Path(r.stdout.strip().splitlines()[-1])
    started = wait_for(rd, lambda e: e["kind"] == "run_started", timeout=180)
    trainer = psutil.Process(started["trainer_pid"])
    tmux = ["tmux", "-L", f"soak-{os.getpid()}", "-f", "/dev/null"]
    subprocess.run(
        tmux
        + [
            "new-session",
            "-d",
            "-s",
            "soak",
            "-x",
            "160",
            "-y",
            "48",
            f"exec {sys.executable} -m cockpit.cli attach {rd}",
        ],
        check=True,
    )
    subprocess.run(tmux + ["set-option", "-t", "soak", "window-size", "manual"], check=True)  # keep 160x48
    subprocess.run(tmux + ["resize-window", "-t", "soak", "-x", "160", "-y", "48"], check=True)
    time.sleep(5)
    cockpit = psutil.Process(
        int(
            subprocess.run(
                tmux + ["list-panes", "-t", "soak", "-F", "#{pane_pid}"], capture_output=True, text=True
            ).stdout.split()[0]
        )
    )
    mem0 = (trainer.memory_info().rss, cockpit.memory_info().rss)
    cpu0, t0 = cockpit.cpu_times(), time.monotonic()
    rss_by_minute = []
    rng = random.Random(0)
    sent = []
    deadline = time.monotonic() + minutes * 60
    cycle = [("pause", None), ("resume", None), ("lr", "x0.9"), ("lr", "x1.1"), ("save", None), ("sample", None)]
    i = 0
    while time.monotonic() < deadline:
        action, value = cycle[i % len(cycle)]
        i += 1
        from cockpit.control import send

        sent.append(send(rd, action, value)["id"])
        if i % 10 == 0:  # the operator at the keys too: every tenth command through the cockpit's own key
            subprocess.run(tmux + ["send-keys", "-t", "soak", "s"], check=True)
        if len(rss_by_minute) < (time.monotonic() - t0) // 60:
            rss_by_minute.append(cockpit.memory_info().rss / 2**20)
            print(f"minute {len(rss_by_minute)}: cockpit RSS {rss_by_minute[-1]:.0f} MiB", flush=True)
        time.sleep(rng.uniform(2, 5))
    time.sleep(5)
    mem1 = (trainer.memory_info().rss, cockpit.memory_info().rss)
    c1 = cockpit.cpu_times()
    cpu = (c1.user + c1.system - cpu0.user - cpu0.system) / (time.monotonic() - t0)
    screen = subprocess.run(tmux + ["capture-pane", "-p", "-t", "soak"], capture_output=True, text=True).stdout
    subprocess.run(tmux + ["kill-server"], capture_output=True)
    subprocess.run([sys.executable, "-m", "cockpit.cli", "ctl", str(rd), "stop"], capture_output=True)
    evs = events(rd)
    acks = [e["id"] for e in evs if e["kind"] == "ack"]
    lost = set(sent) - set(acks)
    dup = len(acks) - len(set(acks))
    steps = [e["step"] for e in evs if e["kind"] == "metrics"]
    keys = sum(1 for e in evs if e["kind"] == "ack" and e.get("source") == "tui")
    report = (
        f"soak {minutes:g} min: {len(sent)} scripted commands + {keys} acked from the cockpit's keys, "
        f"{len(lost)} lost acks, {dup} duplicated; {len(steps)} logged steps (strictly increasing: "
        f"{steps == sorted(set(steps))}); trainer RSS {mem0[0] / 2**20:.0f} -> {mem1[0] / 2**20:.0f} MiB, "
        f"cockpit RSS {mem0[1] / 2**20:.0f} -> {mem1[1] / 2**20:.0f} MiB (by minute: "
        f"{', '.join(f'{x:.0f}' for x in rss_by_minute)}); cockpit CPU {cpu:.1%} of a core"
    )
    print(report)
    (Path(__file__).parent.parent / "bench" / "results").mkdir(exist_ok=True)
    (Path(__file__).parent.parent / "bench" / "results" / "soak.txt").write_text(report + "\n")
    assert not lost and dup == 0 and steps == sorted(set(steps))
    assert "lora-cockpit" in screen, screen  # the cockpit is still up and drawing
