"""The modules that say one thing once (issue 21): severities, bands, durations, run groups, downsampling,
dotted-key config patches. Pure functions, no Textual, no torch."""

from __future__ import annotations

import json
import math

import pytest

from cockpit import bands, durations, run_groups, severity
from cockpit.config_patch import PatchError, apply_patch, patch_to_set_args, set_dotted
from cockpit.logs.downsample import buckets, minmax_points
from cockpit.thresholds import Thresholds


def test_severity_order_icon_and_worst():
    assert severity.worst([]) == "ok" and severity.worst(["warn", "critical", "danger"]) == "critical"
    assert set(severity.ICON) == set(severity.THEME_VARIABLE) == set(severity.SEVERITIES)
    assert bands.SYMBOL["danger"] == severity.ICON["danger"] and bands.worst(["none", "warn"]) == "warn"


@pytest.mark.parametrize(
    "seconds, clock, span, short",
    [
        (0, "00:00", "0m00s", "0m00s"),
        (125.9, "02:05", "2m05s", "2m05s"),
        (3725, "1:02:05", "1h02m05s", "1h02m"),
        (None, "--:--", "-", "-"),
        (math.nan, "--:--", "-", "-"),
        (math.inf, "--:--", "-", "-"),
        (-5, "--:--", "-", "-"),
    ],
)
def test_durations(seconds, clock, span, short):
    assert durations.clock(seconds) == clock
    assert durations.span(seconds) == span
    assert durations.span(seconds, seconds_past_an_hour=False) == short


def test_headless_line_with_an_infinite_step_time():
    """A step_time of 1e308 (or Infinity) in an events line made --headless raise OverflowError on the ETA."""
    from cockpit.headless import metrics_line

    line = metrics_line({"step": 1, "step_time": 1e308, "loss": 1.0}, 10)
    assert "eta --:--" in line


def test_band_lines():
    th = Thresholds()
    assert bands.lines("grad_norm", th) == [(5.0, "normal max"), (10.0, "danger"), (50.0, "explosion")]
    assert bands.lines("mem_used", th, 100.0) == [(80.0, "warn"), (90.0, "danger")]
    assert bands.lines("mem_used", th, math.nan) == bands.lines("mem_used", th) == bands.lines("loss", th) == []


def test_run_groups(tmp_path):
    sweep, study, run = tmp_path / "s", tmp_path / "st", tmp_path / "r"
    for d in (sweep, study, run):
        d.mkdir()
    (sweep / run_groups.PLAN_FILE).write_text("lrs: [1e-4]\n")  # the plan alone: a sweep whose trials start
    (study / run_groups.STUDY_FILE).write_text("{}")
    (run / "events.jsonl").write_text("")
    (study / "b-trial").mkdir()
    (study / "b-trial" / "events.jsonl").write_text("")
    (study / "a-not-a-run").mkdir()
    kinds = [run_groups.group_kind(p) for p in (sweep, study, run, run / "events.jsonl")]
    assert kinds == ["sweep", "study", None, None]
    assert [p.name for p in run_groups.member_runs(study)] == ["b-trial"]


def test_ls_lists_the_runs_of_a_study(tmp_path, capsys):
    from cockpit.runlist import main

    study = tmp_path / "study-1"
    (study / "lr-0.0001").mkdir(parents=True)
    (study / run_groups.STUDY_FILE).write_text("{}")
    ev = {"v": 1, "t": 1_700_000_000.0, "kind": "state", "state": "finished", "step": 5}
    (study / "lr-0.0001" / "events.jsonl").write_text(json.dumps(ev) + "\n")
    assert main(str(tmp_path), as_json=True) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in rows] == ["study-1/lr-0.0001"]


def test_config_patch():
    data = {"training": {"learning_rate": 1e-4}, "name": "x"}
    assert apply_patch(data, {"training.learning_rate": 5e-5, "lora.r": 16}) is data
    assert data == {"training": {"learning_rate": 5e-5}, "lora": {"r": 16}, "name": "x"}
    with pytest.raises(PatchError, match="name.x: 'name' is not a section"):
        set_dotted(data, "name.x", 1)
    assert (
        patch_to_set_args(
            {
                "training.learning_rate": 5e-5,
                "model.gradient_checkpointing": True,
                "lora.target_modules": ["q_proj", "v_proj"],
            }
        )
        == "--set training.learning_rate=5e-05 --set model.gradient_checkpointing=true "
        '--set \'lora.target_modules=["q_proj", "v_proj"]\''
    )


def test_downsampling_keeps_a_spike():
    values = [1.0] * 10_000
    values[4321] = 99.0
    steps, kept = minmax_points(range(10_000), values, 400)
    assert len(kept) <= 400 and 99.0 in kept and steps[kept.index(99.0)] == 4321 and steps == sorted(steps)
    cells = buckets(values, 40)
    assert len(cells) == 40 and max(hi for _, hi in cells) == 99.0
