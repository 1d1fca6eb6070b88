"""Comparing short trials the way their noise allows: a difference smaller than the noise is a tie, and a
tie goes to the value the study already carries (the start config's, until a trial measured better).

A trial's score is its final eval loss (the study makes its own eval split), its final train loss only
where there is no eval. Its noise is the standard error of its train loss over the last third of its
logged steps, from step-to-step differences (so the trend itself is not counted as noise), with a floor
of NOISE_FLOOR of the score: two trials differ when their scores are further apart than the two noises
combined (root of the sum of squares).
"""

from __future__ import annotations

import math
import statistics
from typing import Any

from cockpit.study.signals import gradient_trouble, score, summary
from cockpit.study.types import Trial

NOISE_FLOOR = 0.002
"""0.2% of the score: below this no two short runs on the same seed and split are told apart."""
UNUSABLE = ("failed", "too_high", "rising", "too_low")
"""Verdicts that rule a trial out as a candidate, however low it ended."""


def noise(trial: Trial, s: dict[str, Any] | None = None) -> float:
    s = s or summary(trial)
    base = score(s)
    floor = NOISE_FLOOR * base if math.isfinite(base) else 0.0
    xs = [float(x) for x in trial.history.series.get("loss", []) if isinstance(x, (int, float)) and math.isfinite(x)]
    tail = xs[-max(4, len(xs) // 3) :]
    if len(tail) < 4:
        return floor
    diffs = [b - a for a, b in zip(tail, tail[1:])]
    sd = statistics.pstdev(diffs) / math.sqrt(2)  # a difference of two independent steps has twice the variance
    return max(floor, sd / math.sqrt(len(tail)))


def measured(trial: Trial) -> dict[str, Any]:
    """A trial's summary with its score, its noise and whether it may be chosen (usable, no gradient trouble)."""
    s = summary(trial)
    s["score"] = score(s)
    s["noise"] = noise(trial, s)
    trouble = gradient_trouble(trial)
    s["gradient_trouble"] = [t["rule"] for t in trouble]
    s["usable"] = s["verdict"] not in UNUSABLE and not trouble and math.isfinite(s["score"])
    return s


def tied(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Scores closer than their combined noise: the trials cannot be told apart."""
    return abs(a["score"] - b["score"]) <= math.hypot(a["noise"], b["noise"])


def pick(rows: list[dict[str, Any]], default: str | None, near=None) -> tuple[dict[str, Any], str]:
    """The best usable row, and why: the lowest score, unless `default` (the carried value's trial) ties
    with it. With no usable default, of the rows tied with the lowest the one `near` (a row -> distance
    from the carried value) puts closest wins. `rows` are `measured` summaries; one must be usable."""
    usable = [r for r in rows if r["usable"]]
    best = min(usable, key=lambda r: r["score"])
    keep = next((r for r in usable if r["trial"] == default), None)
    if keep is None and near is not None:
        keep = min((r for r in usable if tied(r, best)), key=near)
    if keep is not None and keep is not best and tied(keep, best):
        return keep, (
            f"{best['trial']} {best['score']:.4g} vs {keep['trial']} {keep['score']:.4g}: within the noise "
            f"(±{math.hypot(best['noise'], keep['noise']):.2g}), a tie goes to the carried value"
            + ("" if keep["trial"] == default else " (the nearest to it)")
        )
    if keep is best:
        return best, f"{best['trial']} {best['score']:.4g} is the lowest"
    return best, (
        f"{best['trial']} {best['score']:.4g} is the lowest"
        + (f", beyond the noise of {keep['trial']} {keep['score']:.4g}" if keep is not None else "")
    )
