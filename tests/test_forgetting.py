"""Forgetting: the general set, general_eval_loss at each evaluation, the finding, and general replay.

The metric and the mix are checked through real trainer runs on the demo's tiny model (seconds); the
finding on histories built from eval events, and on a real SmolLM2 run's events (bench/README.md).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from cockpit.advisor import advise, evaluate
from cockpit.config import ConfigError, DataConfig, RunConfig, config_from_text
from cockpit.data.load import DataError, load_file
from cockpit.general import EVAL_PATH, REPLAY_PATH, SAMPLE_QUESTIONS, eval_rows, sample_prompts
from cockpit.general.mix import describe, mix_in, needed
from cockpit.general.reading import eval_label, general_loss
from cockpit.history import History
from tests.runhelpers import cockpit, demo_yaml, events

FIX = Path(__file__).parent / "fixtures" / "forgetting"


# ---- the shipped set -----------------------------------------------------------------------------


def test_shipped_general_set_is_chat_rows_disjoint_between_replay_and_eval():
    replay, _, fmt, bad = load_file(str(REPLAY_PATH), "auto", None, False)
    held, _, fmt_eval, _ = load_file(str(EVAL_PATH), "auto", None, False)
    assert fmt == fmt_eval == "messages" and not bad
    assert len(replay) + len(held) >= 300 and len(held) == 64
    q = lambda rows: {r["prompt"][-1]["content"] for r in rows}  # noqa: E731
    assert not q(replay) & q(held)
    assert (REPLAY_PATH.parent / "README.md").exists()  # provenance and licence beside the data
    assert set(SAMPLE_QUESTIONS) <= q(held)  # the sampled general questions are held out from replay
    assert sample_prompts(2, besides=[SAMPLE_QUESTIONS[0]]) == list(SAMPLE_QUESTIONS[1:3])
    few = [r["prompt"][-1]["content"] for r in eval_rows(8)]
    assert len(few) == 8 and few[0].startswith("What is the capital") and few[-1] != few[-2]
    assert any(x.startswith("How ") for x in few) and any(x.startswith("What is a") for x in few)


def test_shipped_arithmetic_is_right():
    import re

    rows, _, _, _ = load_file(str(REPLAY_PATH), "auto", None, False)
    checked = 0
    for r in rows:
        m = re.fullmatch(r"What is (\d+) (plus|minus|times) (\d+)\?", r["prompt"][-1]["content"])
        if m:
            a, op, b = int(m[1]), m[2], int(m[3])
            want = {"plus": a + b, "minus": a - b, "times": a * b}[op]
            assert r["completion"][0]["content"].endswith(f" is {want}."), r
            checked += 1
    assert checked > 40


# ---- the mix -------------------------------------------------------------------------------------


def _task(n: int) -> list[dict]:
    return [
        {"prompt": [{"role": "user", "content": f"task {i}"}], "completion": [{"role": "assistant", "content": str(i)}]}
        for i in range(n)
    ]


def test_mix_adds_the_share_keeps_task_order_and_follows_the_seed():
    task = _task(259)
    cfg = DataConfig(general_mix=0.1)
    mixed, mix = mix_in(task, cfg, "messages", seed=42)
    assert mix.general_rows == needed(259, 0.1) == 29 and len(mixed) == 288
    assert [r for r in mixed if r["prompt"][0]["content"].startswith("task")] == task  # all task rows, in order
    again, _ = mix_in(task, cfg, "messages", seed=42)
    other, _ = mix_in(task, cfg, "messages", seed=7)
    assert again == mixed and other != mixed
    gaps = [i for i, r in enumerate(mixed) if not r["prompt"][0]["content"].startswith("task")]
    assert gaps[0] < 100 and gaps[-1] > 188  # interleaved through the set, not appended
    assert "29 general rows mixed into 259 task rows (10%" in describe(mix)
    assert mix_in(task, DataConfig(), "messages", seed=42) == (task, None)


def test_mix_cycles_a_small_general_file(tmp_path):
    p = tmp_path / "mine.jsonl"
    p.write_text("".join(json.dumps({"instruction": f"q{i}", "output": f"a{i}"}) + "\n" for i in range(3)))
    mixed, mix = mix_in(_task(90), DataConfig(general_mix=0.5, general_path=str(p)), "messages", seed=1)
    assert mix.general_rows == 90 and mix.available == 3 and len(mixed) == 180
    assert "cycled: the file has 3" in describe(mix)


def test_bad_general_data_names_the_field_and_the_line(tmp_path):
    bad = tmp_path / "gen.jsonl"
    bad.write_text(
        json.dumps({"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]})
        + "\n{not json\n"
    )
    with pytest.raises(DataError, match=r"(?s)data.general_path: .*gen.jsonl:2: not valid JSON"):
        mix_in(_task(20), DataConfig(general_mix=0.1, general_path=str(bad)), "messages", seed=1)
    text = tmp_path / "text.jsonl"
    text.write_text(json.dumps({"text": "plain"}) + "\n")
    with pytest.raises(DataError, match="data.general_path: .*plain text"):
        mix_in(_task(20), DataConfig(general_mix=0.1, general_path=str(text)), "messages", seed=1)
    with pytest.raises(DataError, match="data.general_mix: the task data is plain text"):
        mix_in([{"text": "x"}] * 20, DataConfig(general_mix=0.1), "text", seed=1)
    with pytest.raises(ConfigError, match=r"c.yaml:3: data.general_path: file not found: .*nothere.jsonl"):
        config_from_text(
            "data:\n  general_mix: 0.1\n  general_path: ./nothere.jsonl\n", file="c.yaml", base_dir=tmp_path
        )
    with pytest.raises(ConfigError, match=r"data.general_mix: Input should be less than or equal to 0.5"):
        config_from_text("data:\n  general_mix: 0.9\n", file="c.yaml")


def test_check_data_reports_the_mix_and_refuses_a_bad_general_file(tmp_path):
    cfg = demo_yaml(tmp_path, data__general_mix=0.1)
    r = cockpit("check-data", str(cfg), "--json", timeout=240)
    assert "general replay: 67 general rows mixed into 600 task rows (10%" in json.loads(r.stdout)["general_mix"]
    (tmp_path / "g.jsonl").write_text('{"instruction": "q"}\n')
    r = cockpit(
        "check-data", str(demo_yaml(tmp_path, data__general_mix=0.1, data__general_path=str(tmp_path / "g.jsonl")))
    )
    assert r.returncode == 2 and "data.general_path:" in r.stderr and "g.jsonl:1: missing 'output'" in r.stderr


# ---- the metric (real runs on the demo model) ----------------------------------------------------


def _run(tmp_path: Path, **overrides) -> list[dict]:
    cfg = demo_yaml(
        tmp_path,
        training__max_steps=6,
        training__eval_steps=3,
        data__eval_ratio=0.05,
        training__save_steps=0,
        samples__every=6,
        samples__max_new_tokens=4,
        **overrides,
    )
    r = cockpit("run", str(cfg), "--headless", "--runs-dir", str(tmp_path / "runs"), timeout=300)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    (run_dir,) = (tmp_path / "runs").iterdir()
    return events(run_dir)


def test_general_eval_loss_at_each_evaluation_with_the_base_models_first(tmp_path):
    evs = _run(tmp_path, data__general_mix=0.1)
    evals = [e for e in evs if e["kind"] == "eval"]
    assert [e["step"] for e in evals] == [0, 3, 6]
    assert "eval_loss" not in evals[0]  # measured once before the first step: eval_on_start is off
    for e in evals:
        assert math.isfinite(e["general_eval_loss"]) and e["general_eval_loss"] > 0
        assert 0 < e["general_eval_runtime"] < 30
    assert all("eval_loss" in e for e in evals[1:])
    assert evals[-1]["general_eval_loss"] != evals[0]["general_eval_loss"]  # it measures the trained model
    started = next(e for e in evs if e["kind"] == "run_started")
    assert started["general_rows"] == needed(started["train_rows"] - started["general_rows"], 0.1) > 0
    prompts = {e["prompt"] for e in evs if e["kind"] == "sample"}
    assert set(sample_prompts(2)) <= prompts and len(prompts) == 5  # the task's three, two general
    h = History().extend(evs)
    assert general_loss(h).ref_step == 0 and eval_label(h).startswith("task ") and "general " in eval_label(h)


def test_eval_on_start_carries_the_reference_in_its_own_eval(tmp_path):
    evs = _run(tmp_path, training__eval_on_start=True, samples__general_prompts=0)
    evals = [e for e in evs if e["kind"] == "eval"]
    assert [e["step"] for e in evals] == [0, 3, 6]
    assert all("eval_loss" in e and "general_eval_loss" in e for e in evals)
    assert len({e["prompt"] for e in evs if e["kind"] == "sample"}) == 3
    assert next(e for e in evs if e["kind"] == "run_started")["general_rows"] == 0


def test_answer_loss_matches_the_models_own_loss_row_by_row():
    """The batched, padded, prompt-masked loss equals the model's own loss on each row alone."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from cockpit.demo import ensure_demo_model
    from cockpit.trainer.general_eval import answer_loss, encode

    path = ensure_demo_model()
    tok, model = AutoTokenizer.from_pretrained(path), AutoModelForCausalLM.from_pretrained(path)
    enc = encode(eval_rows(12), tok, 128)
    total = count = 0.0
    for ids, n_prompt in enc:
        x = torch.tensor([ids])
        labels = x.clone()
        labels[0, :n_prompt] = -100
        with torch.no_grad():
            total += float(model(input_ids=x, labels=labels).loss) * (len(ids) - n_prompt)
        count += len(ids) - n_prompt
    assert answer_loss(model, enc, tok.pad_token_id) == pytest.approx(total / count, rel=1e-4)
    assert all(0 < n < len(ids) for ids, n in enc)


