"""SOP step 3: an lr sweep of three trials on the tiny model; verdicts that match the losses; the view."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from runhelpers import demo_yaml

@pytest.fixture(scope="module")
def sweep_dir(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sweep")
    cfg = demo_yaml(tmp, samples__every=0, training__warmup_ratio=0.0, training__lr_scheduler_type="constant")
    r = subprocess.run([sys.executable, "-m", "cockpit.cli", "sweep", str(cfg), "--lrs", "1e-6,3e-4,0.5",
                        "--steps", "40", "--runs-dir", str(tmp / "runs"), "--headless"], capture_output=True,
                       text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "recommended lr: 0.0003" in r.stdout
    return next((tmp / "runs").iterdir())


@pytest.mark.slow
def test_verdicts_match_the_losses(sweep_dir):
    s = json.loads((sweep_dir / "sweep.json").read_text())
    by_lr = {t["lr"]: t for t in s["trials"]}
    assert by_lr[1e-6]["verdict"] == "too_low"
    assert by_lr[3e-4]["verdict"] == "good" and by_lr[3e-4]["loss_drop"] > 0.1
    assert by_lr[0.5]["verdict"] == "too_high" and by_lr[0.5]["evidence"]
    assert s["recommended_lr"] == 3e-4 and s["done"]
    for t in s["trials"]:
        assert (Path(t["run_dir"]) / "events.jsonl").exists()
    from cockpit.config import load_config

    assert load_config(s["next_config"], check_paths=False).training.learning_rate == 3e-4


def test_sweep_view_snapshot(snap_compare, tmp_path):
    """The view over a sweep directory written by the test (fixed numbers: the snapshot is stable)."""
    from tuihelpers import write_run

    sweep = tmp_path / "demo-sweep"
    trials = []
    for lr, verdict, spike, reason in ((5e-5, "too_low", None, "loss flat (3.02 -> 3.01)"),
                                       (1e-4, "good", None, "smooth decline 3.5 -> 0.9 (74%)"),
                                       (2e-4, "too_high", 20, "grad_norm over 10 for 3 logged steps")):
        rd = write_run(sweep / f"lr-{lr:g}", state="finished", spike_at=spike, acks=False)
        trials.append({"lr": lr, "run_dir": str(rd.path), "state": "finished", "verdict": verdict,
                       "reason": reason})
    (sweep / "sweep.json").write_text(json.dumps({"lrs": [5e-5, 1e-4, 2e-4], "steps": 60, "trials": trials,
                                                  "recommended_lr": 1e-4, "next_config": "next-config.yaml",
                                                  "done": True}))
    from cockpit.tui.sweep_app import SweepApp

    assert snap_compare(SweepApp(sweep), terminal_size=(160, 40))
