"""Diagnosis names the cause (issue 17): one synthetic log per class, written as a trainer_state.json and
read the way `cockpit diagnose` reads it, and the real logs that show (or must not show) each class."""

from __future__ import annotations

import json
import math
from pathlib import Path

from cockpit.advisor import advise, evaluate
from cockpit.advisor.diagnose import exit_code, main, report
from cockpit.config import RunConfig
from cockpit.history import History
from cockpit.logs import load_history

FIX = Path(__file__).parent / "fixtures" / "real-logs"


def state_file(tmp: Path, train, evals=(), total=None, name="trainer_state.json") -> Path:
    """A trainer_state.json as the HF Trainer writes it: `train` rows (step, loss, grad_norm, lr),
    `evals` rows (step, eval_loss); finished when global_step reaches max_steps."""
    rows = [{"step": s, "epoch": s / 100, "loss": lo, "grad_norm": g, "learning_rate": lr} for s, lo, g, lr in train]
    rows += [{"step": s, "epoch": s / 100, "eval_loss": v} for s, v in evals]
    rows.sort(key=lambda r: (r["step"], "eval_loss" in r))
    last = max(r["step"] for r in rows)
    p = tmp / name
    p.write_text(json.dumps({"global_step": last, "max_steps": total or last, "log_history": rows}))
    return p


def read(p: Path) -> History:
    return load_history(str(p))[0]


def standing(h: History) -> dict:
    return {f.rule: f for f in advise(h).findings}


def all_rules(h: History) -> set[str]:
    """Every rule that fired, folded under a cause or not."""
    return {g.rule for f in evaluate(h)[1] for g in (f, *f.folded)}


# ---- a. loss 0 and grad_norm 0 from the first log: a broken setup, not an lr ----------------------------


def test_a_zero_loss_and_zero_grad_from_the_first_log_is_a_broken_setup(tmp_path, capsys):
    cos = lambda s: 2e-4 * 0.5 * (1 + math.cos(math.pi * s / 1000))  # noqa: E731
    p = state_file(tmp_path, [(s, 0.0, 0.0, cos(s)) for s in range(10, 1001, 10)])
    h = read(p)
    a = advise(h)
    top = a.findings[0]
    assert top.rule == "broken_setup" and top.severity == "critical"
    assert {"loss_collapse", "grad_norm_vanishing"} <= {f.rule for f in top.folded}  # not beside it
    assert "loss_collapse" not in standing(h)
    assert a.next_action.id == "check_data" and "check-data" in a.next_action.description
    assert a.next_action.label == "check the data and labels" and "answer span" in a.next_action.description
    assert "lr" not in a.next_action.label
    assert a.verdict.startswith("critical: loss 0 and grad_norm 0 from the first log")
    assert main(str(p)) == 3 and "explains loss_collapse" in capsys.readouterr().out


def test_a_live_broken_setup_stops_the_run():
    h = History()
    h.add({"kind": "run_started", "config": RunConfig().model_dump(mode="json"), "total_steps": 1000})
    h.add({"kind": "state", "state": "running", "step": 0})
    for s in range(1, 40):
        h.add({"kind": "metrics", "step": s, "loss": 0.0, "grad_norm": 0.0, "learning_rate": 1e-4})
    assert advise(h).next_action.id == "stop"


def test_a_real_fast_zero_is_not_a_broken_setup():
    """14: 0.40 -> 0.025 by step 100 on templated data is the SOP's 'to 0 within 200 steps', not a broken
    setup: the loss was never 0 at the first log."""
    for name in ("14_diabetes-extraction-fast-zero.json", "09_qwen-lora-20epochs-memorize.json"):
        h = read(FIX / name)
        assert not {"broken_setup", "numeric_failure"} & all_rules(h) and "loss_collapse" in standing(h), name


# ---- b. loss 0 with NaN gradients at a tiny lr: a numeric failure, not the lr ----------------------------


def test_b_zero_loss_with_nan_grads_at_a_tiny_lr_is_a_numeric_failure(tmp_path):
    train = [(s, 2.0 - s / 100, 1.0, 1e-6) for s in range(1, 6)]
    train += [(s, 0.0, float("nan"), 1e-6) for s in range(6, 101)]
    h = read(state_file(tmp_path, train))
    a = advise(h)
    top = a.findings[0]
    assert top.rule == "numeric_failure" and top.severity == "critical"
    assert {"loss_collapse", "grad_norm_nonfinite"} <= {f.rule for f in top.folded}
    assert "not the suspect" in top.message and "lr too high" not in a.verdict
    act = a.next_action
    assert act.id == "switch_precision" and "not the suspect" in act.description
    assert "clipping" in act.description and "check-data" in act.description


