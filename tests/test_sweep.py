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
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "cockpit.cli",
            "sweep",
            str(cfg),
            "--lrs",
            "1e-6,3e-4,0.5",
            "--steps",
            "40",
            "--runs-dir",
            str(tmp / "runs"),
            "--headless",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
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
    for lr, verdict, spike, reason in (
        (5e-5, "too_low", None, "loss flat (3.02 -> 3.01)"),
        (1e-4, "good", None, "smooth decline 3.5 -> 0.9 (74%)"),
        (2e-4, "too_high", 20, "grad_norm over 10 for 3 logged steps"),
    ):
        rd = write_run(sweep / f"lr-{lr:g}", state="finished", spike_at=spike, acks=False)
        trials.append({"lr": lr, "run_dir": str(rd.path), "state": "finished", "verdict": verdict, "reason": reason})
    (sweep / "sweep.json").write_text(
        json.dumps(
            {
                "lrs": [5e-5, 1e-4, 2e-4],
                "steps": 60,
                "trials": trials,
                "recommended_lr": 1e-4,
                "next_config": "next-config.yaml",
                "done": True,
            }
        )
    )
    from cockpit.tui.sweep_app import SweepApp

    assert snap_compare(SweepApp(sweep), terminal_size=(160, 40))


def _trial(losses, lrs=None, cfg_lr=1e-4, warmup_ratio=0.0, total=None, evals=()):
    """A finished trial's History and its config, from per-step losses (grad_norm in band)."""
    from cockpit.config import RunConfig
    from cockpit.history import History

    cfg = RunConfig()
    cfg.training.learning_rate = cfg_lr
    cfg.training.warmup_ratio = warmup_ratio
    h = History()
    h.add({"kind": "run_started", "config": cfg.model_dump(mode="json"), "total_steps": total or len(losses)})
    for i, loss in enumerate(losses, 1):
        h.add(
            {
                "kind": "metrics",
                "step": i,
                "loss": loss,
                "grad_norm": 1.0,
                "learning_rate": lrs[i - 1] if lrs else cfg_lr,
            }
        )
    h.add({"kind": "state", "state": "finished", "step": len(losses)})
    return h, cfg


def test_verdict_rising_is_not_flat():
    """Issue 17 f: a loss that rose 1.99 -> 2.68 was labelled 'loss flat'."""
    from cockpit.sweep.verdict import trial_verdict

    n = 60
    v = trial_verdict(*_trial([1.99 + 0.69 * i / (n - 1) for i in range(n)]))
    assert v["verdict"] == "rising", v
    assert v["reason"].startswith("loss rose 2.1 -> 2.57 (+22%")  # medians of the first and last third


def test_verdict_too_short_to_judge():
    from cockpit.sweep.verdict import recommend, trial_verdict

    few = trial_verdict(*_trial([3.0, 2.9, 2.8, 2.7, 2.6]))  # five points: fewer than the flat rule reads
    assert few["verdict"] == "too_short" and "5 logged losses" in few["reason"]
    # warm-up over 100 steps, the trial stopped at 40: the lr under trial was never reached
    lrs = [1e-4 * i / 100 for i in range(1, 41)]
    warm = trial_verdict(*_trial([3.0 - 0.001 * i for i in range(40)], lrs=lrs, warmup_ratio=0.1, total=1000))
    assert warm["verdict"] == "too_short" and "warm-up not done (step 40 of 100)" in warm["reason"]
    # the same losses after a finished warm-up are judged: flat
    done = trial_verdict(*_trial([3.0 - 0.001 * i for i in range(40)]))
    assert done["verdict"] == "too_low"
    assert recommend([{**few, "lr": 1e-4}, {**warm, "lr": 2e-4}]) is None


def test_verdict_good_and_too_high_unchanged():
    from cockpit.sweep.verdict import trial_verdict

    good = trial_verdict(*_trial([3.0 * 0.98**i + 0.5 for i in range(60)]))
    assert good["verdict"] == "good"
    hot = trial_verdict(*_trial([3.0 - i / 10 if i < 25 else 0.01 for i in range(60)]))
    assert hot["verdict"] == "too_high" and hot["evidence"][0]["rule"] == "loss_collapse"


def test_two_sweeps_started_in_the_same_second_get_their_own_directories(tmp_path):
    """The sweep named its directory by the second and failed with FileExistsError on the second one."""
    from cockpit.config import RunConfig
    from cockpit.sweep import create

    cfg = RunConfig()
    first, second = (create(cfg, [1e-4, 2e-4], 20, tmp_path) for _ in range(2))
    assert first != second and first.is_dir() and second.is_dir()
    if second.name.startswith(first.name):  # the same second (nearly always): numbered, not refused
        assert second.name == first.name + "-2"


async def test_a_trial_whose_log_cannot_be_read_says_so_in_the_sweep_view(tmp_path):
    """The sweep view polled each trial's tail without looking at its read error: a trial on a failing
    disk looked like one that had logged nothing. Its column now says why its curves stop."""
    from textual.widgets import Static

    from cockpit.tui.sweep_app import SweepApp, TrialColumn

    sweep = tmp_path / "demo-sweep"
    (sweep / "lr-0.0001" / "events.jsonl").mkdir(parents=True)  # reading it fails (EISDIR), as EIO would
    trial = {"lr": 1e-4, "run_dir": str(sweep / "lr-0.0001"), "state": "running", "verdict": None}
    (sweep / "sweep.json").write_text(json.dumps({"lrs": [1e-4], "steps": 60, "trials": [trial], "done": False}))
    app = SweepApp(sweep)
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.pause(0.5)
        text = str(app.query_one(TrialColumn).query_one(".verdict", Static).render())
    assert "UNREADABLE" in text and "events.jsonl" in text, text
