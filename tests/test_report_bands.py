"""The report shades the cockpit's own bands (cockpit.bands)."""

from __future__ import annotations

import math

from cockpit import bands
from cockpit.report.charts import grad_norm_bands, memory_bands, run_charts
from cockpit.report.text import caption
from cockpit.thresholds import Thresholds


def test_ranges_run_from_each_line_to_the_next():
    th = Thresholds()
    assert bands.ranges("grad_norm", th) == [
        (5.0, 10.0, "normal max", "warn"),
        (10.0, 50.0, "danger", "danger"),
        (50.0, math.inf, "explosion", "critical"),
    ]
    # memory stops at the device's total: above it there is nothing to allocate
    assert bands.ranges("mem_used", th, 100.0) == [(80.0, 90.0, "warn", "warn"), (90.0, 100.0, "danger", "danger")]
    assert bands.ranges("update_ratio", th)[-1][1] == math.inf
    assert bands.ranges("mem_used", th) == bands.ranges("loss", th) == []


def test_report_bands_are_the_cockpits_lines(tmp_path):
    from cockpit.logs import load_history
    from tuihelpers import write_run

    th = Thresholds(grad_norm_high=2.0, grad_norm_danger=8.0, grad_norm_explosion=30.0, memory_warn=0.5)
    assert [(b.lo, b.name) for b in grad_norm_bands(th)] == bands.lines("grad_norm", th)
    h, _ = load_history(write_run(tmp_path / "run", state="finished").path)
    h.mem_kind = "vram"
    total = h.last("mem_total") / 2**30
    mem = memory_bands(h, th)
    assert [(b.lo, b.name) for b in mem] == bands.lines("mem_used", th, total) and mem[-1].hi == total
    charts = {c.key: c for c in run_charts(h, th, [])[0]}
    assert [(b.lo, b.name, b.severity) for b in charts["grad_norm"].bands] == [
        (2.0, "normal max", "warn"),
        (8.0, "danger", "danger"),
        (30.0, "explosion", "critical"),
    ]
    text = caption(charts["mem_used"])
    assert "warn at 12.0 GiB" in text and "danger at 21.6 GiB" in text  # 24 GiB x 0.5, x 0.9
    h.mem_kind = "ram"  # a process's RAM has no limit to draw
    assert memory_bands(h, th) == []
