"""SOP step 3: an lr sweep of three trials on the tiny model; verdicts that match the losses; the view."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from runhelpers import demo_yaml

pytestmark = pytest.mark.slow


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


def test_sweep_view_snapshot(snap_compare, sweep_dir, tmp_path):
    # Copy with fixed names so the snapshot does not depend on the timestamped folder.
    import shutil

    fixed = tmp_path / "demo-sweep"
    shutil.copytree(sweep_dir, fixed)
    data = json.loads((fixed / "sweep.json").read_text())
    for t in data["trials"]:
        t["run_dir"] = str(fixed / Path(t["run_dir"]).name)
        for k in ("reason",):
            t[k] = t[k].split(" (")[0] if t.get(k) else t.get(k)
    data["next_config"] = "next-config.yaml"
    (fixed / "sweep.json").write_text(json.dumps(data))
    from cockpit.tui.sweep_app import SweepApp

    assert snap_compare(SweepApp(fixed), terminal_size=(160, 40))
