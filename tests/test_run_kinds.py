"""The advisor on the runs of the wider world (issue #33): it tells the run's kind from its keys, applies
only the rules that mean something there, judges loss-only logs, reads preference and RL trainers by
their own signals, and reads a run's whole course. Real logs from tests/fixtures/real-logs (the earlier
set) and tests/fixtures/real-logs-2 (labelled before the advisor read them: INDEX.md)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from cockpit.advisor import advise, evaluate
from cockpit.advisor.context import Context
from cockpit.advisor.diagnose import report
from cockpit.history import History
from cockpit.logs import load_history
from cockpit.run_kind import RunKind

FIX = Path(__file__).parent / "fixtures"
OLD, NEW = FIX / "real-logs", FIX / "real-logs-2"
LOWER_LR = ("lr_half", "lr_half_next", "lr_into_range")


def read(path: Path) -> History:
    return load_history(path)[0]


def rules(h: History) -> dict[str, str]:
    return {f.rule: f.severity for f in advise(h).findings}


def run(rows: list[dict], **header) -> History:
    h = History()
    if header:
        h.add({"kind": "run_started", **header})
    for i, r in enumerate(rows):
        h.add({"kind": "metrics", "step": r.pop("step", i + 1), **r})
    return h


# ---- the earlier real logs keep their diagnosis (the changes that are the point are listed) -------------

EARLIER = {
    "01_ab-verifier-qwen05-full.json": ("danger", "loss_collapse", "sft"),
    "02_engram-unsloth-60steps.json": ("ok", None, "sft"),
    "03_math-meme-repair-10epochs.json": ("danger", "loss_collapse", "sft"),
    "04_vendor-comp-classifier.json": ("critical", "grad_norm_explosion", "sft"),
    "05_phi3-sft-entropy-flat.json": ("warn", "loss_flat", "sft"),
    "06_nlcli-wizard-gemma3-lora.json": ("ok", None, "sft"),
    "07_tfm-lora-20epochs-constlr.json": ("danger", "loss_collapse", "sft"),
    "08_meta-hackathon-grpo-entropy.json": ("warn", "rl_completions_clipped", "rl"),  # was ok: read as GRPO now
    "09_qwen-lora-20epochs-memorize.json": ("danger", "loss_collapse", "sft"),
    "13_vla-sft-loss15-acc-stuck.json": ("danger", "grad_norm_precursor", "sft"),
    "14_diabetes-extraction-fast-zero.json": ("danger", "loss_collapse", "sft"),
    "15_takemeter-classifier-underfit.json": ("warn", "too_few_points", "sft"),
    "17_gemma3-1b-initloss14-eval.json": ("ok", None, "sft"),
    "18_spider-arm-15ep-sawtooth.json": ("warn", "grad_norm_sawtooth", "sft"),
    "20_dashcam-vlm-lora-eval-every5.json": ("ok", None, "sft"),
    "21_kiko-lora-gradnorm237.json": ("critical", "grad_norm_explosion", "sft"),
    "24_benchmark-regression-gradnorm-388k.json": ("critical", "grad_norm_explosion", "sft"),
    "25_dubhacks-dpo-10steps.json": ("ok", None, "preference"),  # was ok with loss_flat in its timeline
    "27_gemma3-270m-sft-entropy-eval.json": ("ok", None, "sft"),
    "29_self-directed-empty-log-history.json": ("ok", None, "sft"),
}


@pytest.mark.parametrize("name", sorted(EARLIER))
def test_earlier_real_logs_keep_their_reading_and_get_their_kind(name):
    d = report(read(OLD / name))
    worst, headline, method = EARLIER[name]
    assert (d["worst"], d["standing"][0]["rule"] if d["standing"] else None, d["kind"]["method"]) == EARLIER[name]


def test_the_memorising_multi_epoch_earlier_logs_now_say_so():
    for name in ("03_math-meme-repair-10epochs.json", "07_tfm-lora-20epochs-constlr.json"):
        assert "memorisation" in rules(read(OLD / name)), name


# ---- the kind ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name,method",
    [
        ("32_recsys-orpo-3epochs.json", "preference"),
        ("37_wordle-grpo-400-reward-flat.json", "rl"),
        ("38_wordle-grpo-stage2-160.json", "rl"),
        ("31_qlora-lr5-frozen-no-gradnorm.json", "sft"),
        ("36_baize-tcm-9epochs.json", "sft"),
    ],
)
def test_the_kind_comes_from_the_keys_a_log_carries(name, method):
    assert RunKind.of(read(NEW / name)).method == method


def test_signals_say_what_a_log_carries():
    grpo = RunKind.of(read(NEW / "37_wordle-grpo-400-reward-flat.json"))
    assert {"grad_norm", "entropy", "rewards", "kl", "completions"} <= grpo.signals and "eval" not in grpo.signals
    no_grad = RunKind.of(read(NEW / "33_alpaca-full-3epochs-no-gradnorm.json"))
    assert "grad_norm" not in no_grad.signals and "loss" in no_grad.signals
    assert "eval" in RunKind.of(read(NEW / "39_wordle-sft-stage1-400-of-9000.json")).signals


def test_a_declared_method_wins_over_the_keys():
    h = run([{"loss": 0.7, "grad_norm": 1.0}] * 3, method="dpo")
    kind = RunKind.of(h)
    assert kind.method == "preference" and kind.declared
    ours = run([{"loss": 0.7}] * 3, config={"lora": {"r": 8}}, method="sft")
    assert RunKind.of(ours).method == "sft" and RunKind.of(ours).declared
    # A LoRA config alone is no declaration: a DPO script's run (the public callback's) has one too.
    script = run([{"loss": 0.7, "rewards/margins": 0.1}] * 3, config={"lora": {"r": 8}})
    assert RunKind.of(script).method == "preference" and not RunKind.of(script).declared


def test_diagnose_shows_the_kind_in_text_and_json(capsys):
    from cockpit.advisor.diagnose import main

    main(str(NEW / "37_wordle-grpo-400-reward-flat.json"))
    out = capsys.readouterr().out
    assert "kind: RL (GRPO/PPO-style) (from its keys); logs completions, entropy, epochs, grad_norm, kl" in out
    main(str(NEW / "37_wordle-grpo-400-reward-flat.json"), as_json=True)
    assert '"method": "rl"' in capsys.readouterr().out


def test_a_rule_that_cannot_apply_says_nothing():
    """A GRPO loss of 0 at its first steps is normal: the SFT rule that reads it as a broken setup (and
    every other SFT loss rule) stays silent on an RL run, and speaks on an SFT run with the same loss."""
    rows = [{"loss": 0.0, "grad_norm": 0.0, "reward": 0.5, "reward_std": 0.3} for _ in range(10)]
    assert "broken_setup" not in rules(run([dict(r) for r in rows]))
    sft = [{"loss": 0.0, "grad_norm": 0.0} for _ in range(10)]
    assert "broken_setup" in rules(run(sft))


# ---- acceptance: healthy preference and RL logs, a loss-only divergence ---------------------------------


@pytest.mark.parametrize(
    "name", ["38_wordle-grpo-stage2-160.json", "32_recsys-orpo-3epochs.json", "25_dubhacks-dpo-10steps.json"]
)
def test_healthy_grpo_and_dpo_logs_give_no_finding_above_info(name):
    h = read((NEW if name[:2] > "29" else OLD) / name)
    a = advise(h)
    assert a.worst == "ok", [(f.rule, f.severity, f.message) for f in a.findings]
    assert a.verdict.startswith("no finding (")


def test_a_loss_climbing_to_several_times_its_start_without_grad_norm_is_danger_lower_the_lr():
    rows = [{"loss": v, "learning_rate": 2e-4} for v in (2.0, 1.8, 1.7, 2.5, 4.0, 6.0, 7.5, 8.0, 8.2, 8.1)]
    a = advise(run(rows))
    assert "grad_norm" not in RunKind.of(run([dict(r) for r in rows])).signals
    f = {f.rule: f for f in a.findings}["loss_diverged"]
    assert f.severity == "danger" and "diverged" in f.message and f.evidence["start"] == 2.0
    assert a.next_action is not None and a.next_action.id in LOWER_LR


def test_the_real_qlora_run_that_jumps_then_freezes_is_danger_lower_the_lr():
    a = advise(read(NEW / "31_qlora-lr5-frozen-no-gradnorm.json"))
    top = a.findings[0]
    assert top.rule == "loss_diverged" and top.severity == "danger" and top.evidence["frozen"]
    assert "frozen at 10.4" in top.message and a.next_action.id in LOWER_LR
    # lr 5 halved is still 2.5: the next action sets it back into the SOP's range
    assert a.next_action.id == "lr_into_range" and a.next_action.config_patch == {"training.learning_rate": 2e-4}
    assert rules(read(NEW / "31_qlora-lr5-frozen-no-gradnorm.json"))["lr_out_of_range"] == "danger"


# ---- loss-only judgement ------------------------------------------------------------------------------


def swinging(n=20, with_grad=False):
    rows = []
    for i in range(n):
        r = {"loss": 3.0 if i % 2 else 0.9, "learning_rate": 2e-4}
        if with_grad:
            r["grad_norm"] = 1.0
        rows.append(r)
    return rows


def test_a_loss_swinging_by_several_times_is_lr_too_high_not_raise_alpha():
    a = advise(run(swinging()))
    found = {f.rule: f for f in a.findings}
    assert found["loss_oscillating"].severity == "danger" and "loss_slow" not in found
    assert a.next_action.id in LOWER_LR


def test_with_grad_norm_logged_the_swing_is_left_to_its_own_rules():
    assert "loss_oscillating" not in rules(run(swinging(with_grad=True)))


def test_an_lr_outside_any_sane_range_is_read_from_the_log():
    assert rules(run([{"loss": 2 - i / 20, "learning_rate": 0.02} for i in range(10)]))["lr_out_of_range"] == "warn"
    assert "lr_out_of_range" not in rules(run([{"loss": 2 - i / 20, "learning_rate": 2e-4} for i in range(10)]))


# ---- the run's whole course -----------------------------------------------------------------------------


def test_memorisation_over_epochs_is_found_on_the_real_long_runs():
    for name in ("36_baize-tcm-9epochs.json", "40_qlora-25epochs-no-gradnorm.json"):
        f = {f.rule: f for f in advise(read(NEW / name)).findings}["memorisation"]
        assert f.severity in ("warn", "danger") and "memorised" in f.message
        assert f.action.config_patch["training.num_train_epochs"] < f.evidence["epochs"]
    assert "memorisation" not in rules(read(NEW / "33_alpaca-full-3epochs-no-gradnorm.json"))  # 3 epochs, 0.42


def test_the_loss_by_epoch_is_grouped_as_one_pass_per_epoch_would():
    # The rule takes a long run's loss medians by epoch from one sort (a pass per epoch took 8 s on
    # 1,000,000 steps of 1,000 epochs, a median per epoch 0.2 s); each is np.median of what selecting the
    # epoch's points gives, in epoch order, epochs out of order, of odd and even sizes, repeated values
    # and points before the first epoch (index -1) included.
    import numpy as np

    from cockpit.advisor.course_rules import _epoch_medians

    rng = np.random.default_rng(4)
    for n in (1, 2, 7, 500, 5_000):
        vals = rng.random(n) if n < 5_000 else rng.integers(0, 4, n).astype(float)  # (ties)
        idx = np.concatenate([[-1], rng.integers(0, 9, n - 1)]) if n > 1 else np.array([-1])
        expected = [float(np.median(vals[idx == e])) for e in range(int(idx.max()) + 1) if np.any(idx == e)]
        assert _epoch_medians(vals, idx) == expected, n


def test_a_run_stopped_in_its_warm_up_is_incomplete_and_its_lr_not_judged():
    rows = [{"loss": 2.0 - i / 50, "learning_rate": 1e-3 * (i + 1)} for i in range(8)]  # would be "too high"
    a = advise(run(rows))
    found = {f.rule: f for f in a.findings}
    assert "incomplete" in found["warmup_unfinished"].message and found["warmup_unfinished"].severity == "ok"
    assert "lr_out_of_range" not in found


def test_a_warm_up_to_a_constant_lr_has_ended():
    rows = [{"loss": 2.0 - i / 50, "learning_rate": min(1e-4, 2e-5 * (i + 1))} for i in range(10)]
    assert "warmup_unfinished" not in rules(run(rows))


def test_a_finished_runs_headline_agrees_with_its_worst_finding():
    for path in [*sorted(NEW.glob("*.json")), *sorted(OLD.glob("*.json"))]:
        a = advise(read(path))
        if a.findings and a.worst != "ok":
            assert a.findings[0].severity == a.worst and a.findings[0].message in a.verdict, path.name


# ---- preference rules ----------------------------------------------------------------------------------


def dpo(n=30, **series):
    rows = []
    for i in range(n):
        r = {"loss": 0.69 - 0.2 * i / n, "grad_norm": 2.0, "rewards/chosen": 0.1, "rewards/rejected": -0.1}
        r["rewards/margins"], r["rewards/accuracies"] = 0.2, 0.6
        for k, f in series.items():
            r[k] = f(i)
        rows.append(r)
    return run(rows)


def test_a_healthy_synthetic_dpo_run_has_no_finding():
    assert advise(dpo()).findings == []


@pytest.mark.parametrize(
    "series,rule",
    [
        ({"rewards/accuracies": lambda i: 1.0}, "preference_accuracy_saturated"),
        ({"rewards/chosen": lambda i: -0.1 * i}, "preference_chosen_falling"),
        ({"rewards/margins": lambda i: i}, "preference_margin_exploding"),
        ({"loss": lambda i: 0.69 if i < 5 else 0.01}, "preference_loss_collapse"),
    ],
)
def test_each_preference_failure_is_named_with_its_evidence_and_an_action(series, rule):
    f = {f.rule: f for f in advise(dpo(**series)).findings}[rule]
    assert f.evidence["steps"] and f.action is not None and f.severity in ("warn", "danger")


# ---- RL rules ----------------------------------------------------------------------------------------------


def grpo(n=60, **series):
    rows = []
    for i in range(n):
        r = {"loss": 0.0 if i < 2 else 0.01 * math.sin(i), "grad_norm": 0.3, "reward": 0.2 + 0.6 * i / n}
        r.update({"reward_std": 0.4, "frac_reward_zero_std": 0.2, "kl": 0.001 * (1 + i / n), "entropy": 1.0})
        r.update({"completions/mean_length": 200.0, "completions/clipped_ratio": 0.02})
        for k, f in series.items():
            r[k] = f(i)
        rows.append(r)
    return run(rows)


def test_a_healthy_synthetic_grpo_run_with_loss_0_at_its_first_steps_has_no_finding():
    a = advise(grpo())
    assert a.findings == [] and a.verdict.startswith("no finding (RL")


@pytest.mark.parametrize(
    "series,rule,severity",
    [
        ({"frac_reward_zero_std": lambda i: 1.0}, "rl_no_reward_signal", "danger"),
        ({"reward": lambda i: 0.3 + 0.001 * (i % 2)}, "rl_reward_flat", "warn"),
        ({"kl": lambda i: 0.05 * 1.12**i}, "rl_kl_runaway", "danger"),
        ({"completions/clipped_ratio": lambda i: 0.6}, "rl_completions_clipped", "danger"),
        ({"entropy": lambda i: 1.0 if i < 10 else 0.01}, "rl_entropy_collapse", "danger"),
        ({"completions/mean_length": lambda i: 100 + 10 * i}, "rl_length_hacking", "warn"),
    ],
)
def test_each_rl_failure_is_named_with_its_evidence_and_an_action(series, rule, severity):
    found = {f.rule: f for f in advise(grpo(**series)).findings}
    assert found[rule].severity == severity and found[rule].action is not None


def test_rl_and_preference_rules_cite_the_trainers_docs_not_the_sop():
    from cockpit.advisor import RULES

    by_id = {r.id: r for r in RULES}
    assert by_id["rl_no_reward_signal"].sop.startswith("https://huggingface.co/docs/trl/grpo_trainer")
    assert by_id["preference_margin_exploding"].sop.startswith("https://huggingface.co/docs/trl/dpo_trainer")
    assert by_id["loss_diverged"].sop.startswith("docs/SOP.md#")


def test_the_real_grpo_run_whose_reward_never_moved_is_told_so():
    found = {f.rule: f for f in advise(read(NEW / "37_wordle-grpo-400-reward-flat.json")).findings}
    assert set(found) == {"rl_reward_flat"} and found["rl_reward_flat"].severity == "warn"


def test_kind_gating_costs_little_on_a_long_log():
    ctx = Context.build(read(NEW / "36_baize-tcm-9epochs.json"), None)
    assert ctx.kind.method == "sft" and len(ctx.history) == 6687
    assert evaluate(ctx.history)[1]


def test_a_preference_or_rl_run_at_an_sft_lr_is_told_trls_default():
    hit = {f.rule: f for f in advise(grpo(learning_rate=lambda i: 2e-4)).findings}["method_lr_high"]
    assert (
        hit.severity == "warn" and "1e-6" in hit.message and hit.action.config_patch == {"training.learning_rate": 1e-5}
    )
    assert hit.evidence["doc"].startswith("https://huggingface.co/docs/trl/") and "default" in hit.evidence["signal"]
    assert "method_lr_high" not in rules(grpo(learning_rate=lambda i: 1e-6))
    assert "method_lr_high" not in rules(run([{"loss": 2 - i / 20, "learning_rate": 2e-4} for i in range(10)]))


def test_an_unknown_declared_method_falls_back_to_the_keys():
    for bad in ("magic", 3, None, ["dpo"]):
        kind = RunKind.of(run([{"loss": 0.1, "reward": 0.5, "kl": 0.01}] * 3, method=bad))
        assert kind.method == "rl" and not kind.declared, bad


def test_a_flat_loss_inside_the_warm_up_is_not_lr_too_low():
    rows = [{"loss": 2.0 + 0.001 * (i % 2), "learning_rate": 1e-6 * (i + 1)} for i in range(12)]
    a = advise(run(rows))
    (top,) = a.findings
    assert top.rule == "warmup_unfinished" and [k.rule for k in top.folded] == ["loss_flat"]
    assert a.next_action is None or a.next_action.id not in ("lr_double", "lr_double_next")
