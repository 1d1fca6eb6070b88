"""Processes for bench/gpu_check.py: run a command with a time limit that also ends the trainer it started,
follow its memory peaks (NVML for the whole GPU, VmHWM for the trainer's RSS), read its run's events.

The checking process itself never initialises CUDA: NVML reads the device from outside, so what it reports
is the trainer's, plus nothing of ours.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from cockpit.estimate.measure import vm_hwm  # noqa: E402

COCKPIT = [sys.executable, "-m", "cockpit.cli"]


class PartTimeout(Exception):
    """A command ran past its part's time limit (it and its trainer were killed)."""


def nvml_handle():
    """NVML's handle of GPU 0, or None where there is no NVML (the CPU)."""
    try:
        import pynvml

        pynvml.nvmlInit()
        return pynvml.nvmlDeviceGetHandleByIndex(0)
    except Exception:  # noqa: BLE001 - no driver, no library: the CPU path
        return None


def nvml_used(handle) -> int | None:
    if handle is None:
        return None
    import pynvml

    return int(pynvml.nvmlDeviceGetMemoryInfo(handle).used)


def trainer_pid(run_dir: Path | None) -> int | None:
    lock = run_dir / "trainer.lock" if run_dir else None
    try:
        return int(lock.read_text().split()[0]) if lock else None
    except (OSError, ValueError, IndexError):
        return None


@dataclass
class Ran:
    rc: int
    out: str
    seconds: float
    nvml_peak: int | None = None
    """Largest NVML `used` of the GPU while the command ran, minus its value just before: the run's VRAM."""
    rss_peak: int | None = None
    """The trainer process's VmHWM (bytes), read until it ended."""


class Peaks(threading.Thread):
    """Polls NVML (and the trainer's VmHWM once its lock names it) every 20 ms until stopped."""

    def __init__(self, handle, run_dir: Path | None):
        super().__init__(daemon=True)
        self.handle, self.run_dir = handle, run_dir
        self.base = nvml_used(handle)
        self.nvml = self.base
        self.rss: int | None = None
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.is_set():
            used = nvml_used(self.handle)
            if used is not None:
                self.nvml = max(self.nvml or 0, used)
            pid = trainer_pid(self.run_dir)
            hwm = vm_hwm(pid) if pid else None
            if hwm:
                self.rss = max(self.rss or 0, hwm)
            self.halt.wait(0.02)


def run(
    args: list[str],
    timeout: float,
    log: Path,
    *,
    env: dict | None = None,
    run_dir: Path | None = None,
    nvml=None,
) -> Ran:
    """Run `args` (its own process group), output to `log`; past `timeout` kill it and the trainer whose
    lock is in `run_dir`, and raise PartTimeout."""
    peaks = Peaks(nvml, run_dir)
    peaks.start()
    t0 = time.monotonic()
    start = log.stat().st_size if log.exists() else 0
    with log.open("ab") as fh:
        fh.write(f"$ {' '.join(map(str, args))}\n".encode())
        fh.flush()
        proc = subprocess.Popen(
            args,
            stdout=fh,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=ROOT,
            env={**os.environ, **(env or {})},
            start_new_session=True,
        )
        try:
            rc = proc.wait(timeout=max(1.0, timeout))
        except subprocess.TimeoutExpired:
            kill(proc, run_dir)
            raise PartTimeout(f"{' '.join(map(str, args[2:5]))} ran past {timeout:.0f} s; killed") from None
        finally:
            peaks.halt.set()
            peaks.join()
    with log.open("rb") as fh:
        fh.seek(start)
        out = fh.read().decode(errors="replace")  # this command's output only: logs are shared by a part's commands
    ran = Ran(rc, out, time.monotonic() - t0, rss_peak=peaks.rss)
    if peaks.nvml is not None and peaks.base is not None:
        ran.nvml_peak = peaks.nvml - peaks.base
    return ran


def kill(proc: subprocess.Popen | None, run_dir: Path | None) -> None:
    """End a command's process group and the trainer it started (the trainer runs in its own session so
    that it outlives a cockpit; here nothing may outlive its part)."""
    pid = trainer_pid(run_dir)
    try:  # a lock left behind may name a pid since reused: only a cockpit trainer is ours to end
        if pid and b"cockpit" in Path(f"/proc/{pid}/cmdline").read_bytes():
            os.kill(pid, signal.SIGKILL)
    except OSError:
        pass
    if proc is not None and proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            pass
        proc.wait(10)


def events(run_dir: Path) -> list[dict]:
    path = run_dir / "events.jsonl"
    out = []
    if not path.exists():
        return out
    for line in path.read_text(errors="replace").splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return out


def wait_for(run_dir: Path, pred, deadline: float, what: str) -> dict:
    """The first event satisfying pred, polling until `deadline` (time.monotonic())."""
    while time.monotonic() < deadline:
        for ev in events(run_dir):
            if pred(ev):
                return ev
        time.sleep(0.05)
    raise PartTimeout(f"no {what} in {run_dir}/events.jsonl before the part's time ran out")
