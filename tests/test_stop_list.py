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
