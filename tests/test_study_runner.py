"""The study's runner and ledger with a stand-in for the trainer: a walk through stages 0-8, a kill
mid-study and its continuation, a backtrack, questions, budgets."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from test_disk_full import fill, small_fs  # noqa: F401 - small_fs is a fixture
from test_study_stages import STEPS, curve

from cockpit.config import RunConfig
from cockpit.rundir import dumps
from cockpit.study import create
from cockpit.study import ledger as L
from cockpit.study.prompt import Asker
from cockpit.study.runner import EXIT_ASKS, EXIT_BLOCKED, EXIT_DONE, EXIT_PAUSED, Runner

AUDIT = {
    "findings": [{"severity": "warn", "code": "small", "message": "<5k rows"}],
    "rows": 600,
    "config_patch": {"lora.lora_dropout": 0.1},
    "recommended": {"lora_dropout": 0.1},
}


class Killed(BaseException):
    """The study process dies here (kill -9, a reboot): nothing after this line of the runner runs."""


class FakeLauncher:
    """Writes a finished run directory at once; `shape(cfg, name)` picks its curve. `kill_at`: the Nth
    start leaves a run with no final state (its trainer died with the study) and kills the study."""

    def __init__(self, shape, kill_at: int | None = None):
        self.shape, self.kill_at, self.started = shape, kill_at, []

    def start(self, cfg: RunConfig, run_dir: Path) -> None:
        self.started.append(run_dir.name)
        run_dir.mkdir(parents=True)
        (run_dir / "config.yaml").write_text(cfg.to_yaml())
        kind, evals = self.shape(cfg, run_dir.name)
        steps = cfg.training.max_steps
        c = curve(kind, steps)
        lines = [{"kind": "run_started", "config": cfg.model_dump(mode="json"), "total_steps": steps}]
        lines += [
            {
                "kind": "metrics",
                "step": k + 1,
                "loss": c["loss"][k],
                "grad_norm": c["grad_norm"][k],
                "entropy": c["entropy"][k],
                "learning_rate": cfg.training.learning_rate,
            }
            for k in range(steps)
        ]
        lines += [{"kind": "eval", "step": s if s == 0 else steps, "eval_loss": v} for s, v in evals]
        dying = self.kill_at is not None and len(self.started) == self.kill_at
        if not dying:
            lines.append({"kind": "state", "state": "finished", "step": steps})
            (run_dir / "adapter").mkdir()
            (run_dir / "adapter" / "adapter_config.json").write_text("{}")
        (run_dir / "events.jsonl").write_text("".join(dumps({"v": 1, "t": 0, **e}) + "\n" for e in lines))
        if dying:
            raise Killed()

    def status(self, run_dir: Path) -> str:
        text = (run_dir / "events.jsonl").read_text()
        return "ended" if '"kind":"state"' in text else "died"

    def progress(self, run_dir: Path) -> str:
        return ""


def sweep_shape(cfg: RunConfig, name: str):
    """lr 5e-5 flat, 1e-4 a smooth decline, 2e-4 a gradient explosion; evals beat the reference."""
    lr = cfg.training.learning_rate
    kind = "flat" if lr < 9e-5 else ("explode" if lr > 1.5e-4 else "good")
    return kind, ((0, 3.0), (STEPS, 1.5))


def new_study(tmp_path: Path, lr: float = 1e-4, dropout: float = 0.05, **opts) -> Path:
    # A 4096-wide model at a batch of 32: the notes' own sweep range (5e-5, 1e-4, 2e-4), unscaled.
    model = tmp_path / "wide-model"
    model.mkdir(exist_ok=True)
    (model / "config.json").write_text('{"hidden_size": 4096}')
    cfg = RunConfig()
    cfg.name = "t"
    cfg.model.name_or_path = str(model)
    cfg.training.per_device_train_batch_size = 32
    cfg.training.lr_scheduler_type = "constant"
    cfg.training.learning_rate = lr
    cfg.lora.lora_dropout = dropout
    options = {"trial_steps": STEPS, "final_steps": 2 * STEPS, "max_runs": None, "max_hours": None, **opts}
    return create(cfg, "test.yaml", tmp_path, options)


def runner(study: Path, launcher, *, accept_defaults=False, answers=None, auto=True, lines=None) -> Runner:
    out = lines.append if lines is not None else (lambda s: None)
    return Runner(
        study,
        auto=auto,
        launcher=launcher,
        out=out,
        poll=0.0,
        audit=lambda cfg: AUDIT,
        asker=Asker(accept_defaults=accept_defaults, answers=answers, interactive=False, write=out),
    )


def states(study: Path) -> list[str]:
    return [s["state"] for s in L.load(study)["stages"]]


def test_a_study_walks_stages_0_to_8_with_evidence(tmp_path):
    study = new_study(tmp_path)
    fake = FakeLauncher(sweep_shape)
    assert runner(study, fake).run() == EXIT_DONE
    assert states(study) == ["done", "done", "done", "done", "done", "done", "done", "skipped", "done"]
    led = L.load(study)
    # the baseline ran at lr 1e-4, so the sweep read it instead of running 1e-4 again; with no entropy or
    # alpha signal, one trial each way measures dropout and alpha (all tie here: the start values stay)
    assert fake.started == [
        "s2-baseline",
        "s3-lr-5e-05",
        "s3-lr-0.0002",
        "s4-dropout-0.1",
        "s4-dropout-0",
        "s5-alpha-32",
        "s5-alpha-8",
        "s8-final",
        "s8-final-alt",  # the trials tie: the runner-up (dropout 0.1, the lowest) gets a final run too
    ]
    sweep = led["stages"][3]
    assert sweep["decision"] == {"training.learning_rate": 1e-4} and sweep["sop"].startswith("Step 3")
    assert sweep["trials"]["lr-0.0001"]["reused"] and sweep["trials"]["lr-0.0001"]["run_dir"] == "s2-baseline"
    assert any(e.get("rule") == "grad_norm_explosion" and e["trial"] == "lr-0.0002" for e in sweep["evidence"])
    assert led["reference_eval_loss"] == 3.0 and led["config"]["lora"]["lora_dropout"] == 0.05
    assert led["stages"][0]["extra"]["hypotheses"] == {"lora.lora_dropout": 0.1}  # checked by s4-dropout-0.1
    assert led["stages"][4]["reason"] and led["stages"][7]["reason"].startswith("conditions not met")
    assert (study / "s8-final" / "adapter" / "adapter_config.json").exists()
    assert led["stages"][8]["extra"]["merge_command"].endswith("s8-final")
    assert led["stages"][8]["extra"]["final_trial"] == "final"  # the two finals end equal: the chosen one stays
    tie = next(e for e in led["stages"][8]["evidence"] if "runner_up" in e)
    assert tie["chosen"] == "s2-baseline" and tie["patch"] == led["stages"][8]["trials"]["final-alt"]["patch"]
    final_cfg = RunConfig.model_validate(yaml.safe_load((study / "s8-final" / "config.yaml").read_text()))
    assert final_cfg.training.max_steps == 2 * STEPS and final_cfg.sop_stage == 8 and final_cfg.training.save_steps > 0


def test_killed_mid_study_continues_where_it_stopped(tmp_path):
    study = new_study(tmp_path)
    first = FakeLauncher(sweep_shape, kill_at=2)  # dies during the sweep's first trial
    with pytest.raises(Killed):
        runner(study, first).run()
    led = L.load(study)
    assert led["stages"][3]["state"] == "running" and led["stages"][3]["trials"]["lr-5e-05"]["state"] == "running"
    second = FakeLauncher(sweep_shape)
    assert runner(study, second).run() == EXIT_DONE
    # the baseline is not run again; the trial whose trainer died is, in a new directory
    assert second.started[:2] == ["s3-lr-5e-05-2", "s3-lr-0.0002"] and second.started[-2:] == [
        "s8-final",
        "s8-final-alt",
    ]
    rec = L.load(study)["stages"][3]["trials"]["lr-5e-05"]
    assert rec["died"] == ["s3-lr-5e-05"] and rec["run_dir"] == "s3-lr-5e-05-2" and rec["state"] == "ended"
    assert (study / "s3-lr-5e-05" / "events.jsonl").exists()  # nothing lost


def test_backtrack_to_structure_then_sweep_again(tmp_path):
    def shape(cfg, name):  # only lr 5e-5 declines smoothly, and eval never beats the reference
        lr = cfg.training.learning_rate
        return ("good" if lr < 9e-5 else "explode"), ((0, 3.0), (STEPS, 3.2))

    study = new_study(tmp_path, dropout=0.1)
    lines: list[str] = []
    assert runner(study, FakeLauncher(shape), lines=lines).run() == EXIT_DONE
    led = L.load(study)
    assert led["round"] == 3 and [b["patch"] for b in led["backtracked"]] == [
        {"lora.r": 16, "lora.lora_alpha": 32.0},
        {"lora.target_modules": ["q_proj", "k_proj", "v_proj"]},
    ]
    assert [r["round"] for r in led["earlier_rounds"]] == [1, 2]
    assert (
        led["earlier_rounds"][0]["stages"][-1]["stage"] == 7
        and led["earlier_rounds"][0]["stages"][0]["state"] == "done"
    )
    assert led["config"]["lora"]["r"] == 16 and "k_proj" in led["config"]["lora"]["target_modules"]
    assert "r 16 on q,k,v already" in led["stages"][7]["reason"]
    assert (study / "s3-lr-5e-05-round2").is_dir() and any("back to stage 3" in s for s in lines)


def test_a_question_blocks_without_a_terminal_and_an_answer_continues(tmp_path):
    def shape(cfg, name):  # a low loss: only a person can say whether the outputs are rigid
        return ("low" if cfg.training.learning_rate < 1.5e-4 else "explode"), ((0, 3.0), (STEPS, 1.0))

    study = new_study(tmp_path, lr=5e-5, dropout=0.1)
    assert runner(study, FakeLauncher(shape)).run() == EXIT_ASKS
    led = L.load(study)
    assert led["state"] == "blocked" and led["stages"][5]["state"] == "blocked"
    assert led["stages"][5]["question"]["id"] == "outputs_rigid"
    fake = FakeLauncher(shape)
    assert runner(study, fake, answers={"outputs_rigid": "yes"}).run() == EXIT_ASKS
    led = L.load(study)
    assert fake.started == ["s5-alpha-8"] and led["stages"][5]["answers"] == {"outputs_rigid": "yes"}
    # lr 5e-5, dropout 0.1, alpha <= 2r, and the eval beats the reference: are the samples right?
    assert led["stages"][7]["question"]["id"] == "samples_right"
    assert runner(study, FakeLauncher(shape), answers={"samples_right": "yes"}).run() == EXIT_DONE
    assert L.load(study)["stages"][7]["state"] == "skipped"


def test_accept_defaults_answers_for_the_person(tmp_path):
    def shape(cfg, name):
        return ("low" if cfg.training.learning_rate < 1.5e-4 else "explode"), ((0, 3.0), (STEPS, 1.0))

    study = new_study(tmp_path)
    assert runner(study, FakeLauncher(shape), accept_defaults=True).run() == EXIT_DONE
    assert L.load(study)["stages"][5]["answers"] == {"outputs_rigid": "no"}


def test_the_run_budget_pauses_and_a_bigger_one_continues(tmp_path):
    study = new_study(tmp_path, max_runs=2)
    assert runner(study, FakeLauncher(sweep_shape)).run() == EXIT_PAUSED
    led = L.load(study)
    assert led["state"] == "paused" and "--max-runs 2" in led["reason"] and led["runs_started"] == 2
    led["options"]["max_runs"] = 10
    L.save(study, led)
    assert runner(study, FakeLauncher(sweep_shape)).run() == EXIT_DONE


def test_a_refused_data_check_blocks_at_stage_0(tmp_path):
    study = new_study(tmp_path)
    r = runner(study, FakeLauncher(sweep_shape))
    r.audit = lambda cfg: {"error": "data.jsonl:3: not JSON"}
    assert r.run() == EXIT_BLOCKED
    led = L.load(study)
    assert led["stages"][0]["state"] == "blocked" and "data.jsonl:3" in led["stages"][0]["reason"]


def test_without_auto_and_without_a_terminal_it_stops_after_each_stage(tmp_path):
    study = new_study(tmp_path)
    assert runner(study, FakeLauncher(sweep_shape), auto=False).run() == EXIT_PAUSED
    assert states(study)[:2] == ["done", "todo"]


def test_a_broken_ledger_is_refused_with_its_path(tmp_path):
    (tmp_path / "study.json").write_text('{"v": 1, "stages": [')
    with pytest.raises(ValueError, match="study.json: not valid JSON"):
        L.load(tmp_path)


def test_study_cli_refuses_what_is_not_a_study(tmp_path):
    from runhelpers import cockpit, demo_yaml

    r = cockpit("study", str(tmp_path))
    assert r.returncode == 2 and "not a study directory (no study.json)" in r.stderr
    r = cockpit("study", str(demo_yaml(tmp_path)), "--trial-steps", "5", "--runs-dir", str(tmp_path / "runs"))
    assert r.returncode == 2 and "--trial-steps: a run needs at least 10 steps" in r.stderr
    assert not (tmp_path / "runs").exists()
    (tmp_path / "study.json").write_text("{}")
    r = cockpit("study", str(tmp_path), "--set", "training.learning_rate=1e-3")
    assert r.returncode == 2 and "--set starts a new study" in r.stderr
    r = cockpit("study", str(tmp_path), "--answer", "yes")
    assert r.returncode == 2 and "--answer 'yes': expected QUESTION_ID=ANSWER" in r.stderr


def test_the_terminal_prompt_takes_a_prefix_the_default_on_enter_and_none_without_a_terminal():
    from cockpit.study.types import Question

    q = Question("outputs_rigid", "rigid?", default="no")
    said: list[str] = []
    answers = iter(["maybe", "y"])
    a = Asker(accept_defaults=False, interactive=True, read=lambda p: next(answers), write=said.append)
    assert a.answer(q) == "yes" and said == ["    answer one of: yes, no"]
    assert Asker(accept_defaults=False, interactive=True, read=lambda p: "").answer(q) == "no"
    assert Asker(accept_defaults=False, interactive=False).answer(q) is None
    assert Asker(accept_defaults=True, interactive=False, write=said.append).answer(q) == "no"


def test_a_final_run_without_an_adapter_blocks_stage_8(tmp_path):
    class NoAdapter(FakeLauncher):
        def start(self, cfg, run_dir):
            super().start(cfg, run_dir)
            if run_dir.name.startswith("s8-"):
                (run_dir / "adapter" / "adapter_config.json").unlink()

    study = new_study(tmp_path)
    assert runner(study, NoAdapter(sweep_shape)).run() == EXIT_BLOCKED
    led = L.load(study)
    assert led["stages"][8]["state"] == "blocked" and "left no adapter" in led["stages"][8]["reason"]


def test_a_final_run_that_died_after_a_checkpoint_is_resumed_not_restarted(tmp_path):
    class Resumable(FakeLauncher):
        resumed: list[str] = []

        def start(self, cfg, run_dir):
            if run_dir.name.startswith("s8-") and self.kill_at is not None:
                self.kill_at = len(self.started) + 1
                try:
                    super().start(cfg, run_dir)
                finally:
                    (run_dir / "checkpoints" / "checkpoint-60").mkdir(parents=True)
            super().start(cfg, run_dir)

        def resume(self, run_dir):
            self.resumed.append(run_dir.name)
            with open(run_dir / "events.jsonl", "a") as f:
                f.write(dumps({"v": 1, "t": 1, "kind": "state", "state": "finished", "step": 2 * STEPS}) + "\n")
            (run_dir / "adapter").mkdir(exist_ok=True)
            (run_dir / "adapter" / "adapter_config.json").write_text("{}")

    study = new_study(tmp_path)
    with pytest.raises(Killed):
        runner(study, Resumable(sweep_shape, kill_at=99)).run()
    again = Resumable(sweep_shape)
    assert runner(study, again).run() == EXIT_DONE
    assert again.started == ["s8-final-alt"] and again.resumed == ["s8-final"]
    assert L.load(study)["stages"][8]["trials"]["final"]["resumed"]


@pytest.mark.slow
def test_real_trainer_ctrl_c_mid_trial_then_continue(tmp_path):
    """The tiny model, end to end: Ctrl-C during the baseline leaves its trainer running; the study
    continues from the ledger, reads the baseline when it ends, and walks on to a final adapter (12-step
    trials are too short to decline: the sweep's fallback question gets its default)."""
    import signal
    import subprocess
    import time

    from runhelpers import COCKPIT, ROOT, demo_yaml

    cfg = demo_yaml(tmp_path, samples__every=0)
    args = [
        "study",
        str(cfg),
        "--auto",
        "--trial-steps",
        "12",
        "--final-steps",
        "12",
        "--runs-dir",
        str(tmp_path / "runs"),
    ]
    # The default SIGINT action in the child, as a shell gives it: an earlier test in this pytest process may
    # leave SIGINT ignored, and an ignored signal stays ignored across exec (Python then never raises it).
    p = subprocess.Popen(
        [*COCKPIT, *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 300

    def trainer_started() -> bool:  # its first event: the study is past the spawn, waiting for the trial
        logs = list((tmp_path / "runs").glob("*/s2-baseline/events.jsonl"))
        return bool(logs) and '"starting"' in logs[0].read_text()

    while not trainer_started() and time.monotonic() < deadline:
        time.sleep(0.1)
    # A second Ctrl-C if the first is not taken within 20 s. Sent while the trainer was being spawned
    # (events.jsonl exists, the trainer has not written yet), a single SIGINT was twice never acted on in
    # full-suite runs: an open defect of that window (see the closing note); this test covers the wait.
    for _ in range(2):
        p.send_signal(signal.SIGINT)
        try:
            out, _ = p.communicate(timeout=20)
            break
        except subprocess.TimeoutExpired:
            continue
    else:
        out, _ = p.communicate(timeout=60)
    assert p.returncode == 130 and "continues where it stopped" in out and "s2-baseline goes on" in out, out
    study = next((tmp_path / "runs").iterdir())
    r = subprocess.run(
        [*COCKPIT, "study", str(study), "--auto", "--accept-defaults"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    led = L.load(study)
    assert led["state"] == "done" and led["stages"][2]["runs"] == ["s2-baseline"]  # waited for, not re-run
    assert (study / "s8-final" / "adapter" / "adapter_config.json").exists()
    assert all(s["state"] in ("done", "skipped") for s in led["stages"])


def test_ctrl_c_while_a_trainer_is_being_started_lands_after_the_start(tmp_path):
    """Ctrl-C inside launch.start_run would release the run's lock mid-hand-over and leave a trainer the
    continued study cannot see; the runner holds the signal until the start is done."""
    import os
    import signal

    class CtrlCDuringStart(FakeLauncher):
        def start(self, cfg, run_dir):
            if run_dir.name == "s3-lr-5e-05":
                os.kill(os.getpid(), signal.SIGINT)
            super().start(cfg, run_dir)

    study = new_study(tmp_path)
    fake = CtrlCDuringStart(sweep_shape)
    with pytest.raises(KeyboardInterrupt):
        runner(study, fake).run()
    assert (study / "s3-lr-5e-05" / "adapter").is_dir()  # the start ran to its end
    assert L.load(study)["stages"][3]["trials"]["lr-5e-05"]["state"] == "running"
    again = FakeLauncher(sweep_shape)
    assert runner(study, again).run() == EXIT_DONE
    # the interrupted trial is read, not started again
    assert again.started[0] == "s3-lr-0.0002" and not any(n.startswith("s3-lr-5e-05") for n in again.started)


class MergingLauncher(FakeLauncher):
    """The fake trainer plus a merge that writes `merged/` (or fails with `code`)."""

    def __init__(self, shape, code: int = 0):
        super().__init__(shape)
        self.code, self.merged = code, []

    def merge(self, run_dir: Path) -> int:
        self.merged.append(run_dir.name)
        if self.code == 0:
            (run_dir / "merged").mkdir()
        return self.code


def test_the_merge_is_offered_once_and_merges_on_yes(tmp_path):
    study, lines = new_study(tmp_path), []
    fake = MergingLauncher(sweep_shape)
    assert runner(study, fake, answers={"merge": "yes"}, lines=lines).run() == EXIT_DONE
    assert fake.merged == ["s8-final"] and (study / "s8-final" / "merged").is_dir()
    extra = L.load(study)["stages"][8]["extra"]
    assert extra["merge"] == "merged" and extra["merged_dir"].endswith("s8-final/merged")
    assert any("merged: " in s for s in lines)
    assert "its final run is merged" in L.next_step(L.load(study), study)
    # continuing a finished, merged study does not merge again
    assert runner(study, fake, answers={"merge": "yes"}).run() == EXIT_DONE
    assert fake.merged == ["s8-final"]


def test_accept_defaults_keeps_the_adapter_unmerged(tmp_path):
    study, lines = new_study(tmp_path), []
    fake = MergingLauncher(sweep_shape)
    assert runner(study, fake, accept_defaults=True, lines=lines).run() == EXIT_DONE
    assert fake.merged == [] and L.load(study)["stages"][8]["extra"]["merge"] == "declined"
    assert any("not merged; when the samples look right: cockpit merge" in s for s in lines)


def test_without_a_terminal_the_merge_stays_offered_until_answered(tmp_path):
    study, lines = new_study(tmp_path), []
    fake = MergingLauncher(sweep_shape, code=1)
    assert runner(study, fake, lines=lines).run() == EXIT_DONE
    assert fake.merged == [] and "merge" not in L.load(study)["stages"][8]["extra"]
    assert any("merge offered: cockpit merge" in s and "--answer merge=yes" in s for s in lines)
    # answered later: the merge runs, fails, and is offered again on the next continuation
    assert runner(study, fake, answers={"merge": "yes"}, lines=lines).run() == EXIT_DONE
    assert fake.merged == ["s8-final"] and L.load(study)["stages"][8]["extra"]["merge"] == "failed"
    assert any("the merge failed (exit 1)" in s for s in lines)
    fake.code = 0
    assert runner(study, fake, answers={"merge": "yes"}).run() == EXIT_DONE
    assert fake.merged == ["s8-final", "s8-final"] and L.load(study)["stages"][8]["extra"]["merge"] == "merged"


def test_the_merge_question_shows_the_final_samples(tmp_path):
    from cockpit.history import History
    from cockpit.study.merge_offer import merge_question

    h = History()
    h.extend(
        [
            {"kind": "sample", "step": 10, "prompt": "old", "completion": "x"},
            {"kind": "sample", "step": 20, "prompt": "Antonym of hot?", "completion": ' {"answer": "cold"}'},
            {"kind": "sample", "step": 20, "prompt": "Capital of France?", "completion": "Paris"},
        ]
    )
    q = merge_question(tmp_path / "s8-final", h)
    assert q.id == "merge" and q.default == "no"
    assert "samples at step 20" in q.text and "'Antonym of hot?' -> '{\"answer\": \"cold\"}'" in q.text
    assert "'old'" not in q.text and str(tmp_path / "s8-final" / "merged") in q.text
    asked = []
    asker = Asker(accept_defaults=False, interactive=True, read=lambda p: asked.append(p) or "y", write=asked.append)
    assert asker.answer(q) == "yes" and "Capital of France?" in asked[0]


def test_base_model_samples_are_not_shown_as_the_trained_ones(tmp_path):
    from cockpit.history import History
    from cockpit.study.merge_offer import merge_question

    h = History()
    h.extend([{"kind": "sample", "step": 0, "prompt": "Reverse the word. river", "completion": "5"}])
    assert "samples before training (step 0: it sampled no later step" in merge_question(tmp_path, h).text
    assert "logged no samples" in merge_question(tmp_path, History()).text


def test_the_report_of_a_study_lists_its_stages_with_their_decisions(tmp_path, capsys):
    """`cockpit report STUDY` overlaid the runs but said nothing of the stages: what each decided, from
    which runs, and why was only in study.json."""
    from cockpit.compare import main as compare_main

    study = new_study(tmp_path)
    assert runner(study, MergingLauncher(sweep_shape), answers={"merge": "yes"}).run() == EXIT_DONE
    assert compare_main([str(study)], out=str(tmp_path / "r.html"), min_runs=1) == 0
    assert capsys.readouterr().out == f"saved: {tmp_path / 'r.html'}\n"  # --out: the file, not the terminal
    assert compare_main([str(study)], min_runs=1) == 0
    text = capsys.readouterr().out
    assert "Study: the SOP's stages" in text and "state: done; final adapter merged" in text
    sweep = next(line for line in text.splitlines() if line.strip().startswith("3 lr sweep"))
    assert "✓ done" in sweep and "learning_rate=0.0001" in sweep
    assert "runs: s3-lr-5e-05, s2-baseline, s3-lr-0.0002" in text  # the baseline read as the 1e-4 trial
    assert "4 dropout" in text and "· skipped" in text
    html = (tmp_path / "r.html").read_text()
    assert "<h2>Study: the SOP's stages</h2>" in html and "learning_rate=0.0001" in html


def test_a_study_report_over_a_broken_ledger(tmp_path, capsys):
    """A study.json that is not JSON: the report refuses it naming the file, as the study does; valid JSON
    without a list of stages: the runs are compared and the stages section is left out."""
    from cockpit.compare import main as compare_main
    from cockpit.compare.study_rows import study_rows

    study = new_study(tmp_path)
    assert runner(study, FakeLauncher(sweep_shape), accept_defaults=True).run() == EXIT_DONE
    (study / "study.json").write_text("{not json")
    assert compare_main([str(study)], min_runs=1) == 2
    assert f"{study / 'study.json'}: cannot read" in capsys.readouterr().err
    assert study_rows({"stages": "none"}) == ([], "") and study_rows([1, 2]) == ([], "")


def low_shape(cfg, name):
    """A low loss: stage 5 asks whether the outputs are rigid, stage 7 whether the samples are right."""
    return ("low" if cfg.training.learning_rate < 1.5e-4 else "explode"), ((0, 3.0), (STEPS, 1.0))


def test_answers_are_read_as_the_prompt_reads_them_and_checked_against_the_questions(tmp_path):
    """`--answer outputs_rigid=Yes` (or `y`) was recorded as a "no" for good; a misspelled id or an
    empty value was taken silently. Now a value is normalised as at the prompt, and an unknown id, an
    unknown value or an empty one is refused (exit 2) before anything runs."""
    import re

    from cockpit.study.answers import QUESTION_IDS, check_answers
    from runhelpers import cockpit

    study = new_study(tmp_path)
    assert runner(study, FakeLauncher(low_shape)).run() == EXIT_ASKS
    before = (study / "study.json").read_text()
    for answer, message in (
        ("outputs_rigid=maybe", "--answer outputs_rigid='maybe': expected one of yes, no"),
        ("outputs_rigid=", "--answer outputs_rigid='': expected one of yes, no"),
        ("outpts_rigid=yes", "no stage asks 'outpts_rigid' (the study waits for: outputs_rigid)"),
    ):
        r = cockpit("study", str(study), "--answer", answer)
        assert r.returncode == 2 and message in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert (study / "study.json").read_text() == before
    led = L.load(study)
    assert check_answers({"outputs_rigid": " Yes"}, led) == {"outputs_rigid": "yes"}
    assert check_answers({"outputs_rigid": "y"}, led) == {"outputs_rigid": "yes"}
    fake = FakeLauncher(low_shape)
    # (the study then ends: stage 7's conditions are not met at this lr and dropout, issue 35's stages)
    assert runner(study, fake, answers=check_answers({"outputs_rigid": "Yes"}, led)).run() == 0
    assert fake.started == ["s5-alpha-8", "s8-final", "s8-final-alt"]
    assert L.load(study)["stages"][5]["answers"] == {"outputs_rigid": "yes"}
    # stage 5 went on with that answer: a different one later is refused, not ignored
    with pytest.raises(ValueError, match="stage 5 went on with outputs_rigid=yes already"):
        check_answers({"outputs_rigid": "no"}, L.load(study))
    # every id a stage asks is one --answer takes
    src = "".join(p.read_text() for p in Path(L.__file__).parent.glob("*.py"))
    assert set(re.findall(r'Question\(\s*"(\w+)"', src)) == set(QUESTION_IDS)


def test_a_new_answer_replaces_one_a_stage_blocked_on(tmp_path):
    """A "no" that blocked a stage stayed for good: a later `--answer ID=yes` was ignored."""

    def flat(cfg, name):  # no lr declines smoothly: stage 3 asks whether to go on with the lowest
        return "flat", ((0, 3.0), (STEPS, 2.9))

    study = new_study(tmp_path)
    assert runner(study, FakeLauncher(flat), answers={"sweep_fallback": "no"}).run() == EXIT_BLOCKED
    led = L.load(study)
    assert led["stages"][3]["state"] == "blocked" and led["stages"][3]["answers"] == {"sweep_fallback": "no"}
    fake = FakeLauncher(flat)
    runner(study, fake, answers={"sweep_fallback": "yes"}).run()
    led = L.load(study)
    assert led["stages"][3]["state"] == "done" and led["stages"][3]["answers"] == {"sweep_fallback": "yes"}
    assert any("sweep_fallback: no replaced by yes" in e["what"] for e in led["log"])

    # a merge declined (here by --accept-defaults) is made by a later --answer merge=yes
    (tmp_path / "b").mkdir()
    study = new_study(tmp_path / "b")
    fake = MergingLauncher(sweep_shape)
    assert runner(study, fake, accept_defaults=True).run() == EXIT_DONE
    assert L.load(study)["stages"][8]["extra"]["merge"] == "declined"
    assert runner(study, fake, answers={"merge": "yes"}).run() == EXIT_DONE
    assert fake.merged == ["s8-final"] and L.load(study)["stages"][8]["extra"]["merge"] == "merged"


def test_accept_defaults_never_says_a_person_chose(tmp_path):
    import json

    study = new_study(tmp_path)
    assert runner(study, FakeLauncher(low_shape), accept_defaults=True).run() == EXIT_DONE
    led = L.load(study)
    # stage 5 asks whether the outputs are rigid (stage 7 no longer asks here: its conditions are not met
    # at this lr and dropout since issue 35's stages)
    assert led["stages"][5]["answers"] == {"outputs_rigid": "no"}
    assert led["stages"][5]["answered_by"] == {"outputs_rigid": "--accept-defaults"}
    assert "answer outputs_rigid=no (--accept-defaults)" in [e["what"] for e in led["log"]]
    assert "person" not in json.dumps([st["reason"] for st in led["stages"]] + [e["what"] for e in led["log"]])


def test_a_deleted_trial_or_an_edited_ledger_is_a_clean_refusal(tmp_path):
    """A trial directory deleted to free space, or a hand-edited ledger: a traceback, and the ledger
    left saying `running`. Now exit 2 naming the file and the trial, and the ledger says why it stopped."""
    import json
    import shutil

    from runhelpers import cockpit

    study = new_study(tmp_path)
    assert runner(study, FakeLauncher(low_shape)).run() == EXIT_ASKS
    led = L.load(study)
    cand = led["candidate"]
    saved = study.with_name("kept")
    shutil.move(study / cand["run_dir"], saved)
    r = cockpit("study", str(study), "--answer", "outputs_rigid=yes")
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert f"{study / cand['run_dir']}: the run directory of trial '{cand['key']}' is gone" in r.stderr
    led = L.load(study)
    assert led["state"] == "blocked" and "is gone" in led["reason"]
    shutil.move(saved, study / cand["run_dir"])

    del led["candidate"]["run_dir"]
    (study / "study.json").write_text(json.dumps(led))
    r = cockpit("study", str(study), "--answer", "outputs_rigid=yes")
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert f"{study / 'study.json'}: unexpected content (KeyError: 'run_dir')" in r.stderr
    assert L.load(study)["state"] == "blocked"

    led["config"]["training"]["learning_rate"] = "fast"
    (study / "study.json").write_text(json.dumps(led))
    r = cockpit("study", str(study))
    assert r.returncode == 2 and "Traceback" not in r.stderr and "study.json: config:" in r.stderr, r.stderr


def test_a_full_disk_stops_the_study_cleanly_and_it_continues_after(small_fs):  # noqa: F811 - the fixture
    """A full disk: a traceback, the ledger saying `running`. Now exit 2 naming the ledger, which keeps
    its last complete state, and the study continues once there is space again."""
    from cockpit.study.runner import StudyStopped

    study = new_study(small_fs)
    filler = fill(small_fs)
    with pytest.raises(StudyStopped, match=r"study\.json: cannot write: No space left on device; it keeps its last"):
        runner(study, FakeLauncher(sweep_shape)).run()
    filler.unlink()
    assert runner(study, FakeLauncher(sweep_shape)).run() == EXIT_DONE


def test_a_trial_in_progress_is_said_only_when_it_moved(tmp_path, monkeypatch):
    """A SmolLM2 trial loading under load printed `s8-final: starting` twelve times, one every 15 s."""
    import time
    import types

    from cockpit.study import trials

    clock = iter(range(0, 10_000, 16))  # every look at the clock is 16 s after the last: each poll may speak
    monkeypatch.setattr(
        trials, "time", types.SimpleNamespace(monotonic=lambda: next(clock), sleep=lambda s: None, time=time.time)
    )
    said = iter(["starting"] * 5 + ["step 3 loss 2"] * 3 + ["step 6 loss 1.5"])
    polls = iter(["running"] * 9 + ["ended"])

    class Launcher:
        def status(self, path):
            return next(polls)

        def progress(self, path):
            return next(said)

    class Trials(trials.TrialRunning):
        pass

    t, lines = Trials(), []
    t.dir, t.launcher, t.poll, t.out, t.save = tmp_path, Launcher(), 0.0, lines.append, lambda: None
    t._summarise = lambda rec: rec.update(summary={"state": "finished", "steps": 6, "verdict": "good", "reason": "-"})
    t.wait({"run_dir": "s8-final"})
    assert [line.strip() for line in lines] == [
        "s8-final: starting",
        "s8-final: step 3 loss 2",
        "s8-final: step 6 loss 1.5",
        "s8-final: finished at step 6, good: -",
    ]
