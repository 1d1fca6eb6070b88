"""End to end in a real terminal (tmux): the cockpit on the real trainer, keys pressed as a user would,
detach / re-attach, and the cockpit killed (SIGKILL) or hung up on (SIGHUP) while training goes on."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from runhelpers import demo_yaml, events, metric_steps, state_is, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")]
PY = sys.executable


# A private server with no config file: a user's tmux server or ~/.tmux.conf (CI machines have been seen
# to impose 80x24) must not decide the size or the keys of the test's terminal.
TMUX = ["tmux", "-L", f"cockpit-tests-{os.getpid()}", "-f", "/dev/null"]


# COCKPIT_E2E_SIZE=80x24 runs the same keys against the compact layout.
SIZE = tuple(int(v) for v in os.environ.get("COCKPIT_E2E_SIZE", "160x48").split("x"))
WIDE = SIZE[0] >= 120 and SIZE[1] >= 34


class Tmux:
    def __init__(self, name: str, cmd: str, width: int = SIZE[0], height: int = SIZE[1]):
        self.name = name
        self.tmux(["kill-session", "-t", name])
        # COLUMNS/LINES as some environments export them (tmux servers started without a terminal do):
        # the cockpit must size itself from the terminal anyway.
        self.tmux(
            [
                "new-session",
                "-d",
                "-s",
                name,
                "-x",
                str(width),
                "-y",
                str(height),
                f"export COLUMNS=80 LINES=24; {cmd}",
            ],
            check=True,
        )
        self.tmux(["set-option", "-t", name, "window-size", "manual"])
        self.tmux(["resize-window", "-t", name, "-x", str(width), "-y", str(height)])

    @staticmethod
    def tmux(args: list[str], check: bool = False) -> subprocess.CompletedProcess:
        return subprocess.run(TMUX + args, capture_output=True, text=True, check=check)

    def keys(self, *keys: str) -> None:
        for k in keys:
            self.tmux(["send-keys", "-t", self.name, k], check=True)
            time.sleep(0.3)

    def screen(self) -> str:
        return self.tmux(["capture-pane", "-p", "-t", self.name]).stdout

    def wait_screen(self, *texts: str, timeout: float = 60) -> str:
        """Wait until any of `texts` is on screen (alternatives cover the wide and the compact layout)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            s = self.screen()
            if any(t in s for t in texts):
                return s
            time.sleep(0.3)
        raise AssertionError(f"none of {texts} appeared on screen:\n{self.screen()}")

    def pane_pid(self) -> int:
        out = self.tmux(["list-panes", "-t", self.name, "-F", "#{pane_pid}"]).stdout.split()
        return int(out[0])

    def kill(self) -> None:
        self.tmux(["kill-session", "-t", self.name])


def run_dir_of(runs: Path) -> Path:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        dirs = [p for p in runs.iterdir()] if runs.exists() else []
        if dirs:
            return dirs[0]
        time.sleep(0.2)
    raise AssertionError("no run directory appeared")


def lrs_after(rd: Path, step: int) -> list[float]:
    return [e["learning_rate"] for e in events(rd) if e["kind"] == "metrics" and e["step"] > step]


