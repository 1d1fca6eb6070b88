"""The SOP's stop list enforced in the trainer, with no cockpit attached: grad_norm over the danger bound
for several logged steps in a row (explosion precursor), and a sudden loss jump. The window logic on
made-up steps, and both guards against the real trainer with a spike injected into the model's logits."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from cockpit.advisor.guards import GuardWindow, check_step
from cockpit.config import GuardConfig
from cockpit.thresholds import Thresholds
from runhelpers import demo_yaml, events, metric_steps


def test_precursor_fires_once_per_run_of_steps_over_the_bound():
    th, g, w = Thresholds(), GuardConfig(), GuardWindow()
    seen = [check_step(s, 1.0, gn, th, g, w) for s, gn in enumerate([3, 12, 13, 4, 12, 12, 12, 12, 60], 1)]
    fired = [(d.rule, d.evidence.get("steps")) for d in seen if d is not None]
    assert fired == [("grad_norm_precursor", [5, 6, 7]), ("grad_norm_explosion", None)]
    assert seen[6].action == "stop" and seen[6].severity == "danger"


def test_loss_jump_against_the_median_of_the_last_ten():
    th, w = Thresholds(), GuardWindow()
    g = GuardConfig(on_loss_jump="pause")
    losses = [2.0, 1.9, 1.8, 1.9, 1.7, 1.8, 6.5, 1.7]
    seen = [check_step(s, x, 1.0, th, g, w) for s, x in enumerate(losses, 1)]
    assert [d.rule for d in seen if d] == ["loss_jump"]
    d = seen[6]
    assert d.action == "pause" and d.evidence["reference"] == pytest.approx(1.85) and d.evidence["loss"] == 6.5
    assert check_step(9, 0.1, 1.0, th, GuardConfig(on_loss_jump="off"), GuardWindow()) is None
    off = GuardWindow()
    assert [check_step(s, x, 1.0, th, GuardConfig(on_loss_jump="off"), off) for s, x in enumerate(losses, 1)][6] is None


MIXED = [0.2, 0.21, 0.19, 0.2, 0.22, 0.2, 0.19, 0.75, 0.2, 0.21] * 3 + [0.2, 0.8, 0.2, 6.0]
"""A task learnt to ~0.2 with general rows mixed in: batches drawing one log ~0.8; then a real jump."""


def test_with_a_general_mix_a_general_batch_is_no_jump_but_a_real_one_is():
    """With data.general_mix on, a batch holding a general row logs the general set's loss (x4 the task's)
    and the guard stopped a healthy run. A mixed run's reference is the highest of the last ten."""
    th, g = Thresholds(), GuardConfig()
    plain = [check_step(s, x, 1.0, th, g, w) for w in [GuardWindow()] for s, x in enumerate(MIXED, 1)]
    assert [i + 1 for i, d in enumerate(plain) if d] == [8, 18, 28, 32, 34]  # what stopped the healthy run
    w = GuardWindow(mixed=True)
    mixed = [check_step(s, x, 1.0, th, g, w) for s, x in enumerate(MIXED, 1)]
    assert [i + 1 for i, d in enumerate(mixed) if d] == [34]
    assert mixed[33].evidence["reference"] == 0.8 and "highest of the last 33" in mixed[33].message


def test_the_advisor_reads_a_mixed_run_the_same_way():
    from cockpit.advisor import evaluate
    from cockpit.history import History

    h = History()
    h.extend([{"kind": "metrics", "step": s, "loss": x, "grad_norm": 1.0} for s, x in enumerate(MIXED[:-1], 1)])
    jump = lambda cfg: [f for f in evaluate(h, cfg)[1] if f.rule == "loss_jump"]  # noqa: E731
    assert [(f.first_step, f.last_step) for f in jump({"lora": {"r": 8}})] == [(8, 32)]
    assert jump({"lora": {"r": 8}, "data": {"general_mix": 0.1}}) == []