# ---- the finding ---------------------------------------------------------------------------------


def _hist(general: list[float], task: list[float], mix: float = 0.0) -> History:
    cfg = RunConfig().model_dump(mode="json")
    cfg["data"]["general_mix"] = mix
    h = History()
    h.add({"kind": "run_started", "config": cfg, "total_steps": 100})
    for i in range(1, 101):
        h.add({"kind": "metrics", "step": i, "loss": 2.0 - i / 100, "grad_norm": 1.0, "learning_rate": 1e-4})
        if i % 25 == 0 or i == 1:
            k = 0 if i == 1 else i // 25
            h.add({"kind": "eval", "step": 0 if i == 1 else i, "eval_loss": task[k], "general_eval_loss": general[k]})
    return h


def _forgetting(h: History):
    return next((f for f in evaluate(h)[1] if f.rule == "forgetting"), None)


def test_forgetting_severity_by_how_far_the_general_loss_rose():
    task = [2.0, 1.5, 1.2, 1.0, 0.9]
    f = _forgetting(_hist([2.0, 2.1, 2.4, 2.6, 2.8], task))
    assert f.severity == "danger" and f.evidence["steps"] == [0, 100] and f.evidence["values"] == [2.0, 2.8]
    assert f.evidence["rise"] == pytest.approx(0.4) and f.evidence["eval_loss"] == [2.0, 0.9]
    assert f.action.config_patch == {"data.general_mix": 0.1}
    assert _forgetting(_hist([2.0, 2.0, 2.1, 2.2, 2.3], task)).severity == "warn"
    assert _forgetting(_hist([2.0, 2.0, 2.05, 2.1, 2.1], task)) is None  # +5%: noise, not forgetting
    assert _forgetting(_hist([2.0, 2.4, 2.8, 3.0, 3.2], [2.0, 2.2, 2.4, 2.6, 2.8])) is None  # task worse too
    again = _forgetting(_hist([2.0, 2.4, 2.8, 3.0, 3.2], task, mix=0.1))
    assert again.action.config_patch == {"data.general_mix": 0.2}  # already mixing: more of it
    adv = advise(_hist([2.0, 2.1, 2.4, 2.6, 2.8], task))
    assert adv.next_action is not None and adv.next_action.id == "general_replay"


