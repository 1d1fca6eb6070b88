"""The report shades the cockpit's own bands (cockpit.bands), and its smoothing is the EMA it says."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from cockpit import bands
from cockpit.report.charts import ema, ema_at, grad_norm_bands, memory_bands, run_charts
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


def _ema_loop(values, span):
    """The definition: one point at a time, non-finite points skipped."""
    alpha = 2.0 / (span + 1.0)
    out, acc, weight = [], 0.0, 0.0
    for v in values:
        if math.isfinite(v):
            acc = (1 - alpha) * acc + alpha * v
            weight = (1 - alpha) * weight + alpha
        out.append(acc / weight if weight else float("nan"))
    return out


@pytest.mark.parametrize("span", [1.0, 1.5, 2.0, 9.0, 50.0])
def test_vectorised_ema_is_the_loop(span):
    rng = random.Random(int(span * 10))
    # long enough to cross several chunks at span 1.5 (a chunk of ~210 points) and 2
    xs = [rng.lognormvariate(0, 1) for _ in range(3000)]
    for i in rng.sample(range(3000), 40):
        xs[i] = rng.choice([math.nan, math.inf, 1e6])
    xs[0] = math.nan
    got, want = ema(xs, span), _ema_loop(xs, span)
    assert math.isnan(got[0]) and got[1:] == pytest.approx(want[1:], rel=1e-9)
    fin = np.array([x for x in xs if math.isfinite(x)])
    at = np.array(sorted(rng.sample(range(len(fin)), 50)))
    assert ema_at(fin, span, at).tolist() == pytest.approx([_ema_loop(fin.tolist(), span)[i] for i in at], rel=1e-9)


def test_a_constant_smoothed_to_within_rounding_gets_the_constants_axis():
    """Constant tokens/s of 8192 smoothed to 8192.00000000001 gave six ticks all labelled 8,192."""
    from cockpit.report.units import linear_ticks

    assert (
        linear_ticks(8192.0, 8192.00000000001)
        == linear_ticks(8192.0, 8192.0)
        == (7000, 9500, [7000, 7500, 8000, 8500, 9000, 9500])
    )
