"""The walking skeleton against the real trainer (transformers + peft + TRL) on the tiny demo model."""

from __future__ import annotations

import math
import os
import signal
import time
from pathlib import Path

import pytest

from runhelpers import adapter_is_finite, cockpit, demo_yaml, events, metric_steps, metrics_after, state_is, wait_for

pytestmark = pytest.mark.slow


def start(tmp_path: Path, **overrides) -> Path:
    cfg = demo_yaml(tmp_path, **overrides)
    r = cockpit("run", str(cfg), "--detach", "--runs-dir", str(tmp_path / "runs"), check=True)
    return Path(r.stdout.strip().splitlines()[-1])


def test_scripted_control_session(tmp_path):
    """run --detach, then ctl pause / lr x0.5 / resume / save / stop, each checked in the events."""
    rd = start(
        tmp_path,
        training__max_steps=5000,
        training__save_steps=0,
        samples__every=0,
        training__lr_scheduler_type="constant",
        training__warmup_ratio=0.0,
    )
    wait_for(rd, metrics_after(3), what="first metrics")

    r = cockpit("ctl", str(rd), "pause", check=True)
    assert r.stdout.startswith("ok: pause")
    wait_for(rd, state_is("paused"))
    n = len(metric_steps(rd))
    time.sleep(5)
    assert len(metric_steps(rd)) == n, "metrics kept coming while paused"

    lr_before = [e for e in events(rd) if e["kind"] == "metrics"][-1]["learning_rate"]
    cockpit("ctl", str(rd), "lr", "x0.5", check=True)
    cockpit("ctl", str(rd), "resume", check=True)
    last = max(metric_steps(rd))
    nxt = wait_for(rd, metrics_after(last), what="metrics after resume")
    assert nxt["learning_rate"] == pytest.approx(lr_before * 0.5, rel=0.02)

    for bad in ("0", "-1e-4", "nan", "abc", "x0"):
        r = cockpit("ctl", str(rd), "lr", bad)
        assert r.returncode == 2 and "error: lr" in r.stderr

    r = cockpit("ctl", str(rd), "save", check=True)
    ck = wait_for(rd, lambda e: e["kind"] == "checkpoint", what="checkpoint event")
    assert Path(ck["path"]).is_dir() and (Path(ck["path"]) / "adapter_model.safetensors").exists()

    r = cockpit("ctl", str(rd), "stop", check=True)
    end = wait_for(rd, state_is("stopped", "crashed", "finished"), what="final state")
    assert end["state"] == "stopped"
    assert adapter_is_finite(rd / "adapter")

    acks = [e for e in events(rd) if e["kind"] == "ack"]
    assert [a["cmd"] for a in acks] == ["pause", "scale_lr", "resume", "save", "stop"]
    assert all(a["ok"] for a in acks)
    steps = metric_steps(rd)
    assert steps == sorted(set(steps)), "metrics steps must strictly increase"

    r = cockpit("ctl", str(rd), "pause")
    assert r.returncode == 2 and "stopped" in r.stderr


