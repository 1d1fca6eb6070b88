"""Memory readings for `metrics` events, chosen once per process.

CUDA: NVML's used/total for the whole device (what nvitop shows, and what runs out), plus the torch
allocator's allocated / reserved / peak. These are host-side counters: none of them synchronises the
device. CPU: the process RSS against the machine's RAM.

Cost per logging step on an H100 (bench/README.md): 32.5 µs for the whole reading (the allocator's
statistics read once, plus NVML's 8 µs query); the three public torch.cuda calls that give the same
numbers cost 434 µs together.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any


def make_reader(device_index: int | None) -> tuple[str, Callable[[], dict[str, Any]]]:
    """Return (mem_kind, reader). `device_index` is the CUDA device of this process, or None for CPU."""
    if device_index is not None:
        import torch

        nvml_handle = None
        try:
            import pynvml

            pynvml.nvmlInit()
            nvml_handle = pynvml.nvmlDeviceGetHandleByIndex(physical_index(device_index))
        except Exception:  # no NVML (containers without the driver lib): allocator numbers only
            nvml_handle = None
        total = torch.cuda.get_device_properties(device_index).total_memory

        allocator_stats = _allocator_stats(torch, device_index)

        def read_cuda() -> dict[str, Any]:
            allocated, reserved, peak = allocator_stats(device_index)
            out: dict[str, Any] = {
                "mem_allocated": allocated,
                "mem_reserved": reserved,
                "mem_peak": peak,
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


def _allocator_stats(torch, device_index: int) -> Callable[[int], tuple[int, int, int]]:
    """(allocated, reserved, peak allocated) of the caching allocator, read once.

    Each of torch.cuda.memory_allocated / memory_reserved / max_memory_allocated flattens the allocator's
    whole statistics tree into a fresh dict: 70-140 µs a call on an H100 box with a live allocator, where
    the tree itself (torch._C._cuda_memoryStats) costs 11 µs. The tree is read directly when this torch
    has it, else one public memory_stats() call serves all three numbers."""
    raw = getattr(torch._C, "_cuda_memoryStats", None)

    def from_tree(device: int) -> tuple[int, int, int]:
        t = raw(device)
        return (
            int(t["allocated_bytes"]["all"]["current"]),
            int(t["reserved_bytes"]["all"]["current"]),
            int(t["allocated_bytes"]["all"]["peak"]),
        )

    def from_public(device: int) -> tuple[int, int, int]:
        s = torch.cuda.memory_stats(device)
        return (
            int(s.get("allocated_bytes.all.current", 0)),
            int(s.get("reserved_bytes.all.current", 0)),
            int(s.get("allocated_bytes.all.peak", 0)),
        )

    if raw is None:
        return from_public
    try:
        from_tree(device_index)
    except Exception:  # noqa: BLE001 - a torch whose private tree has another shape: the public path
        return from_public
    return from_tree


def physical_index(i: int) -> int:
    """NVML numbers devices physically; torch numbers them after CUDA_VISIBLE_DEVICES."""
    vis = os.environ.get("CUDA_VISIBLE_DEVICES")
    if vis:
        parts = [p.strip() for p in vis.split(",") if p.strip()]
        if i < len(parts) and parts[i].isdigit():
            return int(parts[i])
    return i
