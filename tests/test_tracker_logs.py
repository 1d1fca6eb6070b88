"""TensorBoard, W&B (offline run and history export), trackio and MLflow logs: each found by content, read
whole, checked against numbers taken independently (the Trainer's own log_history, W&B's own summary,
TensorBoard's EventAccumulator), and opened by diagnose, report and replay like one of our runs."""

from __future__ import annotations

import json
import math
import re
import shutil
import sys
from pathlib import Path

import pytest

from cockpit.logs import LogError, load_history, resolve
from runhelpers import cockpit

FIX = Path(__file__).parent / "fixtures" / "trackers"
GEN = FIX / "generated"
REAL = FIX / "real"

TRAINER_RUN = {  # the first run of make_fixtures.py, as each tracker kept it
    "tensorboard": GEN / "tensorboard" / "demo-tiny",
    "wandb": GEN / "wandb",
    "trackio": GEN / "trackio" / "cockpit-fixture.db",
    "mlflow": GEN / "mlflow" / "mlflow.db",
    "wandb_export": GEN / "wandb_export" / "history.csv",
}
ALSO = {  # the same run in another layout of the same format
    "wandb_export_json": ("wandb_export", GEN / "wandb_export" / "history.json", GEN / "log_history.json"),
    "mlflow_file_store": ("mlflow", GEN / "mlflow" / "mlruns", GEN / "log_history_filestore.json"),
}
CASES = {name: (name, path, GEN / "log_history.json") for name, path in TRAINER_RUN.items()} | ALSO


def trainer_log(path: Path) -> tuple[dict[int, dict], dict[int, dict]]:
    """The Trainer's own record: training logs and evaluations by step."""
    train, evals = {}, {}
    for e in json.loads(path.read_text()):
        if "eval_loss" in e:
            evals[e["step"]] = e
        elif "loss" in e:
            train[e["step"]] = e
    return train, evals


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-12)  # TensorBoard keeps float32


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_point_the_trainer_logged_is_read(case):
    fmt, path, truth = CASES[case]
    train, evals = trainer_log(truth)
    log = resolve(path)
    assert log.kind == fmt
    history = log.history()
    assert history.run_started["source"] == fmt
    assert list(history.steps) == sorted(train)
    for key in ("loss", "grad_norm", "learning_rate", "epoch"):
        got = dict(zip(history.steps, history.series[key]))
        assert all(close(got[s], e[key]) for s, e in train.items()), key
    assert list(history.eval_steps) == sorted(evals)
    assert all(close(v, evals[s]["eval_loss"]) for s, v in zip(history.eval_steps, history.eval_series["eval_loss"]))
    assert log.stats.bad == 0


@pytest.mark.parametrize("case", sorted(CASES))
def test_diagnose_json_and_html_report(case, tmp_path):
    fmt, path, truth = CASES[case]
    train, _ = trainer_log(truth)
    r = cockpit("diagnose", str(path), "--json")
    assert r.returncode in (0, 3), r.stderr  # 3: a danger finding (this run's grad_norm passes 10)
    out = json.loads(r.stdout)
    assert (out["steps"], out["logged"], out["format"]) == (max(train), len(train), fmt)
    html = tmp_path / "r.html"
    assert cockpit("report", str(path), "--out", str(html)).stdout == f"saved: {html}\n"
    r = cockpit("report", str(path))
    assert r.returncode == 0, r.stderr
    assert re.search(rf"final loss +{train[max(train)]['loss']:.4g} \(step {max(train)}\)", r.stdout), r.stdout
    assert html.read_text().count("<svg") >= 3  # loss, grad_norm, learning rate


