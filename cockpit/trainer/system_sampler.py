"""One reading of the machine a run trains on, for its `system` events (docs/CONTRACTS.md).

The machine's and the trainer process's CPU and memory, the run directory's disk, and on CUDA the GPU's
utilisation, memory, power and temperature through NVML. Every source is optional: psutil (a base
dependency, yet a stripped environment may lack it), NVML (no driver library in a container, a GPU that
does not report its power), `os.getloadavg` (not on Windows). What cannot be read is left out of the
reading, never an error: monitoring must not cost a step, nor stop a run.

No torch here: NVML and psutil are host-side reads that never synchronise the device.
"""

from __future__ import annotations

import math
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

EVERY_ENV = "COCKPIT_SYSTEM_EVERY"
DEFAULT_EVERY = 15.0
"""Seconds between two readings: W&B's system monitor reads every 10-15 s, and a chart of a long run
needs no more."""


def every_from_env(env=os.environ) -> float | None:
    """Seconds between readings from `$COCKPIT_SYSTEM_EVERY`: a number >= 0 (0: every logged step), or
    `off` (None: no system events). Anything else is refused with the variable named."""
    raw = env.get(EVERY_ENV, "").strip()
    if not raw:
        return DEFAULT_EVERY
    if raw.lower() == "off":
        return None
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not (0 <= value < math.inf):
        raise ValueError(
            f"{EVERY_ENV}: {raw!r} is not a number of seconds >= 0 (0: at every logged step; off: no system events)"
        )
    return value


class SystemSampler:
    """Reads the system metrics; the CPU shares are averages since the previous reading (or since it was made).

    Usage:
    ```python
    >>> sampler = SystemSampler(rd.path, device_index=0)     # None on the CPU
    >>> sampler.sample()
    {'cpu_percent': 93.5, 'proc_cpu_percent': 180.2, 'rss': 1523456000, ..., 'gpu_util': 97.0, ...}
    ```

    Args:
        run_dir: the folder whose disk is read (`disk_free`, `disk_total`).
        device_index: this process's CUDA device (torch's numbering), or None: no GPU fields.
    """

    def __init__(self, run_dir: str | os.PathLike[str], device_index: int | None = None):
        self.run_dir = Path(run_dir)
        self._proc = None
        self._psutil = None
        try:
            import psutil

            self._psutil = psutil
            self._proc = psutil.Process(os.getpid())
            psutil.cpu_percent(interval=None)  # the first call only starts the machine's CPU clock
        except Exception:  # noqa: BLE001 - no psutil, or a platform it cannot read: the fields are left out
            self._psutil = self._proc = None
        self._cpu_at = (time.monotonic(), _process_cpu_seconds())
        self._gpu_reads = _gpu_reads(device_index) if device_index is not None else []

    def sample(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        out.update(self._cpu())
        out.update(self._memory())
        try:
            du = shutil.disk_usage(self.run_dir)
            out["disk_free"], out["disk_total"] = int(du.free), int(du.total)
        except OSError:
            pass
        try:
            out["load_1m"] = round(os.getloadavg()[0], 2)
        except (AttributeError, OSError):  # Windows has none; some containers refuse it
            pass
        for read in list(self._gpu_reads):
            try:
                out.update(read())
            except Exception:  # noqa: BLE001 - a GPU that stops answering one query: drop that query, keep the rest
                self._gpu_reads.remove(read)
        return out

    def _cpu(self) -> dict[str, float]:
        """The machine's CPU share (0-100, all cores) and the process's (100 = one core busy), since the last reading.

        The process's share is read from `os.times` (the stdlib, every OS): its CPU seconds over the wall
        seconds, all its threads counted (torch's intra-op pool and the data loader's threads)."""
        out: dict[str, float] = {}
        now, cpu = time.monotonic(), _process_cpu_seconds()
        t0, cpu0 = self._cpu_at
        if now > t0:
            out["proc_cpu_percent"] = round(100.0 * (cpu - cpu0) / (now - t0), 1)
        self._cpu_at = (now, cpu)
        if self._psutil is not None:
            try:
                out["cpu_percent"] = float(self._psutil.cpu_percent(interval=None))
            except Exception:  # noqa: BLE001
                pass
        return out

    def _memory(self) -> dict[str, int]:
        out: dict[str, int] = {}
        if self._psutil is None:
            return out
        try:
            out["rss"] = int(self._proc.memory_info().rss)
            vm = self._psutil.virtual_memory()
            out["ram_used"], out["ram_total"] = int(vm.total - vm.available), int(vm.total)
        except Exception:  # noqa: BLE001 - a /proc that refuses a read: no memory fields this time
            pass
        return out


def _process_cpu_seconds() -> float:
    t = os.times()
    return t.user + t.system


def _gpu_reads(device_index: int) -> list[Callable[[], dict[str, Any]]]:
    """One function per NVML query for this device, each dropped at its first failure; none without NVML."""
    try:
        import pynvml

        from cockpit.trainer.memory import physical_index

        pynvml.nvmlInit()
        h = pynvml.nvmlDeviceGetHandleByIndex(physical_index(device_index))
    except Exception:  # noqa: BLE001 - no NVML library, no driver, a device NVML does not know
        return []

    def util() -> dict[str, Any]:
        return {"gpu_util": float(pynvml.nvmlDeviceGetUtilizationRates(h).gpu)}

    def memory() -> dict[str, Any]:
        info = pynvml.nvmlDeviceGetMemoryInfo(h)
        return {"gpu_mem_used": int(info.used), "gpu_mem_total": int(info.total)}

    def power() -> dict[str, Any]:
        return {"gpu_power_w": round(pynvml.nvmlDeviceGetPowerUsage(h) / 1000.0, 1)}  # NVML says milliwatts

    def temperature() -> dict[str, Any]:
        return {"gpu_temp_c": float(pynvml.nvmlDeviceGetTemperature(h, pynvml.NVML_TEMPERATURE_GPU))}

    return [util, memory, power, temperature]