def test_without_task_evals_the_falling_train_loss_is_the_task_signal():
    h = History()
    h.add({"kind": "run_started", "config": RunConfig().model_dump(mode="json"), "total_steps": 50})
    h.add({"kind": "eval", "step": 0, "general_eval_loss": 1.5})
    for i in range(1, 51):
        h.add({"kind": "metrics", "step": i, "loss": 3.0 - i / 25, "grad_norm": 1.0, "learning_rate": 1e-4})
    h.add({"kind": "eval", "step": 50, "general_eval_loss": 2.5})
    f = _forgetting(h)
    assert f.severity == "danger" and f.evidence["loss"][1] < f.evidence["loss"][0]


def test_no_forgetting_on_the_demo_model_whose_general_loss_falls(tmp_path):
    """The demo's tiny model knows no general English: training teaches it the chat format, its general
    loss falls, and the rule must stay quiet."""
    evs = _run(tmp_path, samples__general_prompts=0)
    h = History().extend(evs)
    g = general_loss(h)
    assert g.now < g.ref and _forgetting(h) is None


@pytest.mark.parametrize("name, fires", [("smollm2-nomix.jsonl", "danger"), ("smollm2-mix10.jsonl", None)])
def test_forgetting_on_real_smollm2_runs(name, fires):
    """Events of the two SmolLM2-135M runs in bench/README.md (lr 1e-3, 80 steps): no mix, and general_mix 0.1."""
    from cockpit.rundir import read_events

    h = History().extend(read_events(FIX / name))
    f = _forgetting(h)
    assert (f.severity if f else None) == fires


def test_the_gravest_finding_leads_the_advice_not_the_first_in_the_list():
    """With entropy collapsing (warn) and the general loss up 40% (danger), the headline named the
    forgetting but `a` offered more dropout: the next action came from the list's order alone."""
    from cockpit.advisor import next_action
    from cockpit.advisor.context import Context
    from cockpit.advisor.types import Action, Finding
    from cockpit.history import History

    ctx = Context.build(History(), {"lora": {"r": 8, "lora_dropout": 0.05}})
    dropout = Action("dropout_up", "lora_dropout 0.05 -> 0.1", "", config_patch={"lora.lora_dropout": 0.1})
    replay = Action("general_replay", "data.general_mix 0 -> 0.1", "", config_patch={"data.general_mix": 0.1})
    entropy = Finding("entropy_collapse", "warn", "entropy collapsed", action=dropout)
    assert next_action(ctx, [entropy, Finding("forgetting", "danger", "+40%", action=replay)], 4) is replay
    # the same severity: the SOP's order decides (dropout, stage 4, before general replay)
    assert next_action(ctx, [entropy, Finding("forgetting", "warn", "+15%", action=replay)], 4) is dropout
