"""The SOP advisor: each rule firing and not firing on synthetic series; real logs; stage; guards."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cockpit.advisor import advise, evaluate, patch_to_set_args
from cockpit.advisor.guards import check_step
from cockpit.config import GuardConfig, RunConfig, Thresholds
from cockpit.history import History

FIX = Path(__file__).parent / "fixtures" / "real-logs"


def hist(n=100, loss=None, gn=None, ent=None, lr=None, cfg=None, total=None, extra=None) -> History:
    h = History()
    c = cfg if cfg is not None else RunConfig().model_dump(mode="json")
    h.add({"kind": "run_started", "config": c, "total_steps": total or n})
    h.add({"kind": "state", "state": "running", "step": 0})
    for i in range(1, n + 1):
        ev = {"kind": "metrics", "step": i}
        for key, f in (("loss", loss), ("grad_norm", gn), ("entropy", ent), ("learning_rate", lr)):
            if f is not None:
                ev[key] = f(i)
        if extra:
            ev.update(extra(i))
        h.add(ev)
    return h


def rules(h, cfg=None) -> set[str]:
    return {f.rule for f in evaluate(h, cfg)[1]}


healthy_loss = lambda i: 2.0 * math.exp(-i / 150) + 0.8  # noqa: E731
healthy_gn = lambda i: 1.0 + 0.1 * math.sin(i)  # noqa: E731
healthy_ent = lambda i: 2.0 - i / 400  # noqa: E731


def test_healthy_run_raises_nothing():
    h = hist(300, healthy_loss, healthy_gn, healthy_ent)
    assert rules(h) == set()
    a = advise(h)
    assert a.worst == "ok" and a.verdict.startswith("healthy")


@pytest.mark.parametrize(
    "rule,kw",
    [
        ("loss_nonfinite", dict(loss=lambda i: float("nan") if i == 50 else healthy_loss(i))),
        ("loss_jump", dict(loss=lambda i: 9.0 if i == 60 else healthy_loss(i))),
        ("loss_collapse", dict(loss=lambda i: max(0.001, 3 - i / 20))),
        ("loss_flat", dict(loss=lambda i: 4.0 + 0.001 * math.sin(i))),
        ("grad_norm_nonfinite", dict(gn=lambda i: float("inf") if i == 70 else 1.0)),
        ("grad_norm_explosion", dict(gn=lambda i: 80.0 if i == 30 else 1.0)),
        ("grad_norm_precursor", dict(gn=lambda i: 15.0 if 40 <= i < 45 else 1.0)),
        ("grad_norm_high", dict(gn=lambda i: 7.0)),
        ("grad_norm_sawtooth", dict(gn=lambda i: 0.5 if i % 2 else 3.0)),
        ("grad_norm_vanishing", dict(gn=lambda i: 0.01)),
        ("entropy_collapse", dict(ent=lambda i: 3.0 if i < 5 else 0.3)),
    ],
)
def test_rule_fires(rule, kw):
    base = dict(loss=healthy_loss, gn=healthy_gn, ent=healthy_ent)
    base.update(kw)
    h = hist(150, **base)
    assert rule in rules(h)


def test_entropy_flat_and_fake_learning_and_slow_loss():
    flat = hist(120, loss=lambda i: 3.0, gn=healthy_gn, ent=lambda i: 1.5)
    assert {"entropy_flat", "loss_flat"} <= rules(flat)
    fake = hist(120, loss=lambda i: 0.02 if i > 10 else 2, gn=healthy_gn, ent=lambda i: 0.05 if i > 10 else 2)
    assert "fake_learning" in rules(fake)
    slow = hist(200, loss=lambda i: 3.0 - i * 0.001, gn=healthy_gn, ent=healthy_ent)
    found = evaluate(slow)[1]
    assert "loss_slow" in {f.rule for f in found}
    assert next(f for f in found if f.rule == "loss_slow").action.config_patch == {"lora.lora_alpha": 32.0}


def test_grad_norm_rising_with_high_alpha_suggests_lower_alpha():
    cfg = RunConfig().model_dump(mode="json")
    cfg["lora"]["lora_alpha"] = 64
    h = hist(120, healthy_loss, lambda i: 1 + i / 15, healthy_ent, cfg=cfg)
    f = next(f for f in evaluate(h, cfg)[1] if f.rule == "grad_norm_rising_alpha")
    assert f.action.config_patch == {"lora.lora_alpha": 32.0}
    cfg["lora"]["lora_alpha"] = 16
    assert "grad_norm_rising_alpha" not in rules(
        hist(120, healthy_loss, lambda i: 1 + i / 15, healthy_ent, cfg=cfg), cfg
    )


def test_memory_eval_clipping_schedule_rules():
    mem = hist(20, healthy_loss, healthy_gn, extra=lambda i: {"mem_used": 95, "mem_total": 100, "mem_kind": "vram"})
    assert "memory_high" in rules(mem)
    ram = hist(20, healthy_loss, healthy_gn, extra=lambda i: {"mem_used": 95, "mem_total": 100, "mem_kind": "ram"})
    assert "memory_high" not in rules(ram)

    h = hist(60, healthy_loss, healthy_gn)
    for s, v in ((20, 1.0), (40, 1.3), (60, 1.8)):
        h.add({"kind": "eval", "step": s, "eval_loss": v})
    # 80% over its best: the run has overfit, and the rising-eval symptom is folded under that cause
    over = next(f for f in evaluate(h)[1] if f.rule == "eval_above_best")
    assert [f.rule for f in over.folded] == ["eval_diverging"]
    h = hist(60, healthy_loss, healthy_gn)
    for s, v in ((20, 1.0), (40, 1.0), (60, 1.05)):
        h.add({"kind": "eval", "step": s, "eval_loss": v})
    assert rules(h) == {"eval_diverging"}  # rising, but not yet well above its best

    cfg = RunConfig().model_dump(mode="json")
    cfg["training"]["max_grad_norm"] = 0
    assert "clipping_off" in rules(hist(10, healthy_loss, healthy_gn, cfg=cfg), cfg)
    assert "clipping_off" not in rules(hist(10, healthy_loss, healthy_gn))

    cfg = RunConfig().model_dump(mode="json")
    cfg["training"].update(lr_scheduler_type="constant", learning_rate=1e-4)
    good = hist(50, healthy_loss, healthy_gn, lr=lambda i: 1e-4, cfg=cfg)
    assert "lr_schedule" not in rules(good, cfg)
    bad = hist(50, healthy_loss, healthy_gn, lr=lambda i: 3e-4, cfg=cfg)
    assert "lr_schedule" in rules(bad, cfg)


def test_sop_order_on_gradient_trouble_lr_first_then_alpha_never_r():
    h = hist(100, healthy_loss, lambda i: 15.0 if i > 90 else 1.0, healthy_ent)
    a = advise(h)
    assert a.next_action.id == "lr_half" and a.next_action.command == {"cmd": "scale_lr", "value": 0.5}
    h.add({"kind": "ack", "id": "x", "cmd": "scale_lr", "ok": True, "step": 95})
    a = advise(h)
    assert a.next_action.id == "alpha_down" and "lora.r" not in (a.next_action.config_patch or {})
    cfg = RunConfig().model_dump(mode="json")
    cfg["training"]["max_grad_norm"] = 0
    h2 = hist(100, healthy_loss, lambda i: 15.0 if i > 90 else 1.0, healthy_ent, cfg=cfg)
    assert advise(h2, cfg).next_action.id == "clipping_on"


def test_structure_backtrack_only_when_sop_conditions_hold():
    flat = dict(loss=lambda i: 3.0, gn=healthy_gn, ent=lambda i: 1.5 + i / 1000)
    assert advise(hist(120, **flat)).next_action.id == "lr_double"
    cfg = RunConfig().model_dump(mode="json")
    cfg["training"]["learning_rate"] = 5e-5
    cfg["lora"]["lora_dropout"] = 0.1
    a = advise(hist(120, cfg=cfg, **flat), cfg)
    assert a.next_action.id == "structure_targets"
    assert a.next_action.config_patch == {"lora.target_modules": ["q_proj", "v_proj", "k_proj"]}


def test_stage_tracking():
    assert advise(History()).stage == 0
    short = hist(100, healthy_loss, healthy_gn)
    assert advise(short).stage == 3  # a <=1000-step run: the lr sweep
    cfg = RunConfig().model_dump(mode="json")
    cfg["lora"]["lora_dropout"] = 0.1
    assert advise(hist(50, healthy_loss, healthy_gn, cfg=cfg, total=5000), cfg).stage == 4
    cfg["sop_stage"] = 7
    assert advise(hist(50, healthy_loss, healthy_gn, cfg=cfg), cfg).stage == 7


def test_next_config_written_and_set_line(tmp_path):
    from cockpit.config.patches import write_next_config

    (tmp_path / "config.yaml").write_text(RunConfig().to_yaml())
    p = write_next_config(tmp_path, {"lora.lora_dropout": 0.1, "lora.target_modules": ["q_proj", "k_proj"]})
    from cockpit.config import load_config

    c = load_config(p, check_paths=False)
    assert c.lora.lora_dropout == 0.1 and c.lora.target_modules == ["q_proj", "k_proj"]
    assert patch_to_set_args({"lora.lora_dropout": 0.1}) == "--set lora.lora_dropout=0.1"


def test_guards():
    th, g = Thresholds(), GuardConfig()
    assert check_step(1, 1.0, 1.0, th, g) is None
    d = check_step(5, float("nan"), 1.0, th, g)
    assert d.rule == "loss_nonfinite" and d.action == "stop" and d.severity == "critical"
    d = check_step(5, 1.0, 60.0, th, GuardConfig(on_explosion="pause"))
    assert d.rule == "grad_norm_explosion" and d.action == "pause"
    assert check_step(5, 1.0, float("inf"), th, g).rule == "grad_norm_nonfinite"


# ---- real logs ------------------------------------------------------------------------------------


def real(name: str):
    from cockpit.logs import load_history

    return load_history(FIX / name)[0]


@pytest.mark.parametrize(
    "name,rule",
    [
        ("21_kiko-lora-gradnorm237.json", "grad_norm_explosion"),
        ("24_benchmark-regression-gradnorm-388k.json", "grad_norm_explosion"),
        ("04_vendor-comp-classifier.json", "grad_norm_explosion"),
        ("14_diabetes-extraction-fast-zero.json", "loss_collapse"),
        ("03_math-meme-repair-10epochs.json", "loss_collapse"),
        ("09_qwen-lora-20epochs-memorize.json", "loss_collapse"),
        ("05_phi3-sft-entropy-flat.json", "loss_flat"),
        ("13_vla-sft-loss15-acc-stuck.json", "grad_norm_precursor"),
        ("18_spider-arm-15ep-sawtooth.json", "grad_norm_sawtooth"),
    ],
)
def test_real_logs_flag_trouble(name, rule):
    assert rule in rules(real(name))


@pytest.mark.parametrize(
    "name",
    [
        "02_engram-unsloth-60steps.json",
        "06_nlcli-wizard-gemma3-lora.json",
        "20_dashcam-vlm-lora-eval-every5.json",
        "27_gemma3-270m-sft-entropy-eval.json",
        "17_gemma3-1b-initloss14-eval.json",
        "08_meta-hackathon-grpo-entropy.json",
    ],
)
def test_real_healthy_logs_raise_no_danger(name):
    a = advise(real(name))
    assert a.worst in ("ok", "warn"), [(f.rule, f.severity) for f in a.findings]


def test_every_real_log_diagnoses_with_the_right_exit_code():
    for f in sorted(FIX.glob("*.json")):
        r = subprocess.run(
            [sys.executable, "-m", "cockpit.cli", "diagnose", str(f), "--json"], capture_output=True, text=True
        )
        assert r.returncode in (0, 3), (f.name, r.stderr)
        data = json.loads(r.stdout)
        worst = data["worst"]
        assert (r.returncode == 3) == (worst in ("danger", "critical"))
        for item in data["timeline"]:
            assert {"rule", "severity", "first_step", "last_step"} <= item.keys()


def test_diagnose_refuses_bad_logs(tmp_path):
    for name, content in (
        ("empty.json", b""),
        ("bin.json", b"\x00\xff\xfe"),
        ("shape.json", b"[1, 2]"),
        ("trunc.json", b'{"log_history": [{"step": 1, "lo'),
    ):
        p = tmp_path / name
        p.write_bytes(content)
        r = subprocess.run([sys.executable, "-m", "cockpit.cli", "diagnose", str(p)], capture_output=True, text=True)
        assert r.returncode == 2 and "error:" in r.stderr and name in r.stderr, (name, r.stderr)


def test_advisor_layers_are_pure():
    code = (
        "import sys, cockpit.advisor, cockpit.advisor.diagnose; "
        "bad=[m for m in ('torch','textual','transformers','trl','peft') if m in sys.modules]; print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip()
    assert out == "[]"


def test_flat_tail_of_a_decayed_schedule_is_not_lr_too_low():
    """Loss and entropy flatten when a cosine schedule has annealed the lr: that is the schedule's doing,
    not 'lr too low', unless the loss never moved at all."""
    n = 400
    cos_lr = lambda i: 2e-4 * 0.5 * (1 + math.cos(math.pi * i / n))  # noqa: E731
    learned = lambda i: 3.0 * math.exp(-i / 40) + 0.8  # noqa: E731  (flat over the last half)
    ent = lambda i: 1.5 + 0.5 * math.exp(-i / 40)  # noqa: E731
    h = hist(n, learned, healthy_gn, ent, cos_lr)
    assert not {"loss_flat", "entropy_flat", "loss_slow"} & rules(h)
    never = lambda i: 4.0 + 0.001 * math.sin(i)  # noqa: E731
    assert {"loss_flat", "entropy_flat"} <= rules(hist(n, never, healthy_gn, lambda i: 1.7, cos_lr))
    # the same learned-then-flat loss at a constant lr is flat: lr too low is then the SOP's reading
    assert "loss_flat" in rules(hist(n, learned, healthy_gn, ent, lambda i: 2e-4))


@pytest.mark.parametrize("seed", range(6))
def test_loss_jumps_are_the_points_over_their_windows_median(seed):
    """The rule takes medians only where a window's least allows a jump: what it finds is what comparing
    every point with its window's median finds, NaNs, negative losses and spikes included."""
    from cockpit.advisor.jump_window import jump_window
    from cockpit.advisor.loss_rules import _loss_jumps

    rng = np.random.default_rng(seed)
    v = rng.normal(2.0 if seed % 2 else 0.2, 0.4 if seed < 3 else 1.5, 5000)
    v[rng.integers(0, 5000, 60)] *= rng.uniform(2, 8, 60)
    v[rng.integers(0, 5000, 20)] = np.nan
    n, start = jump_window(False)
    want = []
    for i in range(n, len(v)):
        ref = float(np.median(v[i - n : i]))
        if ref > 0 and v[i] > 1.5 * ref and v[i] - ref > 0.5:
            want.append((i, ref))
    got = [(i, r) for i, r in _loss_jumps(v, 1.5) if i >= n]
    assert got == want and len(want) > 0
