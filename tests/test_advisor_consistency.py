"""The consistency property (issue 17): on any log, `worst`, the verdict and diagnose's exit code agree with
the standing findings, and a finished run's standing findings include what is true at its end.

Checked on every real log in tests/fixtures/real-logs and on a few hundred generated runs (seeded:
failures reproduce) mixing the shapes the rules read: loss declining / flat / collapsing / zero / rising /
dipping then rising, grad_norm in band / vanishing / exploding / NaN, eval falling / U-shaped / rising,
finished or still running. "True at its end" is computed here from the raw numbers, not by the advisor.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from cockpit.advisor.diagnose import exit_code, report
from cockpit.config import RunConfig
from cockpit.history import History
from cockpit.logs import load_history
from cockpit.severity import RANK

FIX = Path(__file__).parent / "fixtures" / "real-logs"
PREFIX = {"critical": "critical: ", "danger": "danger: ", "warn": "watch: "}


def check_consistent(h: History) -> dict:
    data = report(h)
    standing = data["standing"]
    worst = max((f["severity"] for f in standing), key=RANK.__getitem__, default="ok")
    assert data["worst"] == worst
    assert (exit_code(data) == 3) == (worst in ("danger", "critical"))
    if standing:
        assert standing[0]["severity"] == worst  # most severe first: the headline is the worst
        assert data["verdict"] == PREFIX[worst] + standing[0]["message"]
    else:
        assert not data["verdict"].startswith(tuple(PREFIX.values()))
    if worst in ("danger", "critical"):
        assert data["next_action"] is not None, data["verdict"]
    for f in standing:  # a cause is at least as grave as what it explains
        assert all(RANK[k["severity"]] <= RANK[f["severity"]] for k in f.get("folded", ()))
    standing_rules = {f["rule"] for f in standing} | {k["rule"] for f in standing for k in f.get("folded", ())}
    for t in data["timeline"]:
        if t["last_step"] == h.step and h.step:
            assert t["rule"] in standing_rules, t["rule"]
    if h.finished:
        assert "so far" not in data["verdict"]
        for rules in true_at_end(h):
            assert rules & standing_rules, (rules, data["verdict"], [f["rule"] for f in standing])
    return data


def true_at_end(h: History) -> list[set[str]]:
    """What the numbers of a finished run say at its end, each as the rules any of which must be standing."""
    loss = np.asarray(h.series["loss"], dtype=float)
    gn = np.asarray(h.series["grad_norm"], dtype=float)
    steps = list(h.steps)
    nan_g = set(h.nonfinite.get("grad_norm", ()))
    out = []
    ev = [v for v in h.eval_series.get("eval_loss", ()) if math.isfinite(v)]
    best = min(ev, default=0)
    if len(ev) >= 2 and int(np.argmin(ev)) < len(ev) - 1 and best > 0 and ev[-1] > 1.1 * best and ev[-1] - best >= 0.01:
        out.append({"eval_above_best", "divergence"})
    g = gn[np.isfinite(gn)]
    if len(g) >= 3 and not nan_g and g.max() < 0.1 and (len(g) == len(gn) or len(g) >= 50):
        out.append({"grad_norm_vanishing"})
    if len(loss) and loss[0] == 0 and (gn[0] == 0 or math.isnan(gn[0])) and steps[0] not in nan_g:
        out.append({"broken_setup"})
    if any(s in nan_g and loss[i] == 0 for i, s in enumerate(steps)):
        out.append({"numeric_failure"})
    if h.nonfinite.get("loss") or nan_g:
        out.append({"loss_nonfinite", "grad_norm_nonfinite", "numeric_failure"})
    if len(g) and g.max() > 50:
        out.append({"grad_norm_explosion"})
    return out


@pytest.mark.parametrize("path", sorted(FIX.glob("*.json")), ids=lambda p: p.name[:2])
def test_real_logs_are_consistent(path):
    check_consistent(load_history(str(path))[0])


def generated(seed: int) -> History:
    rng = np.random.default_rng(seed)
    n = int(rng.choice([3, 4, 6, 10, 30, 80, 160]))
    every = int(rng.choice([1, 10, 50]))
    x = np.linspace(0, 1, n)
    shape = rng.choice(["decline", "flat", "collapse", "zero", "rising", "dip_rise", "noisy"])
    loss = {
        "decline": 2.5 * np.exp(-3 * x) + 0.6,
        "flat": np.full(n, 2.3),
        "collapse": np.maximum(0.004, 2 - 20 * x),
        "zero": np.zeros(n),
        "rising": 1.5 + x,
        "dip_rise": 1 + 2 * (x - 0.5) ** 2,
        "noisy": 1.2 + 0.3 * rng.standard_normal(n) ** 2,
    }[shape]
    gshape = rng.choice(["band", "vanish", "high", "explode", "nan", "zero"])
    gn = {
        "band": 1 + 0.2 * rng.random(n),
        "vanish": 0.01 + 0.05 * rng.random(n),
        "high": 6 + rng.random(n),
        "explode": 1 + 90 * x**3,
        "nan": np.where(rng.random(n) < 0.3, np.nan, 1.0),
        "zero": np.zeros(n),
    }[gshape]
    lr = float(rng.choice([1e-6, 5e-5, 2e-4]))
    lrs = {
        "const": np.full(n, lr),
        "warm": lr * np.minimum(1, 3 * x + 0.05),
        "cos": lr * 0.5 * (1 + np.cos(np.pi * x)),
    }[str(rng.choice(["const", "warm", "cos"]))]
    h = History()
    if rng.random() < 0.5:
        cfg = RunConfig().model_dump(mode="json")
        cfg["training"]["learning_rate"] = lr
        h.add({"kind": "run_started", "config": cfg, "total_steps": n * every})
    h.add({"kind": "state", "state": "running", "step": 0})
    eshape = rng.choice(["none", "falling", "u", "rising"])
    evals = {"none": None, "falling": 1.5 - 0.5 * x, "u": 1 + 1.5 * (x - 0.4) ** 2, "rising": 1 + 0.8 * x}[eshape]
    k = max(1, n // 5)
    for i in range(n):
        s = (i + 1) * every
        h.add(
            {
                "kind": "metrics",
                "step": s,
                "loss": float(loss[i]),
                "grad_norm": float(gn[i]),
                "learning_rate": float(lrs[i]),
            }
        )
        if evals is not None and (i + 1) % k == 0:
            h.add({"kind": "eval", "step": s, "eval_loss": float(evals[i])})
    if rng.random() < 0.7:
        h.add({"kind": "state", "state": "finished", "step": n * every})
    return h


@pytest.mark.parametrize("block", range(6))
def test_generated_runs_are_consistent(block):
    for seed in range(block * 50, block * 50 + 50):
        try:
            check_consistent(generated(seed))
        except AssertionError as e:
            raise AssertionError(f"seed {seed}: {e}") from e
