"""The first hour's advice (#37 item 8): no "lr too low" from a few noisy points, and words that agree with
the grad_norm tile."""

from __future__ import annotations

from cockpit.advisor import advise, evaluate
from cockpit.config import RunConfig
from cockpit.history import History

# The demo's first 50 logged steps (loss, grad_norm), from a real `cockpit demo` run (lr 3e-4, 12 warm-up
# steps, cosine): the loss moves by ~6% a step and falls from step 20 on.
DEMO_LOSS = [
    4.401,
    4.193,
    5.069,
    4.035,
    4.296,
    4.412,
    4.292,
    4.202,
    4.495,
    4.576,
    4.671,
    4.678,
    4.816,
    3.929,
    4.345,
    4.402,
    4.299,
    4.368,
    4.31,
    4.134,
    4.047,
    3.684,
    3.901,
    3.576,
    4.073,
    3.726,
    3.908,
    3.798,
    3.581,
    3.495,
    3.273,
    3.579,
    3.428,
    3.69,
    3.569,
    3.542,
    3.481,
    3.497,
    3.129,
    3.223,
    3.051,
    3.033,
    3.222,
    2.976,
    3.141,
    3.458,
    3.095,
    2.895,
    2.98,
    2.815,
]
DEMO_GRAD_NORM = [
    5.38,
    3.83,
    5.66,
    4.74,
    4.9,
    5.3,
    4.34,
    4.9,
    4.57,
    4.89,
    3.67,
    3.84,
    4.43,
    4.78,
    5.83,
    5.83,
    4.57,
    4.76,
    6.19,
    5.78,
    5.37,
    4.9,
    7.02,
    3.48,
    4.44,
    4.89,
    7.56,
    7.19,
    3.68,
    7.93,
    4.75,
    5.21,
    4.14,
    10.48,
    8.16,
    4.05,
    6.24,
    9.21,
    10.98,
    2.9,
    5.09,
    3.82,
    2.42,
    3.35,
    3.06,
    2.69,
    14.91,
    3.02,
    2.33,
    2.72,
]


def _history(loss: list[float], grad_norm: list[float] | None = None) -> History:
    h = History()
    cfg = RunConfig().model_dump(mode="json")
    cfg["training"]["lr_scheduler_type"] = "constant"  # the lr logged below, so no schedule finding
    h.add({"kind": "run_started", "config": cfg, "total_steps": 300})
    h.add({"kind": "state", "state": "running", "step": 0})
    for i, v in enumerate(loss, start=1):
        ev = {"kind": "metrics", "step": i, "loss": v, "learning_rate": cfg["training"]["learning_rate"]}
        if grad_norm is not None:
            ev["grad_norm"] = grad_norm[i - 1]
        h.add(ev)
    return h


def test_the_demos_first_noisy_steps_are_not_called_flat():
    # Before: "loss flat at ~4.33 over the last 19 logged steps (+0.5%): lr too low? next: lr x2" at steps
    # 8 and 17-22; the loss fell 4.3 -> 2.8 by step 50 with that lr.
    for n in range(8, len(DEMO_LOSS) + 1):
        _, findings = evaluate(_history(DEMO_LOSS[:n]))
        assert "loss_flat" not in {f.rule for f in findings}, n
        action = advise(_history(DEMO_LOSS[:n])).next_action
        assert action is None or action.id != "lr_double", n


def test_a_quiet_plateau_is_still_flat_after_a_few_points():
    # The noise test does not silence the rule: 19 points moving by 0.1% are flat.
    quiet = [2.0 + 0.002 * ((i * 7) % 5 - 2) for i in range(19)]
    _, findings = evaluate(_history(quiet))
    assert "loss_flat" in {f.rule for f in findings}


def test_in_band_says_it_judged_the_median_and_names_the_peak_the_tile_shows():
    # Before: "healthy: loss declining, grad_norm in band" while the tile showed the 14.9 spike as danger.
    verdict = advise(_history(DEMO_LOSS, DEMO_GRAD_NORM)).verdict
    assert verdict.startswith("healthy: loss declining")
    assert "grad_norm median 3.04 (last 10) in band 0.1-5, peak 14.9" in verdict
