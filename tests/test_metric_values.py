"""How a metric's latest value reads beside its chart."""

from __future__ import annotations

import math

from cockpit.tui.widgets.metric import fmt_value


def test_update_size_reads_as_a_percentage_even_when_tiny():
    assert fmt_value("update_ratio", 0.0123) == "1.2%"
    assert fmt_value("update_ratio", 3.4e-5) == "0.0034%"
    assert fmt_value("update_ratio", 6.4e-8) == "<0.001%"  # was "6.4e-06%"
    assert fmt_value("update_ratio", 0.0) == "0%"


def test_values_that_did_not_log_or_went_bad():
    assert fmt_value("loss", math.nan) == "NaN" and fmt_value("entropy", math.nan) == "-"
    assert fmt_value("grad_norm", math.inf) == "inf" and fmt_value("loss", None) == "-"
    assert fmt_value("mem_used", 3 * 2**30, 80 * 2**30) == "3.00/80.0G"