def test_headless_demo_finishes_and_learns(tmp_path):
    cfg = demo_yaml(tmp_path, training__max_steps=40, samples__every=20)
    r = cockpit("run", str(cfg), "--headless", "--runs-dir", str(tmp_path / "runs"), timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "state finished" in r.stdout and " 40/40 " in r.stdout
    (rd,) = list((tmp_path / "runs").iterdir())
    evs = events(rd)
    started = next(e for e in evs if e["kind"] == "run_started")
    assert started["trainable_params"] > 0 and started["total_steps"] == 40 and started["world_size"] == 1
    m = [e for e in evs if e["kind"] == "metrics"]
    for key in (
        "loss",
        "grad_norm",
        "entropy",
        "learning_rate",
        "mean_token_accuracy",
        "num_tokens",
        "mem_used",
        "step_time",
    ):
        assert all(key in e for e in m), key
    assert m[-1]["loss"] < m[0]["loss"]
    assert any(e["kind"] == "sample" and e["step"] == 20 for e in evs)
    before = [e for e in evs if e["kind"] == "sample" and e["step"] == 0]  # samples.on_start: the base's answers
    assert len(before) == 3 + 2 and evs.index(before[0]) < evs.index(m[0])  # + samples.general_prompts
    assert (rd / "adapter" / "adapter_config.json").exists()


def test_sigterm_stops_at_step_boundary_and_saves(tmp_path):
    rd = start(tmp_path, training__max_steps=5000, samples__every=0)
    started = wait_for(rd, lambda e: e["kind"] == "run_started")
    wait_for(rd, metrics_after(2))
    os.kill(started["trainer_pid"], signal.SIGTERM)
    end = wait_for(rd, state_is("stopped", "crashed"), what="stopped after SIGTERM")
    assert end["state"] == "stopped" and end.get("reason") == "sigterm"
    assert adapter_is_finite(rd / "adapter")


def test_guard_stops_injected_nan_and_adapter_stays_finite(tmp_path):
    """A NaN gradient at step 4: the update is skipped, a guard event fires, the run stops (SOP default)."""
    cfg = demo_yaml(tmp_path, training__max_steps=200, samples__every=0)
    env_run = {**os.environ, "COCKPIT_FAULT_NAN_AT_STEP": "4"}
    import subprocess
    import sys

    r = subprocess.run(
        [sys.executable, "-m", "cockpit.cli", "run", str(cfg), "--headless", "--runs-dir", str(tmp_path / "runs")],
        env=env_run,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 1, r.stdout + r.stderr
    (rd,) = list((tmp_path / "runs").iterdir())
    evs = events(rd)
    guard = next(e for e in evs if e["kind"] == "guard")
    assert guard["step"] == 4 and guard["action"] == "stopped" and guard["rule"] == "nonfinite_grad"
    assert evs[-1]["kind"] == "state" and evs[-1]["state"] == "stopped"
    assert adapter_is_finite(rd / "adapter")


def test_guard_stops_on_grad_norm_over_explosion_bound(tmp_path):
    """Bands set so that the tiny model's normal grad_norm counts as an explosion: the trainer stops itself."""
    cfg = demo_yaml(
        tmp_path,
        training__max_steps=200,
        samples__every=0,
        thresholds__grad_norm_low=0.0001,
        thresholds__grad_norm_high=0.0002,
        thresholds__grad_norm_danger=0.0003,
        thresholds__grad_norm_explosion=0.0005,
    )
    r = cockpit("run", str(cfg), "--headless", "--runs-dir", str(tmp_path / "runs"), timeout=300)
    assert r.returncode == 1
    (rd,) = list((tmp_path / "runs").iterdir())
    evs = events(rd)
    # clipping is on: the first reading over the bound is a warning, the next one (still over) stops it
    guards = [e for e in evs if e["kind"] == "guard"]
    assert [e["rule"] for e in guards] == ["grad_norm_spike", "grad_norm_explosion"]
    guard = guards[-1]
    assert guard["action"] == "stopped" and guard["severity"] == "critical" and "sustained" in guard["message"]
    assert guard["step"] == guards[0]["step"] + 1 and max(metric_steps(rd)) <= guard["step"] + 1
    assert evs[-1]["state"] == "stopped" and adapter_is_finite(rd / "adapter")


def test_qlora_4bit_on_cpu(tmp_path):
    cfg = demo_yaml(tmp_path, training__max_steps=6, samples__every=0, model__quantization="4bit")
    r = cockpit("run", str(cfg), "--headless", "--runs-dir", str(tmp_path / "runs"), timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    (rd,) = list((tmp_path / "runs").iterdir())
    started = next(e for e in events(rd) if e["kind"] == "run_started")
    assert started["quantized"] == "4bit"
    assert all(math.isfinite(e["loss"]) for e in events(rd) if e["kind"] == "metrics")
    assert adapter_is_finite(rd / "adapter")


def test_crash_writes_error_and_crashed(tmp_path):
    """An exception inside training (a target module the model lacks) ends as error + crashed."""
    cfg = demo_yaml(tmp_path, lora__target_modules=["q_proj", "nonexistent_proj"])
    r = cockpit("run", str(cfg), "--headless", "--runs-dir", str(tmp_path / "runs"), timeout=300)
    assert r.returncode == 3
    (rd,) = list((tmp_path / "runs").iterdir())
    evs = events(rd)
    err = next(e for e in evs if e["kind"] == "error")
    assert "nonexistent_proj" in err["message"] and err["traceback"]
    assert evs[-1]["state"] == "crashed"
