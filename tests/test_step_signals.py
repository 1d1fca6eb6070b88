"""The monitoring notes' signals beyond the loss: update size, data wait, padding and the samples; scored,
turned into findings, and the update size guarded in the real trainer (the stop list's "abnormally large
weight updates")."""

from __future__ import annotations

import json

import pytest

from cockpit.advisor import evaluate
from cockpit.advisor.guards import GuardWindow, check_step
from cockpit.config import GuardConfig
from cockpit.history import History
from cockpit.sample_signals import score, score_all
from cockpit.thresholds import Thresholds
from runhelpers import cockpit, demo_yaml, events


def test_samples_are_scored_for_what_a_person_looks_for():
    assert score({"completion": "The capital of France is Paris."}).bad is False
    loop = score({"completion": "I am a pirate I am a pirate I am a pirate I am a pirate"})
    assert loop.repetition >= 0.5 and loop.bad and "repeats itself" in loop.summary()
    assert score({"completion": "aaaaaaaaaaaa"}).repetition == 1.0
    # a loop without spaces: word 3-grams see one "word" and scored it 0
    spaceless = score({"completion": "16" + "ocean" * 12})
    assert spaceless.repetition > 0.8 and spaceless.bad and "repeats itself" in spaceless.summary()
    for fine in ('{"answer":"cold","confidence":"high"}', "https://example.com/a/b/c", "3f9a8b7c6d5e4f3a2b1c0d9e"):
        assert score({"completion": fine}).repetition == 0.0, fine
    assert score({"completion": "  "}).garbage == ["empty answer"]
    assert "replacement characters" in score({"completion": "ok \ufffd\ufffd"}).summary()
    assert "special tokens" in score({"completion": "Paris.<|im_end|><|im_start|>user"}).summary()
    assert "control characters" in score({"completion": "a\x07b"}).summary()
    assert score({"completion": "Sure.\n### Instruction: say more"}).leakage
    first, other, again = score_all(
        [
            {"prompt": "p", "completion": "mrots"},
            {"prompt": "q", "completion": "x"},
            {"prompt": "p", "completion": "storm"},
        ]
    )
    assert first[1].drift is None and other[1].drift is None and again[1].drift > 0.5  # against "mrots", not "x"
    assert score_all([{"prompt": "p", "completion": "abc"}, {"prompt": "p", "completion": "abc"}])[1][1].drift == 0.0


def _history(n: int = 30, **series) -> History:
    h = History()
    h.add({"kind": "state", "state": "running", "step": 0, "t": 1.0})
    for s in range(1, n + 1):
        ev = {
            "kind": "metrics",
            "step": s,
            "t": 1.0 + s,
            "loss": 2.0 - s / 100,
            "grad_norm": 1.0,
            "learning_rate": 1e-4,
            "step_time": 0.5,
        }
        ev.update({k: v(s) if callable(v) else v for k, v in series.items()})
        h.add(ev)
    return h


def _rules(h: History) -> dict:
    return {f.rule: f for f in evaluate(h)[1]}


def test_step_findings_name_their_remedy():
    big = _rules(_history(update_ratio=0.35))["update_large"]
    assert big.severity == "danger" and big.action.id == "lr_half"
    assert _rules(_history(update_ratio=0.08))["update_large"].severity == "warn"
    assert "update_large" not in _rules(_history(update_ratio=0.01))
    pad = _rules(_history(pad_share=0.6))["padding_heavy"]
    assert pad.action.config_patch == {"training.group_by_length": True}
    slow = _rules(_history(data_wait=0.2))["data_starved"]  # 0.2 of a 0.5 s step
    assert slow.action.config_patch == {"training.dataloader_num_workers": 2}
    assert "data_starved" not in _rules(_history(data_wait=0.01))


def test_degenerate_samples_are_a_finding_with_the_sample_as_evidence():
    h = _history()
    h.add({"kind": "sample", "step": 10, "prompt": "Say hi", "completion": "Hi there."})
    h.add({"kind": "sample", "step": 30, "prompt": "Say hi", "completion": "hi hi hi hi hi hi hi hi hi hi hi"})
    f = _rules(h)["samples_degenerate"]
    assert f.severity == "danger" and f.evidence["completion"].startswith("hi hi") and f.action.id == "lr_half"
    h.add({"kind": "sample", "step": 40, "prompt": "Say hi", "completion": "<|im_start|>user: hi"})
    assert _rules(h)["samples_degenerate"].action.id == "check_data"


