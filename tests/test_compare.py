"""`cockpit compare` and `cockpit report` on a sweep or study: runs overlaid, the config keys that differ,
the sweep's verdicts. On real public logs, on synthetic runs, and on a real sweep of the demo model."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cockpit.compare.diff import config_diff
from cockpit.report.charts import ema
from cockpit.rundir import dumps
from tuihelpers import write_run

FIX = Path(__file__).parent / "fixtures" / "real-logs"
ROOT = Path(__file__).resolve().parents[1]


def cockpit(*args, timeout=120):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "COLUMNS": "100"}
    return subprocess.run(
        [sys.executable, "-m", "cockpit.cli", *args], capture_output=True, text=True, env=env, timeout=timeout
    )


def run_with(path: Path, lr: float, dropout: float = 0.05, **kw):
    """A synthetic run whose config says `lr` and `dropout` (write_run writes the default config)."""
    rd = write_run(path, state="finished", **kw)
    lines = rd.events.read_text().splitlines()
    for i, line in enumerate(lines):
        ev = json.loads(line)
        if ev["kind"] == "run_started":
            ev["config"]["training"]["learning_rate"] = lr
            ev["config"]["lora"]["lora_dropout"] = dropout
            lines[i] = dumps(ev)
    rd.events.write_text("\n".join(lines) + "\n")
    return rd


def test_compare_two_real_logs_overlays_and_diffs(tmp_path):
    a, b = FIX / "06_nlcli-wizard-gemma3-lora.json", FIX / "20_dashcam-vlm-lora-eval-every5.json"
    out = tmp_path / "cmp.html"
    assert cockpit("compare", str(a), str(b), "--html", str(out)).stdout == f"saved: {out}\n"
    r = cockpit("compare", str(a), str(b))
    assert r.returncode == 0, r.stderr
    text = r.stdout
    assert "Runs (2)" in text and "06_nlcli-wizard-gemma3-lora" in text and "20_dashcam-vlm-lora-eval-every5" in text
    # Only the keys that differ: both logs record eval_steps (50 vs 5); neither has a learning_rate key.
    diff = text.split("Config difference")[1].split("Charts")[0]
    assert "training.eval_steps" in diff and " 50 " in diff and "learning_rate" not in diff
    for title in ("train loss", "eval loss", "grad_norm (log scale)"):
        assert title in text
    assert "no run logged: entropy" in text
    html = out.read_text()
    assert html.count("<svg") == 3 and "20_dashcam-vlm-lora-eval-every5" in html
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "") and "https://" not in html
    assert "<script" not in html


def test_compare_real_logs_with_entropy(tmp_path):
    a, b = FIX / "05_phi3-sft-entropy-flat.json", FIX / "27_gemma3-270m-sft-entropy-eval.json"
    assert cockpit("compare", str(a), str(b), "--html", str(tmp_path / "c.md")).returncode == 0
    r = cockpit("compare", str(a), str(b))
    assert r.returncode == 0, r.stderr
    assert "entropy" in r.stdout.split("Charts")[1] and "no run logged" not in r.stdout
    md = (tmp_path / "c.md").read_text()
    assert md.startswith("# Compare:") and "| run |" in md and "```text" in md and "\x1b[" not in md


def test_study_dir_with_a_nested_sweep_shows_every_run_and_verdicts(tmp_path):
    study = tmp_path / "study"
    base = run_with(study / "runs" / "baseline", 1e-4)  # a level down, as a study may keep them
    final = run_with(tmp_path / "elsewhere" / "final", 2e-4, dropout=0.1)  # named by a stage only
    sweep = study / "demo-sweep-1"
    run_with(sweep / "lr-5e-05", 5e-5)
    run_with(sweep / "lr-0.0002", 2e-4, dropout=0.1)
    (sweep / "sweep.json").write_text(
        json.dumps(
            {
                "trials": [
                    {
                        "lr": 5e-5,
                        "run_dir": "/elsewhere/lr-5e-05",
                        "state": "finished",
                        "verdict": "too_low",
                        "reason": "flat",
                    },
                    {
                        "lr": 2e-4,
                        "run_dir": "/elsewhere/lr-0.0002",
                        "state": "finished",
                        "verdict": "good",
                        "reason": "smooth",
                    },
                    {"lr": 4e-4, "run_dir": "/elsewhere/lr-0.0004", "state": "pending", "verdict": None},
                ],
                "recommended_lr": 2e-4,
            }
        )
    )
    (study / "study.json").write_text(
        json.dumps(
            {"stages": [{"stage": 2, "runs": [str(base.path)]}, {"stage": 8, "runs": [{"run_dir": str(final.path)}]}]}
        )
    )
    assert cockpit("report", str(study), "--out", str(tmp_path / "s.html")).returncode == 0
    r = cockpit("report", str(study))
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "Runs (4)" in out and "stage 2" in out and "stage 8" in out and "demo-sweep-1" in out
    assert "good (recommended)" in out and "too_low" in out
    assert "skipped: demo-sweep-1/lr-0.0004: pending, nothing logged yet" in out
    diff = out.split("Config difference")[1].split("Charts")[0]
    rows = {ln.split()[0]: ln.split()[1:] for ln in diff.splitlines() if ln.strip().startswith(("training", "lora"))}
    # The same start time everywhere (write_run): the order they were found in, sweep first ("d" < "r")
    assert rows == {
        "lora.lora_dropout": ["0.05", "0.1", "0.05", "0.1"],
        "training.learning_rate": ["5e-05", "0.0002", "0.0001", "0.0002"],
    }
    html = (tmp_path / "s.html").read_text()
    assert "good (recommended)" in html and html.count("<svg") == 3  # loss, grad_norm, entropy (no eval)


def test_compare_refuses_what_it_cannot_compare(tmp_path):
    rd = write_run(tmp_path / "one", state="finished")
    r = cockpit("compare", str(rd.path))
    assert r.returncode == 2 and "1 run with a log to compare; give at least 2" in r.stderr
    (tmp_path / "empty").mkdir()
    r = cockpit("compare", str(rd.path), str(tmp_path / "empty"))
    assert r.returncode == 2 and "empty: not a run directory" in r.stderr and "nor a sweep directory" in r.stderr
    r = cockpit("compare", str(rd.path), str(rd.path), "--html", str(tmp_path / "x.pdf"))
    assert r.returncode == 2 and "x.pdf: use a .md or .html file name" in r.stderr
    bad = tmp_path / "sw"
    bad.mkdir()
    (bad / "sweep.json").write_text("{not json")
    r = cockpit("compare", str(bad))
    assert r.returncode == 2 and "sweep.json: cannot read" in r.stderr


def test_same_named_runs_get_told_apart(tmp_path):
    run_with(tmp_path / "s1" / "lr-0.0001", 1e-4)
    run_with(tmp_path / "s2" / "lr-0.0001", 1e-4, dropout=0.1)
    r = cockpit("compare", str(tmp_path / "s1" / "lr-0.0001"), str(tmp_path / "s2" / "lr-0.0001"))
    assert r.returncode == 0, r.stderr
    assert "s1/lr-0.0001" in r.stdout and "s2/lr-0.0001" in r.stdout


def test_config_diff_keeps_only_differing_keys_and_ignores_partial_logs():
    ours = {"training": {"learning_rate": 1e-4, "logging_steps": 1}, "lora": {"r": 8}, "name": "a"}
    other = {"training": {"learning_rate": 2e-4, "logging_steps": 1}, "lora": {"r": 8, "dropout": 0.1}, "name": "b"}
    assert config_diff([ours, other]) == [
        ("lora.dropout", ["-", "0.1"]),
        ("training.learning_rate", ["0.0001", "0.0002"]),
    ]
    # A Hugging Face log's config holds only what trainer_state.json records: what it lacks is unknown.
    hf = {"training": {"logging_steps": 10}}
    rows = dict(config_diff([ours, ours, hf], partial=[False, False, True]))
    assert rows == {"training.logging_steps": ["1", "1", "10"]}


def test_ema_is_debiased_and_skips_gaps():
    out = ema([2.0, 2.0, float("nan"), 2.0], span=9)
    assert out == pytest.approx([2.0, 2.0, 2.0, 2.0])  # no pull towards 0 at the start, NaN not spread
    rising = ema([0.0, 10.0], span=3)
    assert 0 < rising[1] < 10 and not math.isnan(rising[1])


@pytest.fixture(scope="module")
def demo_sweep(tmp_path_factory):
    """A real sweep of the demo model: two lrs, 24 steps each, eval every 8 steps (~1 min on 2 cores)."""
    runs = tmp_path_factory.mktemp("sweep")
    r = cockpit(
        "sweep",
        str(ROOT / "sample_configs" / "demo-tiny.yaml"),
        "--lrs",
        "1e-4,2e-3",
        "--steps",
        "24",
        "--headless",
        "--runs-dir",
        str(runs),
        "--set",
        "data.eval_ratio=0.1",
        "--set",
        "training.eval_steps=8",
        "--set",
        "samples.every=0",
        "--set",
        "training.save_steps=0",
        timeout=600,
    )
    assert "sweep:" in r.stdout, r.stdout + r.stderr
    return next(runs.glob("demo-sweep-*"))


@pytest.mark.slow
def test_compare_and_report_on_a_real_demo_sweep(demo_sweep, tmp_path):
    summary = json.loads((demo_sweep / "sweep.json").read_text())
    verdicts = {t["lr"]: t["verdict"] for t in summary["trials"]}
    assert set(verdicts) == {1e-4, 2e-3} and all(verdicts.values())
    assert cockpit("compare", str(demo_sweep), "--html", str(tmp_path / "c.html")).returncode == 0
    r = cockpit("compare", str(demo_sweep))
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "Runs (2)" in out and "lr-0.0001" in out and "lr-0.002" in out
    for v in verdicts.values():
        assert v in out
    diff = out.split("Config difference")[1].split("Charts")[0]
    assert "training.learning_rate" in diff and "0.0001" in diff and "0.002" in diff
    charts = out.split("Charts")[1]
    for title in ("train loss", "eval loss", "grad_norm (log scale)", "entropy"):
        assert title in charts
    html = (tmp_path / "c.html").read_text()
    assert html.count("<svg") == 4 and "lr-0.002" in html
    # The two trials named as plain run directories: the same diff, no sweep verdict column.
    pair = cockpit("compare", str(demo_sweep / "lr-0.0001"), str(demo_sweep / "lr-0.002"))
    assert pair.returncode == 0, pair.stderr
    assert "training.learning_rate" in pair.stdout and "verdict" not in pair.stdout.split("Config difference")[0]
    # `cockpit report` on the sweep directory gives the same overlay; on one trial, the single-run report.
    rep = cockpit("report", str(demo_sweep))
    assert rep.returncode == 0 and "Runs (2)" in rep.stdout and "Config difference" in rep.stdout
    one = cockpit("report", str(demo_sweep / "lr-0.0001"))
    assert one.returncode == 0 and "loss (train, eval" in one.stdout and "  ⠶ train loss   o eval loss" in one.stdout
