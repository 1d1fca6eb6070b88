"""Early stopping and the overfitting guard: the pure watch on made-up evaluations, and early stopping
against the real trainer on the demo model (the best checkpoint becomes the adapter)."""

from __future__ import annotations

import pytest

from cockpit.config import ConfigError, GuardConfig, config_from_text
from cockpit.trainer.eval_guard import EvalWatch
from runhelpers import cockpit, demo_yaml, events


def _watch(**guards) -> EvalWatch:
    return EvalWatch(GuardConfig(**guards))


def test_early_stop_counts_evaluations_without_improvement():
    w = _watch(early_stop={"metric": "eval_loss", "patience": 2, "min_delta": 0.01})
    assert w.evaluated(10, {"eval_loss": 2.0}) is None and w.is_best
    assert w.evaluated(20, {"eval_loss": 1.5}) is None and w.is_best
    assert w.evaluated(30, {"eval_loss": 1.495}) is None and not w.is_best  # under min_delta: no improvement
    d = w.evaluated(40, {"eval_loss": 1.6})
    assert d is not None and d.rule == "early_stop" and d.action == "stop"
    assert d.evidence["best_step"] == 20 and d.evidence["best"] == 1.5 and d.evidence["now"] == 1.6


def test_early_stop_on_an_accuracy_maximises():
    w = _watch(early_stop={"metric": "eval_mean_token_accuracy", "patience": 1, "mode": "max"})
    assert w.evaluated(10, {"eval_mean_token_accuracy": 0.5}) is None
    assert w.evaluated(20, {"eval_mean_token_accuracy": 0.6}) is None and w.is_best
    assert w.evaluated(30, {"eval_mean_token_accuracy": 0.55}).rule == "early_stop"


def test_overfit_is_eval_rising_while_train_falls_not_both_rising():
    w = _watch(on_overfit="pause", overfit_evals=3)
    for step, train, ev in ((10, 2.0, 1.8), (20, 1.5, 1.9), (30, 1.2, 2.0)):
        w.train_loss(train)
        d = w.evaluated(step, {"eval_loss": ev})
    assert d is not None and d.rule == "overfit" and d.action == "pause"
    assert d.evidence["eval_loss"] == [1.8, 1.9, 2.0] and d.evidence["train_loss"] == [2.0, 1.5, 1.2]
    both = _watch(on_overfit="stop", overfit_evals=3)  # divergence: train rising too
    for step, train, ev in ((10, 1.0, 1.8), (20, 1.5, 1.9), (30, 2.0, 2.0)):
        both.train_loss(train)
        assert both.evaluated(step, {"eval_loss": ev}) is None


def test_eval_guards_need_evaluations():
    with pytest.raises(ConfigError) as e:
        config_from_text("guards:\n  early_stop: {patience: 2}\n", file="c.yaml", check_paths=False)
    assert "training.eval_steps" in str(e.value)
    with pytest.raises(ConfigError) as e:
        config_from_text("training: {eval_steps: 5}\nguards: {on_overfit: stop}\n", file="c.yaml", check_paths=False)
    assert "eval data" in str(e.value)


@pytest.mark.slow
def test_early_stopping_stops_and_the_best_checkpoint_becomes_the_adapter(tmp_path):
    # min_delta 100: nothing after the first evaluation counts as an improvement, so the run stops at the
    # third evaluation (patience 2) whatever the losses do, and the first evaluation's checkpoint is the best.
    cfg = demo_yaml(
        tmp_path,
        training__max_steps=300,
        training__eval_steps=5,
        training__save_steps=1000,
        data__eval_ratio=0.1,
        samples__every=0,
        guards__early_stop={"metric": "eval_loss", "patience": 2, "min_delta": 100.0},
    )
    r = cockpit("run", str(cfg), "--headless", "--runs-dir", str(tmp_path / "runs"), timeout=300)
    assert r.returncode == 1, r.stdout + r.stderr  # stopped
    (rd,) = list((tmp_path / "runs").iterdir())
    evs = events(rd)
    guard = next(e for e in evs if e["kind"] == "guard")
    assert guard["rule"] == "early_stop" and guard["action"] == "stopped" and guard["step"] == 15
    assert guard["evidence"]["best_step"] == 5
    last = evs[-1]
    assert last["state"] == "stopped" and "guard:early_stop" in last["reason"] and "checkpoint-5" in last["reason"]
    best = rd / "checkpoints" / "checkpoint-5"
    assert best.is_dir()
    assert (rd / "adapter" / "adapter_model.safetensors").read_bytes() == (
        best / "adapter_model.safetensors"
    ).read_bytes()
    assert not (rd / "adapter" / "optimizer.pt").exists()
    assert max(e["step"] for e in evs if e["kind"] == "metrics") == 15
