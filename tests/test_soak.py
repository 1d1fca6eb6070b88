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
    cfg = demo_yaml(tmp_path, training__max_steps=10_000_000, training__save_steps=500, samples__every=200,
                    training__lr_scheduler_type="constant")
    r = subprocess.run([sys.executable, "-m", "cockpit.cli", "run", str(cfg), "--detach", "--runs-dir",
                        str(tmp_path / "runs")], capture_output=True, text=True, check=True)
    rd = Path(r.stdout.strip().splitlines()[-1])
    started = wait_for(rd, lambda e: e["kind"] == "run_started", timeout=180)
    trainer = psutil.Process(started["trainer_pid"])
    subprocess.run(["tmux", "new-session", "-d", "-s", "soak", "-x", "160", "-y", "48",
                    f"{sys.executable} -m cockpit.cli attach {rd}"], check=True)
    time.sleep(5)
    cockpit = psutil.Process(int(subprocess.run(["tmux", "list-panes", "-t", "soak", "-F", "#{pane_pid}"],
                                                capture_output=True, text=True).stdout.split()[0]))
    mem0 = (trainer.memory_info().rss, cockpit.memory_info().rss)
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
        time.sleep(rng.uniform(2, 5))
    time.sleep(5)
    mem1 = (trainer.memory_info().rss, cockpit.memory_info().rss)
    subprocess.run(["tmux", "kill-session", "-t", "soak"], capture_output=True)
    subprocess.run([sys.executable, "-m", "cockpit.cli", "ctl", str(rd), "stop"], capture_output=True)
    acks = [e["id"] for e in events(rd) if e["kind"] == "ack"]
    lost = set(sent) - set(acks)
    dup = len(acks) - len(set(acks))
    report = (f"soak {minutes:g} min: {len(sent)} commands, {len(lost)} lost acks, {dup} duplicated; trainer RSS "
              f"{mem0[0] / 2**20:.0f} -> {mem1[0] / 2**20:.0f} MiB, cockpit RSS {mem0[1] / 2**20:.0f} -> "
              f"{mem1[1] / 2**20:.0f} MiB")
    print(report)
    (Path(__file__).parent.parent / "bench" / "results").mkdir(exist_ok=True)
    (Path(__file__).parent.parent / "bench" / "results" / "soak.txt").write_text(report + "\n")
    assert not lost and dup == 0
