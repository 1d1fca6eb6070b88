"""Plain helpers for tests that start the real trainer on the tiny demo model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COCKPIT = [sys.executable, "-m", "cockpit.cli"]


def demo_yaml(tmp_path: Path, **overrides) -> Path:
    """The demo config with test-sized overrides (dotted keys), written next to the test."""
    import yaml

    from cockpit.demo import demo_config_path

    data = yaml.safe_load(demo_config_path().read_text())
    for dotted, value in overrides.items():
        cur = data
        parts = dotted.split("__")
        for p in parts[:-1]:
            cur = cur.setdefault(p, {})
        cur[parts[-1]] = value
    p = tmp_path / "run.yaml"
    p.write_text(yaml.safe_dump(data))
    return p


def cockpit(*args: str, timeout: float = 120, check: bool = False) -> subprocess.CompletedProcess:
    r = subprocess.run([*COCKPIT, *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    if check and r.returncode != 0:
        raise AssertionError(f"cockpit {' '.join(args)} -> {r.returncode}\n{r.stdout}\n{r.stderr}")
    return r


def events(run_dir: Path) -> list[dict]:
    from cockpit.rundir import read_events

    return list(read_events(Path(run_dir) / "events.jsonl"))


def wait_for(run_dir: Path, pred, timeout: float = 120.0, what: str = "condition") -> dict:
    """Poll events until pred(event) holds for one of them; return it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for ev in events(run_dir):
            if pred(ev):
                return ev
        time.sleep(0.2)
    log = Path(run_dir) / "trainer.log"
    tail = log.read_text()[-3000:] if log.exists() else ""
    raise AssertionError(f"timed out waiting for {what} in {run_dir}\n--- trainer.log ---\n{tail}")


def state_is(*states: str):
    return lambda ev: ev.get("kind") == "state" and ev.get("state") in states


def metrics_after(step: int):
    return lambda ev: ev.get("kind") == "metrics" and ev.get("step", 0) > step


def metric_steps(run_dir: Path) -> list[int]:
    return [e["step"] for e in events(run_dir) if e.get("kind") == "metrics"]


def adapter_is_finite(adapter_dir: Path) -> bool:
    import torch
    from safetensors.torch import load_file

    tensors = load_file(str(Path(adapter_dir) / "adapter_model.safetensors"))
    return bool(tensors) and all(torch.isfinite(t).all() for t in tensors.values())


def kill_trainer(run_dir: Path) -> None:
    for ev in events(run_dir):
        if ev.get("kind") == "run_started":
            try:
                os.kill(int(ev["trainer_pid"]), 9)
            except ProcessLookupError:
                pass


def dump(obj) -> str:
    return json.dumps(obj, indent=1, default=str)


def lock_released(rd: Path, timeout: float = 20) -> bool:
    """Whether the run's process let go of its lock (it does just after writing the final state)."""
    deadline = time.monotonic() + timeout
    while (rd / "trainer.lock").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    return not (rd / "trainer.lock").exists()