def test_b_numeric_failure_of_an_fp16_run_switches_to_bf16():
    cfg = RunConfig().model_dump(mode="json")
    cfg["training"].update(fp16=True, learning_rate=1e-4)
    h = History()
    h.add({"kind": "run_started", "config": cfg, "total_steps": 50})
    for s in range(1, 51):
        h.add(
            {
                "kind": "metrics",
                "step": s,
                "loss": 0.0 if s > 10 else 2.0,
                "grad_norm": float("nan") if s > 10 else 1.0,
                "learning_rate": 1e-4,
            }
        )
    h.add({"kind": "state", "state": "finished", "step": 50})
    act = advise(h).next_action
    assert act.config_patch == {"training.fp16": False, "training.bf16": True}
    assert act.label == "switch precision: fp16 -> bf16"
    assert "then lr x0.5" in act.description  # 1e-4 is over the sweep's lowest: the lr may share the blame


# ---- c. train and eval both rising with grad_norm exploding: divergence, not overfitting ----------------


def diverging(tmp_path) -> Path:
    train = []
    for s in range(10, 1001, 10):
        loss = 2.0 - s / 1000 if s <= 500 else 1.5 + (s - 500) / 250
        g = 1.0 if s <= 500 else 1.0 + (s - 500) / 6
        train.append((s, loss, g, 2e-4))
    evals = [(s, 2.1 - s / 1000 if s <= 500 else 1.6 + (s - 500) / 200) for s in range(100, 1001, 100)]
    return state_file(tmp_path, train, evals)


def test_c_train_and_eval_both_rising_is_divergence_with_the_symptoms_folded(tmp_path):
    h = read(diverging(tmp_path))
    a = advise(h)
    top = a.findings[0]
    assert top.rule == "divergence" and "not overfitting" in top.message
    assert top.severity == "critical"  # grad_norm went over 50: the folded explosion keeps its weight
    assert {"grad_norm_explosion", "grad_norm_precursor"} <= {f.rule for f in top.folded}
    assert "overfitting" not in " ".join(f.message for f in a.findings if f.rule != "divergence")
    assert not {"eval_diverging", "loss_slow", "loss_flat", "grad_norm_high"} & set(standing(h))
    assert a.next_action.id == "lr_half_next"
    assert "dropout" not in a.next_action.label and "alpha" not in a.next_action.label


def test_c_real_explosion_with_a_falling_loss_is_not_divergence():
    h = read(FIX / "21_kiko-lora-gradnorm237.json")
    assert "divergence" not in all_rules(h) and "grad_norm_explosion" in standing(h)


def test_flat_loss_with_a_steady_high_grad_norm_is_lr_too_low_not_high():
    """05: loss flat at 4.69 for 691 steps at lr 5e-5 while grad_norm sits at ~8.5. The headline said
    "lr too low?" and the action halved the lr; the steady grad_norm is folded under the flat loss."""
    h = read(FIX / "05_phi3-sft-entropy-flat.json")
    a = advise(h)
    assert a.findings[0].rule == "loss_flat" and [f.rule for f in a.findings[0].folded] == ["grad_norm_high"]
    assert a.next_action.id == "lr_double_next"


# ---- d. a finished run whose eval ended above its best: the headline carries it ------------------------


def overfit(tmp_path) -> Path:
    train = [(s, max(0.1, 2.0 - s / 150) + 0.001 * math.sin(s), 0.8, 1e-4) for s in range(10, 801, 10)]
    evals = [(100, 1.0), (200, 0.85), (300, 0.80), (400, 0.90), (500, 1.00), (600, 0.99), (700, 0.97), (800, 0.96)]
    return state_file(tmp_path, train, evals)


def test_d_eval_above_its_best_at_the_end_is_the_headline(tmp_path, capsys):
    p = overfit(tmp_path)
    h = read(p)
    data = report(h)
    assert data["worst"] == "danger" and exit_code(data) == 3 and main(str(p)) == 3
    top = data["standing"][0]
    assert top["rule"] == "eval_above_best"
    assert data["verdict"] == "danger: " + top["message"]
    # evidence from the minimum to the peak and the last value
    assert top["evidence"]["steps"] == [300, 500, 800] and top["evidence"]["values"] == [0.80, 1.00, 0.96]
    assert "20% above its best" in top["message"]
    act = data["next_action"]
    assert act["id"] == "keep_best" and "step 300" in act["description"] and "stop early" in act["description"]
    assert act["label"] == "keep the best checkpoint (step 300); dropout 0.05 -> 0.1"
    assert act["config_patch"] == {"lora.lora_dropout": 0.1}
    # train loss sitting at 0.1 is the memorising, not "lr too low": folded under the cause
    assert [k["rule"] for k in top["folded"]] == ["loss_flat"]
    assert [f["rule"] for f in data["standing"]] == ["eval_above_best"]
    capsys.readouterr()