def test_tensorboard_every_point_against_tensorboards_own_accumulator():
    """EventAccumulator keeps 10,000 points a tag unless told otherwise (size_guidance 0: all): the
    numbers of the reader against TensorBoard's own, tag by tag."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    folder = TRAINER_RUN["tensorboard"]
    acc = EventAccumulator(str(folder), size_guidance={"scalars": 0}).Reload()
    history, _ = load_history(folder)
    loss = {e.step: e.value for e in acc.Scalars("train/loss")}
    assert list(history.steps) == sorted(loss)
    assert [e.value for e in acc.Scalars("train/grad_norm")] == list(history.series["grad_norm"])
    assert [e.value for e in acc.Scalars("eval/loss")] == list(history.eval_series["eval_loss"])
    # the Trainer's arguments, written as a text summary, give the planned steps: the run is finished
    assert (history.total_steps, history.state) == (30, "finished")


def test_real_wandb_run_against_wandbs_own_summary():
    summary = json.loads((REAL / "alpaca-wandb" / "wandb-summary.json").read_text())
    log = resolve(REAL / "alpaca-wandb")
    history = log.history()
    assert log.kind == "wandb" and history.step == summary["train/global_step"] == 486
    assert history.last("loss") == summary["train/loss"]
    assert history.last("learning_rate") == summary["train/learning_rate"]
    assert [e for e in history.other if e["kind"] == "summary"][0]["train_loss"] == summary["train/train_loss"]
    assert len(history) == 486  # one training row a step, 1..486


def test_real_tensorboard_run_against_tensorboards_own_accumulator():
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    folder = REAL / "chatglm3-tensorboard"
    acc = EventAccumulator(str(folder), size_guidance={"scalars": 0}).Reload()
    history, log = load_history(folder)
    assert log.kind == "tensorboard" and list(history.steps) == [e.step for e in acc.Scalars("train/loss")] == [50]
    assert history.series["loss"][0] == acc.Scalars("train/loss")[0].value
    assert history.series["learning_rate"][0] == acc.Scalars("train/learning_rate")[0].value


@pytest.mark.parametrize(
    "path, said",
    [
        (REAL / "gemma2b-tensorboard-text-only", "no scalar (only args/text_summary, model_config/text_summary)"),
        (REAL / "gemma2b-wandb-summary-only", "no logged history"),
    ],
)
def test_a_log_with_nothing_to_read_is_refused(path, said):
    with pytest.raises(LogError, match=said.replace("(", r"\(").replace(")", r"\)")):
        load_history(path)
    r = cockpit("diagnose", str(path))
    assert r.returncode == 2 and said in r.stderr


def test_found_by_content_not_by_name(tmp_path):
    """Renamed files are still known; a file named like one but holding text is not taken for one."""
    tb = next(TRAINER_RUN["tensorboard"].glob("*tfevents*"))
    wb = next(TRAINER_RUN["wandb"].rglob("*.wandb"))
    shutil.copy(tb, tmp_path / "scalars.bin")
    shutil.copy(wb, tmp_path / "run.log")
    shutil.copy(TRAINER_RUN["trackio"], tmp_path / "project.sqlite")
    shutil.copy(TRAINER_RUN["mlflow"], tmp_path / "tracking.sqlite")
    assert resolve(tmp_path / "scalars.bin").kind == "tensorboard"
    assert resolve(tmp_path / "run.log").kind == "wandb"
    assert resolve(tmp_path / "project.sqlite").kind == "trackio"
    assert resolve(tmp_path / "tracking.sqlite").kind == "mlflow"
    fake = tmp_path / "events.out.tfevents.123.host"
    fake.write_text("not a tensorboard log\n")
    with pytest.raises(LogError):
        resolve(fake).history()
    fake_wandb = tmp_path / "run-abc.wandb"
    fake_wandb.write_bytes(b"\x00\x01binary")
    with pytest.raises(LogError):
        resolve(fake_wandb).history()


@pytest.mark.parametrize(
    "module, extra, path",
    [
        ("tensorboard.backend.event_processing.event_file_loader", "tensorboard", TRAINER_RUN["tensorboard"]),
        ("wandb.proto.wandb_internal_pb2", "wandb", TRAINER_RUN["wandb"]),
    ],
)
def test_a_missing_extra_is_refused_with_the_install_line(monkeypatch, module, extra, path):
    monkeypatch.setitem(sys.modules, module, None)  # what an install without the extra sees: ImportError
    monkeypatch.delitem(sys.modules, "wandb", raising=False)
    with pytest.raises(LogError, match=rf"pip install 'lora-cockpit\[{extra}\]'"):
        load_history(path)


def test_the_folder_a_script_ran_in_finds_its_wandb_runs(tmp_path):
    shutil.copytree(GEN / "wandb", tmp_path / "project" / "wandb")
    log = resolve(tmp_path / "project")
    assert log.kind == "wandb" and len(log.history()) == 30


def test_a_folder_of_several_runs_names_them(tmp_path):
    for name in ("a", "b"):
        shutil.copytree(TRAINER_RUN["tensorboard"], tmp_path / "runs" / name)
    with pytest.raises(LogError, match=r"holds 2 TensorBoard runs \(a, b\); give one of them"):
        load_history(tmp_path / "runs")
    assert len(load_history(tmp_path / "runs" / "a")[0]) == 30


def test_ls_lists_a_folder_of_other_tools_logs(tmp_path):
    shutil.copytree(TRAINER_RUN["tensorboard"], tmp_path / "tb-run")
    shutil.copytree(GEN / "wandb", tmp_path / "wandb")
    shutil.copy(TRAINER_RUN["mlflow"], tmp_path / "mlflow.db")
    (tmp_path / "notes.txt").write_text("not a log\n")
    r = cockpit("ls", str(tmp_path))
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == 4 and "notes.txt" not in r.stdout
    for name, state in (("tb-run", "finished"), ("wandb", "finished"), ("mlflow.db", "finished")):
        row = next(line for line in lines if line.startswith(name + " "))
        assert state in row and "5.421" in row and ("30/30" in row or "30/?" in row), row


def test_the_folder_holding_a_trackers_database_is_that_log(tmp_path):
    """Where `mlflow ui` was started (its mlflow.db) and trackio's folder of one project: `ls` listed
    neither folder, and replay refused both; a folder of two trackio projects still names neither."""
    (tmp_path / "runs" / "proj").mkdir(parents=True)
    shutil.copy(TRAINER_RUN["mlflow"], tmp_path / "runs" / "proj" / "mlflow.db")
    (tmp_path / "runs" / "trackio").mkdir()
    shutil.copy(TRAINER_RUN["trackio"], tmp_path / "runs" / "trackio" / "fixture.db")
    assert resolve(tmp_path / "runs" / "proj").kind == "mlflow"
    assert resolve(tmp_path / "runs" / "trackio").kind == "trackio"
    r = cockpit("ls", str(tmp_path / "runs"))
    rows = {line.split()[0]: line for line in r.stdout.splitlines()[1:]}
    assert set(rows) == {"proj", "trackio"} and all("30/30" in row for row in rows.values()), r.stdout
    shutil.copy(TRAINER_RUN["trackio"], tmp_path / "runs" / "trackio" / "other.db")
    with pytest.raises(LogError):
        resolve(tmp_path / "runs" / "trackio")


def test_a_database_of_several_runs_reads_the_latest_and_says_so(tmp_path):
    import sqlite3

    db = tmp_path / "project.db"
    shutil.copy(TRAINER_RUN["trackio"], db)
    con = sqlite3.connect(db)
    run_id, stamp = con.execute("SELECT run_id, timestamp FROM metrics LIMIT 1").fetchone()
    rows = [
        (run_id + "-2", stamp, "second-try", s, json.dumps({"train/loss": 1.0 / s, "train/global_step": s}))
        for s in (1, 2, 3)
    ]
    con.executemany("INSERT INTO metrics (run_id, timestamp, run_name, step, metrics) VALUES (?, ?, ?, ?, ?)", rows)
    con.commit()
    con.close()
    log = resolve(db)
    history = log.history()
    assert list(history.steps) == [1, 2, 3] and history.last("loss") == 1.0 / 3
    assert any(
        "2 runs in this database; read the latest, 'second-try' (others: demo-tiny)" in n for n in log.stats.notes
    )


def test_a_missing_extra_exits_2_with_the_install_line():
    """As a user without TensorBoard installed runs it: the command's own exit code and message."""
    import subprocess

    script = (
        "import sys; sys.modules['tensorboard'] = None; sys.argv = ['cockpit', 'diagnose', sys.argv[1]]; "
        "from cockpit.cli import main; main()"
    )
    r = subprocess.run([sys.executable, "-c", script, str(TRAINER_RUN["tensorboard"])], capture_output=True, text=True)
    assert r.returncode == 2 and "pip install 'lora-cockpit[tensorboard]'" in r.stderr, r.stderr


def test_a_row_with_no_step_at_all_is_skipped_and_counted(tmp_path):
    """A W&B export whose step cells are empty: those rows skipped as bad (they took the reader down with
    int(None) before), and an export of nothing else refused."""
    export = tmp_path / "history.csv"
    export.write_text("_step,train/loss\n,1.0\n2,0.5\n,0.4\n")
    log = resolve(export)
    assert list(log.history().steps) == [2] and log.stats.bad == 2 and log.stats.bad_lines == [1, 3]
    export.write_text("_step,train/loss\n,1.0\n,0.5\n")
    result = cockpit("diagnose", str(export))
    assert result.returncode == 2 and "nothing readable" in result.stderr and "Traceback" not in result.stderr
