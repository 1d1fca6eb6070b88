"""The A/B design of the overhead benchmarks: which variant each training step runs, and the estimate of
each variant's step-time ratio to the baseline, with its standard error.

Why this design (measured on the 2-core CPU box, bench/README.md): identical steps of the tiny model
take 45-115 ms, and the spread is slow drift of the host (step-to-step autocorrelation 0.6 at lag 1,
0.25 at lag 10), not the work. A fixed cycle a, b, c, a, b, c of 10-step blocks gave b/a between
1.007 and 1.055 in six runs of the same code: each run held ~270 steps per variant, and a fixed order
lets slow drift alias with the cycle. So:

- rounds: every round runs each variant for `block` steps, in an order shuffled per round (seeded), so
  no variant is always before or after another;
- the estimate is the mean over rounds of (mean log step time of v - that of the baseline) within the
  round: drift slower than a round cancels, the rounds' spread gives a standard error, and a stall of
  the host (steps of 0.5-4 s among 80 ms ones, on a busy day) weighs less than in a plain mean;
- an A/A control (variant "a2", identical to "a") is in every run: its ratio is what two identical
  variants differ by in that run, the floor below which nothing can be read.
"""

from __future__ import annotations

import math
import random
import statistics
from dataclasses import dataclass, field


def schedule(variants: list[str], block: int, steps: int, seed: int = 1) -> list[tuple[int, str]]:
    """(round, variant) for each step 0..steps-1."""
    rng = random.Random(seed)
    out: list[tuple[int, str]] = []
    r = 0
    while len(out) < steps:
        order = list(variants)
        rng.shuffle(order)
        out.extend((r, v) for v in order for _ in range(block))
        r += 1
    return out[:steps]


@dataclass
class Estimate:
    ratio: float
    """exp(mean over rounds of (mean log step of v - mean log step of the baseline))."""
    se: float
    """Standard error of that mean log-ratio (so ratio x (1 +- se), roughly)."""
    rounds: int
    ratio_of_medians: float
    """The cruder estimate: median step of v over the whole run / median step of the baseline."""


@dataclass
class Interleaved:
    rows: list[tuple[int, int, str, float]] = field(default_factory=list)
    """(step, round, variant, seconds): one row per timed step."""

    def times(self) -> dict[str, list[float]]:
        out: dict[str, list[float]] = {}
        for _, _, v, t in self.rows:
            out.setdefault(v, []).append(t)
        return out

    def estimate(self, v: str, base: str = "a") -> Estimate:
        by_round: dict[int, dict[str, list[float]]] = {}
        for _, r, var, t in self.rows:
            by_round.setdefault(r, {}).setdefault(var, []).append(t)
        logs = [_mean_log(d[v]) - _mean_log(d[base]) for d in by_round.values() if d.get(v) and d.get(base)]
        if not logs:
            raise ValueError(f"no round holds both {v!r} and {base!r}")
        se = statistics.stdev(logs) / math.sqrt(len(logs)) if len(logs) > 1 else float("inf")
        times = self.times()
        return Estimate(
            math.exp(statistics.fmean(logs)),
            se,
            len(logs),
            statistics.median(times[v]) / statistics.median(times[base]),
        )


def _mean_log(xs: list[float]) -> float:
    return statistics.fmean(math.log(x) for x in xs)
