"""Memory readings for `metrics` events, chosen once per process.

CUDA: NVML's used/total for the whole device (what nvitop shows, and what runs out), plus the torch
allocator's allocated / reserved / peak. These are host-side counters: none of them synchronises the
device. CPU: the process RSS against the machine's RAM.
"""

from __future__ import annotations

import os
from typing import Any, Callable


def make_reader(device_index: int | None) -> tuple[str, Callable[[], dict[str, Any]]]:
    """Return (mem_kind, reader). `device_index` is the CUDA device of this process, or None for CPU."""
    if device_index is not None:
        import torch

        nvml_handle = None
        try:
            import pynvml

            pynvml.nvmlInit()
            nvml_handle = pynvml.nvmlDeviceGetHandleByIndex(_physical_index(device_index))
        except Exception:  # no NVML (containers without the driver lib): allocator numbers only
            nvml_handle = None
        total = torch.cuda.get_device_properties(device_index).total_memory

        def read_cuda() -> dict[str, Any]:
            out: dict[str, Any] = {
                "mem_allocated": torch.cuda.memory_allocated(device_index),
                "mem_reserved": torch.cuda.memory_reserved(device_index),
                "mem_peak": torch.cuda.max_memory_allocated(device_index),
                "mem_total": total,
            }
            if nvml_handle is not None:
                info = pynvml.nvmlDeviceGetMemoryInfo(nvml_handle)
                out["mem_used"], out["mem_total"] = int(info.used), int(info.total)
            else:
                out["mem_used"] = out["mem_reserved"]
            return out

        return "vram", read_cuda

    import psutil

    proc = psutil.Process(os.getpid())
    total = psutil.virtual_memory().total

    def read_cpu() -> dict[str, Any]:
        return {"mem_used": proc.memory_info().rss, "mem_total": total}

    return "ram", read_cpu


def _physical_index(i: int) -> int:
    """NVML numbers devices physically; torch numbers them after CUDA_VISIBLE_DEVICES."""
    vis = os.environ.get("CUDA_VISIBLE_DEVICES")
    if vis:
        parts = [p.strip() for p in vis.split(",") if p.strip()]
        if i < len(parts) and parts[i].isdigit():
            return int(parts[i])
    return i
