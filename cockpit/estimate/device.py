"""What the training device holds, and what the framework costs on it before any model is loaded.

Read without torch (cockpit run's check must stay fast): NVML for CUDA (device 0, as the trainer uses
under one process), psutil for the CPU. The framework overhead is measured by `cockpit estimate
--measure` in a fresh process and cached; until then a constant measured the same way stands in.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

MEMORY_ENV = "COCKPIT_DEVICE_MEMORY"
"""Plan for another device size (or test the refusal): e.g. COCKPIT_DEVICE_MEMORY=8GiB."""

CPU_OVERHEAD = 690 * 2**20
"""A trainer process beyond the tensors the estimate models, measured here by `cockpit estimate --measure`
(measure.py: an 8 x 128-token demo run's peak RSS less its modelled parts; 2-core box, torch 2.13 CPU,
transformers 5.24, trl 1.16, peft 0.21): 687 MiB. Importing those packages alone holds 589 MiB."""
CUDA_OVERHEAD = 768 * 2**20
"""CUDA context, kernels and cuBLAS workspace as NVML counts them. Not measured on this machine (no
GPU lent): 0.5-0.8 GiB is typical with lazy module loading; `cockpit estimate --measure` measures it."""


@dataclass
class Device:
    kind: str  # "cuda" or "cpu"
    name: str
    capacity: int
    capacity_source: str
    bf16: bool = False
    triton: bool = False
    overhead: int = 0
    overhead_source: str = ""


class DeviceError(Exception):
    pass


def parse_size(text: str) -> int:
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([kmgt]?)(i?b?)\s*", text.lower())
    if not m:
        raise DeviceError(f"{MEMORY_ENV}={text!r}: expected a size such as 8GiB, 512MiB or 4000000000")
    scale = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}[m.group(2)]
    return int(float(m.group(1)) * scale)


def detect() -> Device:
    dev = _cuda() or _cpu()
    override = os.environ.get(MEMORY_ENV)
    if override:
        dev.capacity, dev.capacity_source = parse_size(override), f"{MEMORY_ENV}={override}"
    dev.overhead, dev.overhead_source = overhead(dev.kind)
    return dev


def _cuda() -> Device | None:
    if os.environ.get("CUDA_VISIBLE_DEVICES", None) in ("", "-1"):
        return None
    try:
        import pynvml

        pynvml.nvmlInit()
        if pynvml.nvmlDeviceGetCount() == 0:
            return None
        from cockpit.trainer.memory import _physical_index

        handle = pynvml.nvmlDeviceGetHandleByIndex(_physical_index(0))
        total = int(pynvml.nvmlDeviceGetMemoryInfo(handle).total)
        name = pynvml.nvmlDeviceGetName(handle)
        major, _ = pynvml.nvmlDeviceGetCudaComputeCapability(handle)
    except Exception:  # noqa: BLE001 - no driver, no NVML: the trainer will use the CPU as well
        return None
    name = name.decode() if isinstance(name, bytes) else str(name)
    return Device("cuda", f"cuda:0 ({name})", total, "NVML total", bf16=major >= 8, triton=True)


def _cpu() -> Device:
    import psutil

    return Device("cpu", "cpu", int(psutil.virtual_memory().total), "RAM total")


def cache_file(kind: str) -> Path:
    from cockpit.demo.model import cache_root

    return cache_root() / "estimate" / f"overhead-{kind}.json"


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for pkg in ("torch", "transformers", "trl", "peft"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "-"
    return out


def overhead(kind: str) -> tuple[int, str]:
    """(bytes, where the number comes from): the cached measurement when it was taken with these package
    versions, else the constant."""
    try:
        cached = json.loads(cache_file(kind).read_text())
        if cached.get("versions") == versions():
            return int(cached["bytes"]), f"measured {cached.get('measured', '?')} ({cached.get('what', '')})"
    except (OSError, ValueError, KeyError, TypeError):
        pass
    if kind == "cuda":
        return CUDA_OVERHEAD, "typical CUDA context (not measured here; cockpit estimate --measure)"
    return CPU_OVERHEAD, "trainer process RSS less modelled tensors, measured on the dev box (--measure here)"


def measure(kind: str, timeout: float = 300.0) -> tuple[int, str]:
    """Measure the overhead in a fresh process (it imports torch, transformers, peft, trl) and cache it."""
    proc = subprocess.run(
        [sys.executable, "-m", "cockpit.estimate.measure", kind], capture_output=True, text=True, timeout=timeout
    )
    if proc.returncode != 0:
        raise DeviceError(f"measuring the {kind} overhead failed: {proc.stderr.strip()[-400:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["versions"] = versions()
    result["measured"] = time.strftime("%Y-%m-%d")
    path = cache_file(kind)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp-{os.getpid()}")
    tmp.write_text(json.dumps(result))
    os.replace(tmp, path)
    return int(result["bytes"]), f"measured {result['measured']} ({result['what']})"