def test_large_update_guard_needs_several_steps_in_a_row():
    th, g, w = Thresholds(), GuardConfig(), GuardWindow()
    seen = [check_step(s, 1.0, 1.0, th, g, w, update_ratio=u) for s, u in enumerate([0.5, 0.01, 0.3, 0.4, 0.5, 0.6], 1)]
    fired = [(d.rule, d.evidence["steps"]) for d in seen if d]
    assert fired == [("update_large", [3, 4, 5])]


@pytest.mark.slow
def test_the_trainer_logs_update_size_data_wait_and_padding_and_stops_updates_far_too_large(tmp_path):
    cfg = demo_yaml(
        tmp_path,
        training__max_steps=40,
        samples__every=0,
        training__learning_rate=0.5,
        training__warmup_ratio=0.0,
        training__lr_scheduler_type="constant",
        guards__on_explosion="warn",
        guards__on_precursor="off",
        guards__on_loss_jump="off",
    )
    r = cockpit("run", str(cfg), "--headless", "--runs-dir", str(tmp_path / "runs"), timeout=300)
    assert r.returncode == 1, r.stdout + r.stderr
    (rd,) = list((tmp_path / "runs").iterdir())
    evs = events(rd)
    m = [e for e in evs if e["kind"] == "metrics"]
    assert all(e["update_ratio"] > 0.2 for e in m)
    assert all(e["data_wait"] >= 0 and 0 < e["pad_share"] < 1 for e in m)
    guard = next(e for e in evs if e["kind"] == "guard" and e["rule"] == "update_large")
    assert guard["action"] == "stopped" and guard["evidence"]["steps"] == [1, 2, 3]


@pytest.mark.slow
@pytest.mark.parametrize("lr", [0.5, 3e-4], ids=["far-too-high-lr", "demo-lr"])
def test_the_real_trainers_samples_degenerate_at_a_far_too_high_lr_and_the_advisor_says_so(tmp_path, lr):
    # At lr 0.5 the tiny model learns within five steps to end every answer at once (EOS first): the
    # samples it writes are empty. At the demo's lr the same run keeps answering; the pair is the control.
    cfg = demo_yaml(
        tmp_path,
        training__max_steps=10,
        training__save_steps=0,
        samples__every=5,
        samples__max_new_tokens=24,
        samples__general_prompts=0,  # the task's three prompts only: the test reads their answers
        training__learning_rate=lr,
        training__warmup_ratio=0.0,
        training__lr_scheduler_type="constant",
        guards__on_explosion="warn",
        guards__on_precursor="off",
        guards__on_loss_jump="off",
        guards__on_large_update="off",
    )
    r = cockpit("run", str(cfg), "--headless", "--runs-dir", str(tmp_path / "runs"), timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    (rd,) = list((tmp_path / "runs").iterdir())
    samples = [e for e in events(rd) if e["kind"] == "sample"]
    assert [s["step"] for s in samples] == [0, 0, 0, 5, 5, 5, 10, 10, 10]
    scored = score_all(samples)
    before = [(s, sc) for s, sc in scored if s["step"] == 0]
    last = [(s, sc) for s, sc in scored if s["step"] == 10]
    assert all(s["completion"].strip() and not sc.bad for s, sc in before), before  # the base model answers
    diag = cockpit("diagnose", str(rd), "--json")
    found = {f["rule"]: f for f in json.loads(diag.stdout)["standing"]}
    if lr == 3e-4:
        assert not any(sc.bad for _, sc in last), last
        assert "samples_degenerate" not in found
        return
    # How far each answer falls depends on the machine's float arithmetic (the demo model's weights are the
    # same; another CPU's kernels give '5', '5', '' where this test was written with three empty answers):
    # what holds everywhere is that nothing of the first answers is left and an empty answer appears.
    assert all(sc.drift == 1.0 for _, sc in last), last  # nothing left of the first answers
    assert any(sc.garbage == ["empty answer"] for _, sc in last), last
    f = found["samples_degenerate"]
    # danger when all three answers are bad, warn when some are
    assert f["severity"] == ("danger" if f["evidence"]["bad"] == 3 else "warn"), f
    assert f["last_step"] == 10 and f["action"]["id"] == "check_data"
    assert f["evidence"]["of"] == 3 and f["evidence"]["bad"] >= 1
    assert f["evidence"]["completion"] in [s["completion"] for s, _ in last]
    assert diag.returncode == 3  # a danger finding stands