def test_d_real_runs_whose_eval_kept_falling_are_untouched():
    for name in (
        "06_nlcli-wizard-gemma3-lora.json",
        "17_gemma3-1b-initloss14-eval.json",
        "20_dashcam-vlm-lora-eval-every5.json",
        "13_vla-sft-loss15-acc-stuck.json",
    ):
        assert not {"eval_above_best", "divergence"} & all_rules(read(FIX / name)), name


# ---- e. a finished run with four logs, grad_norm under 0.1 at each, loss barely moving ------------------


def test_e_four_logs_under_the_grad_band_say_too_few_points_and_not_learning(tmp_path):
    train = [(25, 2.31, 0.05, 1e-4), (50, 2.30, 0.04, 1e-4), (75, 2.30, 0.06, 1e-4), (100, 2.29, 0.03, 1e-4)]
    h = read(state_file(tmp_path, train))
    a = advise(h)
    assert {"grad_norm_vanishing", "too_few_points"} <= set(standing(h))
    assert a.worst == "warn" and "so far" not in a.verdict
    assert a.verdict.startswith("watch: grad_norm under 0.1 at all 4 logged steps")
    assert "too few points" in standing(h)["too_few_points"].message
    assert a.next_action.id == "log_more"


def test_e_live_run_with_four_logs_is_still_so_far():
    h = History()
    h.add({"kind": "state", "state": "running", "step": 0})
    for s in (1, 2, 3, 4):
        h.add({"kind": "metrics", "step": s, "loss": 2.3, "grad_norm": 0.05})
    a = advise(h)
    assert a.findings == [] and a.verdict == "healthy so far"


def test_e_real_finished_short_runs_never_say_so_far():
    h = read(FIX / "15_takemeter-classifier-underfit.json")  # 3 logs, loss 1.10 -> 1.03, still warming up
    f = standing(h)["too_few_points"]
    assert "warming up" in f.message and advise(h).next_action.id == "log_more"
    v = advise(read(FIX / "27_gemma3-270m-sft-entropy-eval.json")).verdict
    assert "so far" not in v and v.startswith("finished: no finding"), v
    # The GRPO log is read by its own signals now: 65% of its completions hit the maximum length.
    v = advise(read(FIX / "08_meta-hackathon-grpo-entropy.json")).verdict
    assert "so far" not in v and "cut at the maximum length" in v, v


def test_e_short_runs_whose_loss_clearly_moved_get_no_too_few_points():
    for name in (
        "03_math-meme-repair-10epochs.json",
        "24_benchmark-regression-gradnorm-388k.json",
        "27_gemma3-270m-sft-entropy-eval.json",
        "13_vla-sft-loss15-acc-stuck.json",
    ):
        assert "too_few_points" not in all_rules(read(FIX / name)), name


# ---- g. stage 2 is a frozen baseline config; the untrained model's loss is a named extra ---------------


def test_g_stage_two_is_a_frozen_baseline_config():
    cfg = RunConfig().model_dump(mode="json")
    cfg["sop_stage"] = 2
    h = History()
    h.add({"kind": "run_started", "config": cfg, "total_steps": 10})
    a = advise(h, cfg)
    assert a.stage == 2 and a.stage_name == "baseline config (frozen)"
    base = a.stage_needs[0]
    for item in (
        "lr 1e-4",
        "placeholder",
        "lora_alpha = 2r",
        "lora_dropout 0.05",
        "adamw",
        "constant or cosine",
        "max_grad_norm 1.0",
        "one knob at a time",
    ):
        assert item in base, item
    assert any(n.startswith("extra: the untrained model's eval loss") for n in a.stage_needs)
    assert "frozen model" not in " ".join(a.stage_needs)


def test_readme_table_is_the_rule_registry():
    """README "what the advisor knows": rule -> SOP line -> severity -> action, for every registered rule."""
    from cockpit.advisor import RULES
    from cockpit.advisor.table import markdown

    readme = (Path(__file__).parent.parent / "README.md").read_text()
    block = readme.split("<!-- advisor-table: begin -->\n")[1].split("\n<!-- advisor-table: end -->")[0]
    assert block == markdown(), "regenerate it: python -m cockpit.advisor.table"
    assert all(r.sop and r.sop_line and r.severity and r.action for r in RULES), [r.id for r in RULES if not r.sop]
    for rid in ("broken_setup", "numeric_failure", "divergence", "eval_above_best", "too_few_points"):
        assert f"| `{rid}` |" in block


def test_d_a_tiny_eval_loss_wobbling_is_not_overfitting(tmp_path):
    """An eval loss of 2e-4 ending at 3e-4 is +50% and 1e-4 nats: noise, not a run to stop early."""
    train = [(s, max(0.0003, 1.0 - s / 100), 0.5, 1e-4) for s in range(10, 401, 10)]
    h = read(state_file(tmp_path, train, [(100, 0.0004), (200, 0.0002), (300, 0.00025), (400, 0.0003)]))
    assert not {"eval_above_best", "divergence"} & all_rules(h)