def test_cockpit_drives_the_real_trainer(tmp_path):
    cfg = demo_yaml(
        tmp_path,
        training__max_steps=5000,
        training__save_steps=0,
        samples__every=0,
        training__lr_scheduler_type="constant",
        training__warmup_ratio=0.0,
    )
    runs = tmp_path / "runs"
    t = Tmux("cockpit-e2e", f"cd {Path.cwd()} && {PY} -m cockpit.cli run {cfg} --runs-dir {runs}; sleep 60")
    try:
        rd = run_dir_of(runs)
        wait_for(rd, lambda e: e["kind"] == "metrics" and e["step"] >= 3, timeout=120)
        t.wait_screen("grad_norm")
        for word in ("loss", "entropy", "memory", "RUNNING"):
            assert word in t.wait_screen(word), word
        t.keys("p")
        wait_for(rd, state_is("paused"))
        assert "PAUSED" in t.wait_screen("PAUSED")
        t.keys("p")
        wait_for(rd, lambda e: e["kind"] == "ack" and e["cmd"] == "resume")
        at = max(metric_steps(rd))
        lr = lrs_after(rd, 0)[-1]
        t.keys("]")
        ack = wait_for(rd, lambda e: e["kind"] == "ack" and e["cmd"] == "scale_lr")
        wait_for(rd, lambda e: e["kind"] == "metrics" and e["step"] > ack["step"])
        assert lrs_after(rd, ack["step"] - 1)[0] == pytest.approx(2 * lr, rel=0.01)
        t.keys("g")  # samples now: they appear in the samples panel and in events.jsonl
        t.wait_screen("samples @ step" if WIDE else "sample acked")  # samples panel, or the compact event log
        assert any(e["kind"] == "sample" for e in events(rd))
        t.keys("m")  # merge while training: confirm, then the merged folder appears and training goes on
        t.wait_screen("Merge the adapter?")
        t.keys("y")
        done = wait_for(rd, lambda e: e["kind"] == "merge" and e.get("status") in ("done", "failed"), timeout=180)
        assert done["status"] == "done" and (rd / "merged" / "merge.json").exists()
        t.wait_screen("merge done")
        at = max(metric_steps(rd))
        wait_for(rd, lambda e: e["kind"] == "metrics" and e["step"] > at + 2, what="training after the merge")
        t.keys("q")
        t.wait_screen("detached: training goes on")
        n = max(metric_steps(rd))
        time.sleep(3)
        assert max(metric_steps(rd)) > n, "the trainer must keep training after the cockpit detaches"

        t2 = Tmux("cockpit-e2e-2", f"cd {Path.cwd()} && {PY} -m cockpit.cli attach {rd}; sleep 60")
        try:
            t2.wait_screen("merge done")  # the history is there at once (the lr ack may be scrolled above it)
            t2.keys("x")
            t2.wait_screen("Stop the run?")
            t2.keys("y")
            wait_for(rd, state_is("stopped"), timeout=120)
            assert (rd / "adapter" / "adapter_model.safetensors").exists()
            t2.wait_screen("STOPPED")
        finally:
            t2.kill()
    finally:
        t.kill()
        subprocess.run([PY, "-m", "cockpit.cli", "ctl", str(rd), "stop", "--timeout", "30"], capture_output=True)


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGHUP], ids=["kill-9", "sighup"])
def test_killing_the_cockpit_never_touches_the_trainer(tmp_path, sig):
    cfg = demo_yaml(tmp_path, training__max_steps=5000, training__save_steps=0, samples__every=0)
    runs = tmp_path / "runs"
    t = Tmux(
        f"cockpit-kill-{sig.name}",
        f"cd {Path.cwd()} && exec {PY} -m cockpit.cli run {cfg} --runs-dir {runs}",
        width=80,
        height=24,
    )  # the smallest terminal a user has: the compact layout
    rd = run_dir_of(runs)
    try:
        wait_for(rd, lambda e: e["kind"] == "metrics" and e["step"] >= 3, timeout=120)
        t.wait_screen("grad_norm")
        os.kill(t.pane_pid(), sig)  # the cockpit process itself (exec'd in the pane)
        time.sleep(0.5)
        n = max(metric_steps(rd))
        time.sleep(3)
        assert max(metric_steps(rd)) > n
        # Two cockpits can both command: here the CLI stands in for the second one.
        r = subprocess.run(
            [PY, "-m", "cockpit.cli", "ctl", str(rd), "stop"], capture_output=True, text=True, timeout=120
        )
        assert r.returncode == 0, r.stderr
        wait_for(rd, state_is("stopped"))
        steps = metric_steps(rd)
        assert steps == sorted(set(steps)) and max(b - a for a, b in zip(steps, steps[1:])) == 1
        acks = [e for e in events(rd) if e["kind"] == "ack"]
        assert len(acks) == len({a["id"] for a in acks}) == 1
    finally:
        t.kill()


