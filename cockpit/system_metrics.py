"""The `system` events' numbers as people read them: a name, a unit, bytes in GiB.

The charts (a tile picked with `k`, the zoom) and the metadata view (`i`) read them through here; the
fields themselves are `cockpit.rundir.SYSTEM_KEYS` (docs/CONTRACTS.md)."""

from __future__ import annotations

import math

GIB = 2**30

LABELS = {
    "cpu_percent": "CPU, whole machine",
    "proc_cpu_percent": "CPU, trainer process (100% = one core)",
    "load_1m": "load average, 1 min",
    "rss": "trainer process RSS",
    "ram_used": "RAM used, whole machine",
    "ram_total": "RAM total",
    "disk_free": "disk free (run directory)",
    "disk_total": "disk size (run directory)",
    "gpu_util": "GPU utilisation",
    "gpu_mem_used": "VRAM used (whole GPU)",
    "gpu_mem_total": "VRAM total",
    "gpu_power_w": "GPU power",
    "gpu_temp_c": "GPU temperature",
}
"""Each field's name in the metadata view, in the order it lists them."""

BYTES = frozenset(("rss", "ram_used", "ram_total", "disk_free", "disk_total", "gpu_mem_used", "gpu_mem_total"))
UNITS = {"cpu_percent": "%", "proc_cpu_percent": "%", "gpu_util": "%", "gpu_power_w": " W", "gpu_temp_c": " °C"}


def fmt_system(key: str, v: float) -> str | None:
    """A system field's value with its unit ("1.52G", "97%", "312 W"); None for any other key."""
    if key in BYTES:
        return f"{v / GIB:.2f}G" if math.isfinite(v) else "-"
    unit = UNITS.get(key)
    if unit is not None:
        return f"{v:.0f}{unit}" if math.isfinite(v) else "-"
    if key == "load_1m":
        return f"{v:.2f}"
    return None


def zoom_scale(key: str) -> tuple[float, str] | None:
    """(factor, unit) the zoom's y axis reads a system field in: bytes as GiB; None for others."""
    return (1 / GIB, "GiB") if key in BYTES else None