def _run_with_spike(tmp_path, spike: str, **overrides):
    cfg = demo_yaml(tmp_path, training__max_steps=60, samples__every=0, training__save_steps=10, **overrides)
    env = {**os.environ, "COCKPIT_FAULT_SPIKE": spike}
    r = subprocess.run(
        [sys.executable, "-m", "cockpit.cli", "run", str(cfg), "--headless", "--runs-dir", str(tmp_path / "runs")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    (rd,) = list((tmp_path / "runs").iterdir())
    return r, rd


@pytest.mark.slow
def test_the_trainer_stops_on_an_injected_loss_jump_and_keeps_the_last_good_checkpoint(tmp_path):
    r, rd = _run_with_spike(tmp_path, "25-40:300", guards__on_precursor="off", thresholds__grad_norm_explosion=1e9)
    assert r.returncode == 1, r.stdout + r.stderr  # stopped
    guard = next(e for e in events(rd) if e["kind"] == "guard")
    assert guard["rule"] == "loss_jump" and guard["action"] == "stopped" and guard["step"] == 25
    assert guard["evidence"]["loss"] > 3 * guard["evidence"]["reference"]
    assert guard["last_good_checkpoint"].endswith("checkpoint-20")
    assert max(metric_steps(rd)) <= 26
    assert events(rd)[-1]["state"] == "stopped" and "loss_jump" in events(rd)[-1]["reason"]


@pytest.mark.slow
def test_the_trainer_stops_on_an_injected_precursor(tmp_path):
    # grad_norm under a x300 logit spike is over 1,000: the explosion bound moved so that it is a precursor.
    r, rd = _run_with_spike(tmp_path, "25-40:300", guards__on_loss_jump="off", thresholds__grad_norm_explosion=1e9)
    assert r.returncode == 1, r.stdout + r.stderr
    guard = next(e for e in events(rd) if e["kind"] == "guard")
    assert guard["rule"] == "grad_norm_precursor" and guard["action"] == "stopped"
    assert guard["evidence"]["steps"] == [25, 26, 27] and min(guard["evidence"]["values"]) > 10
    assert max(metric_steps(rd)) <= 28


def test_one_spike_over_the_explosion_bound_with_clipping_on_is_a_warning_until_the_next_step():
    """Issue 35: a grid run was stopped on one grad_norm of 52 with clipping on; at `warn` it recovered and
    finished well. The stop list speaks of sustained or harmful spikes: one clipped spike is a warning."""
    th, g = Thresholds(), GuardConfig()
    w = GuardWindow(clipping=True)
    seen = [check_step(s, 1.0, gn, th, g, w) for s, gn in enumerate([1.0, 1.2, 52.0, 1.1, 0.9, 1.0], 1)]
    assert [(i + 1, d.rule, d.action) for i, d in enumerate(seen) if d] == [(3, "grad_norm_spike", "warn")]
    assert seen[2].severity == "warn" and "clipping" in seen[2].message


@pytest.mark.parametrize(
    "after,why",
    [((52.0, 30.0), "sustained"), ((52.0, 1.0), "jumped")],
    ids=["grad_norm-stays-high", "loss-jumps"],
)
def test_a_spike_that_stays_or_harms_the_loss_is_an_explosion_at_the_next_step(after, why):
    th, g = Thresholds(), GuardConfig()
    w = GuardWindow(clipping=True)
    losses = [1.0] * 5 + [1.0, 4.0 if why == "jumped" else 1.0]
    norms = [1.0] * 5 + list(after)
    seen = [check_step(s, x, gn, th, g, w) for s, (x, gn) in enumerate(zip(losses, norms), 1)]
    d = seen[6]
    assert d.rule == "grad_norm_explosion" and d.action == "stop" and why in d.message
    assert d.evidence["spike"] == [6, 52.0] and seen[5].rule == "grad_norm_spike"


def test_without_clipping_one_spike_stops_at_once():
    th, g = Thresholds(), GuardConfig()
    for w in (GuardWindow(clipping=False), None):
        d = check_step(3, 1.0, 52.0, th, g, w)
        assert d.rule == "grad_norm_explosion" and d.action == "stop"


@pytest.mark.slow
def test_the_trainer_warns_on_one_clipped_spike_and_finishes(tmp_path):
    r, rd = _run_with_spike(tmp_path, "25-25:300", guards__on_loss_jump="off", guards__on_precursor="off")
    assert r.returncode == 0, r.stdout + r.stderr
    guards = [e for e in events(rd) if e["kind"] == "guard"]
    assert [(e["rule"], e["action"], e["step"]) for e in guards] == [("grad_norm_spike", "warned", 25)]
    assert guards[0]["evidence"]["grad_norm"] > 50
    assert max(metric_steps(rd)) == 60 and events(rd)[-1]["state"] == "finished"


@pytest.mark.slow
def test_the_trainer_stops_when_the_spike_is_sustained(tmp_path):
    r, rd = _run_with_spike(tmp_path, "25-40:300", guards__on_loss_jump="off", guards__on_precursor="off")
    assert r.returncode == 1, r.stdout + r.stderr
    guards = [e for e in events(rd) if e["kind"] == "guard"]
    assert [(e["rule"], e["action"], e["step"]) for e in guards] == [
        ("grad_norm_spike", "warned", 25),
        ("grad_norm_explosion", "stopped", 26),
    ]
    assert max(metric_steps(rd)) <= 27 and "grad_norm_explosion" in events(rd)[-1]["reason"]