def test_replay_in_a_real_terminal(tmp_path):
    """`cockpit replay` on a real HF log, keys pressed as a user would, the screen read back; and a log
    long enough to be read by the forked child, which the cockpit shows while it is read."""
    fixture = Path(__file__).parent / "fixtures" / "real-logs" / "04_vendor-comp-classifier.json"
    t = Tmux("replay", f"{PY} -m cockpit.cli replay {fixture}")
    try:
        t.wait_screen("cursor 100/100")
        s = t.screen()
        assert "REPLAY" in s and "grad_norm" in s and "loss" in s
        t.keys("Home")
        t.wait_screen("cursor 0/100")
        t.keys("Right")
        t.wait_screen("cursor 1/100")
        t.keys("S-Right")
        t.wait_screen("cursor 11/100")
        t.keys("End", "Left")
        t.wait_screen("cursor 99/100")
        t.keys("Home", "+", "+", "space")
        t.wait_screen("▶")
        t.wait_screen("cursor 100/100", timeout=30)  # played to the end at 50x
        t.keys("q")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and "REPLAY" in t.screen():
            time.sleep(0.2)
        assert "REPLAY" not in t.screen()
    finally:
        t.kill()

    n = 15_000  # ~5 MB: over preload.MIN_BYTES, so a forked child reads it
    log = tmp_path / "events.jsonl"
    with open(log, "w") as f:
        f.write(json.dumps({"v": 1, "t": 0.0, "kind": "run_started", "total_steps": n, "config": {}}) + "\n")
        for s in range(1, n + 1):
            f.write(
                json.dumps(
                    {
                        "v": 1,
                        "t": float(s),
                        "kind": "metrics",
                        "step": s,
                        "loss": 2.0 - s / n,
                        "grad_norm": 1.0,
                        "entropy": 1.5,
                        "learning_rate": 1e-4,
                        "epoch": s / n,
                        "mem_used": 1e9,
                        "mem_total": 8e9,
                        "mem_kind": "ram",
                        "step_time": 0.1,
                        "tokens_per_s": 1000.0,
                        "num_tokens": s,
                        "mean_token_accuracy": 0.5,
                        "padding": "x" * 120,
                    }
                )
                + "\n"
            )
    assert log.stat().st_size > 4 << 20
    t = Tmux("replay-long", f"{PY} -m cockpit.cli replay {log}")
    try:
        t.wait_screen(f"cursor {n}/{n}")
        t.keys("Home")
        t.wait_screen(f"cursor 0/{n}")
    finally:
        t.kill()


def test_stop_and_continue_leave_the_cockpit_as_it_was():
    """`kill -STOP` / `kill -CONT` (a job scheduler's suspend, a debugger, the overhead benchmark) must
    not start new terminal threads on every continue (Textual's driver does, unguarded), and the keys
    must still work afterwards."""
    fixture = Path(__file__).parent / "fixtures" / "real-logs" / "04_vendor-comp-classifier.json"
    t = Tmux("stopcont", f"{PY} -m cockpit.cli replay {fixture}")
    try:
        t.wait_screen("cursor 100/100")
        pid = t.pane_pid()
        threads = len(os.listdir(f"/proc/{pid}/task"))
        for _ in range(10):
            os.kill(pid, signal.SIGSTOP)
            time.sleep(0.05)
            os.kill(pid, signal.SIGCONT)
            time.sleep(0.05)
        time.sleep(0.5)
        assert len(os.listdir(f"/proc/{pid}/task")) == threads
        t.keys("Home")
        t.wait_screen("cursor 0/100")
        t.keys("Right")
        t.wait_screen("cursor 1/100")
    finally:
        t.kill()
