"""LoRA variants (DoRA, PiSSA/OLoRA/gaussian init, LoRA+, all-linear, rank/alpha patterns): validated,
trained a few steps on the demo model, merged and verified; PiSSA/OLoRA merged against the base their
initialisation changed; a live lr change keeps LoRA+'s ratio."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from cockpit.config import ConfigError, load_config
from runhelpers import cockpit, demo_yaml, events, metrics_after, state_is, wait_for


def _yaml(tmp_path: Path, lora_lines: str) -> Path:
    p = tmp_path / "v.yaml"
    p.write_text("name: v\nlora:\n  r: 8\n" + lora_lines)
    return p


@pytest.mark.parametrize(
    "lines, line, words",
    [
        ("  init_lora_weights: pisa\n", 4, "lora.init_lora_weights: Value error, must be true, gaussian, pissa"),
        ("  init_lora_weights: pissa_niter_0\n", 4, "pissa_niter_N (N >= 1)"),
        ("  loraplus_lr_ratio: 0.5\n", 4, "lora.loraplus_lr_ratio: Input should be greater than or equal to 1"),
        ("  rank_pattern: {o_proj: 0}\n", 4, "lora.rank_pattern: Value error, every value must be > 0"),
        ("  alpha_pattern: {o_proj: abc}\n", 4, "lora.alpha_pattern.o_proj"),
        ("  use_dora: true\n  init_lora_weights: olora\n", 2, "peft cannot convert a DoRA adapter"),
        ("  target_modules: []\n", 4, "needs at least one module name"),
    ],
)
def test_bad_variant_values_name_file_line_and_field(tmp_path, lines, line, words):
    p = _yaml(tmp_path, lines)
    with pytest.raises(ConfigError) as e:
        load_config(p)
    assert f"v.yaml:{line}" in str(e.value) and words in str(e.value), str(e.value)


def test_good_variants_load_and_show_in_one_panel_row(tmp_path):
    from cockpit.tui.widgets.run_panel import lora_variants

    c = load_config(
        _yaml(
            tmp_path,
            "  use_dora: true\n  use_rslora: true\n  loraplus_lr_ratio: 16\n"
            "  target_modules: all-linear\n  rank_pattern: {o_proj: 16}\n"
            "  init_lora_weights: gaussian\n",
        )
    )
    row = lora_variants(c.model_dump(mode="json")["lora"])
    assert row == "r8 a16 DoRA rsLoRA gaussian-init LoRA+16 all-linear o_proj:r16"
    assert lora_variants(load_config(_yaml(tmp_path, "")).model_dump(mode="json")["lora"]) == ""
    c = load_config(_yaml(tmp_path, "  init_lora_weights: pissa_niter_4\n"))
    assert c.lora.changes_base_at_init and lora_variants(c.lora.model_dump()) == "r8 a16 PiSSA-niter4"


def test_a_pattern_key_that_matches_no_module_is_refused(tmp_path):
    """peft would ignore it without a word; the trainer refuses to start, naming the model's modules."""
    from transformers import AutoModelForCausalLM

    from cockpit.demo import resolve_model_path
    from cockpit.trainer.build import SetupError, lora_config

    model = AutoModelForCausalLM.from_pretrained(resolve_model_path("demo:tiny-llama"))
    cfg = load_config(_yaml(tmp_path, "  rank_pattern: {v_prj: 16}\n"))
    with pytest.raises(
        SetupError,
        match=r"lora.rank_pattern: 'v_prj' matches no module of the model "
        r"\(linear modules here: \['down_proj'",
    ):
        lora_config(cfg, model)
    cfg = load_config(_yaml(tmp_path, "  alpha_pattern: {'layers.0.self_attn.v_proj': 32}\n"))
    assert lora_config(cfg, model).alpha_pattern == {"layers.0.self_attn.v_proj": 32}


def test_set_lr_from_zero_keeps_the_loraplus_ratio():
    """A set lr while the schedule is at 0 (warm-up start) sets every group's peak, keeping B = 16 x A."""
    import torch

    from cockpit.trainer.commands import apply_lr

    a, b = torch.nn.Parameter(torch.zeros(2)), torch.nn.Parameter(torch.zeros(2))
    opt = torch.optim.AdamW([{"params": [a], "lr": 1e-4}, {"params": [], "lr": 1e-6}, {"params": [b], "lr": 16e-4}])
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.0)  # warm-up: every lr is 0 now
    assert [g["lr"] for g in opt.param_groups] == [0.0, 0.0, 0.0]
    apply_lr(opt, sched, new_lr=2e-4)
    assert [g["lr"] for g in opt.param_groups] == pytest.approx([2e-4, 2e-6, 32e-4])
    assert sched.base_lrs == pytest.approx([2e-4, 2e-6, 32e-4])
    apply_lr(opt, sched, factor=0.5)
    assert opt.param_groups[2]["lr"] / opt.param_groups[0]["lr"] == pytest.approx(16)


# ---- real runs on the demo model (each a few steps, merged and verified) ------------------------------

# Every variant is trained and merged at least once; compatible ones share a run to keep the suite short.
VARIANTS = {
    "dora+patterns": dict(lora__use_dora=True, lora__rank_pattern={"v_proj": 4}, lora__alpha_pattern={"v_proj": 4}),
    "gaussian+rslora": dict(lora__init_lora_weights="gaussian", lora__use_rslora=True),
    "pissa+all-linear": dict(lora__init_lora_weights="pissa", lora__target_modules="all-linear"),
    "pissa_niter": dict(lora__init_lora_weights="pissa_niter_2"),
    "olora": dict(lora__init_lora_weights="olora"),
}


def _merge(*args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cockpit.cli", "merge", *map(str, args)], capture_output=True, text=True, timeout=300
    )


def _reference_logits(rd: Path, adapter: Path, ids):
    """The trained model as training saw it: the original base with the adapter applied by peft, which
    for PiSSA/OLoRA decomposes the base again at load (exact for full SVD and QR; not for pissa_niter)."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    from cockpit.demo import resolve_model_path

    base = AutoModelForCausalLM.from_pretrained(resolve_model_path("demo:tiny-llama"), dtype=torch.float32)
    with torch.no_grad():
        return PeftModel.from_pretrained(base, str(adapter)).eval()(input_ids=ids).logits


def _logits(folder: Path, ids):
    import torch
    from transformers import AutoModelForCausalLM

    with torch.no_grad():
        return AutoModelForCausalLM.from_pretrained(str(folder), dtype=torch.float32).eval()(input_ids=ids).logits


@pytest.mark.slow
@pytest.mark.parametrize("name", list(VARIANTS))
def test_variant_trains_and_merges_verified(tmp_path, name):
    import torch

    cfg = demo_yaml(
        tmp_path,
        training__max_steps=4,
        training__save_steps=2,
        samples__every=0,
        guards__on_precursor="warn",
        **VARIANTS[name],
    )  # the tiny model starts with grad_norm > 10
    r = cockpit("run", str(cfg), "--headless", "--runs-dir", str(tmp_path / "runs"), timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    rd = next((tmp_path / "runs").iterdir())
    started = next(e for e in events(rd) if e["kind"] == "run_started")
    saved = json.loads((rd / "adapter" / "adapter_config.json").read_text())
    init = VARIANTS[name].get("lora__init_lora_weights", True)
    changes_base = str(init).startswith(("pissa", "olora"))
    if changes_base:  # saved as the plain LoRA of the original base, rank 2r (peft's conversion)
        assert (rd / "adapter-init" / "adapter_model.safetensors").is_file()
        assert saved["init_lora_weights"] is True and saved["r"] == 16 and saved["lora_alpha"] == 32
    else:
        assert saved["init_lora_weights"] == init and saved["r"] == 8
    assert saved["use_dora"] == VARIANTS[name].get("lora__use_dora", False)
    if name == "pissa+all-linear":
        assert set(saved["target_modules"]) == {
            "q_proj",
            "k_proj",
            "v_proj",
            "o_proj",
            "gate_proj",
            "up_proj",
            "down_proj",
        }
    if name == "dora+patterns":
        assert saved["rank_pattern"] == {"v_proj": 4} and saved["alpha_pattern"] == {"v_proj": 4}
        assert started["trainable_params"] < 16384 + 4 * 2 * 128  # v_proj at rank 4 (plus DoRA magnitudes)

    m = _merge(rd)
    assert m.returncode == 0, m.stdout + m.stderr
    checks = json.loads((rd / "merged" / "merge.json").read_text())["checks"]
    assert checks["max_abs_logit_diff"] <= checks["tolerance"] and checks["generation_match"]

    if changes_base:
        # A checkpoint is saved in PiSSA/OLoRA form (resume needs it); the merge converts it itself.
        ck = rd / "checkpoints" / "checkpoint-2"
        assert json.loads((ck / "adapter_config.json").read_text())["init_lora_weights"] == init
        m = _merge(rd, "--checkpoint", 2, "--out", tmp_path / "m2")
        assert m.returncode == 0, m.stdout + m.stderr
        assert (
            "plain LoRA rank 16" in json.loads((tmp_path / "m2" / "merge.json").read_text())["checks"]["converted_from"]
        )
        # Given alone, without the run's initial adapter, a PiSSA/OLoRA checkpoint cannot be merged right.
        lone = tmp_path / "lone"
        (lone).mkdir()
        for f in ("adapter_model.safetensors", "adapter_config.json"):
            (lone / f).write_bytes((ck / f).read_bytes())
        m = _merge(lone, "--out", tmp_path / "lone-merged")
        assert m.returncode == 2 and "the initial adapter (adapter-init/ in the run directory)" in m.stderr
        assert not (tmp_path / "lone-merged").exists()
        if init != "pissa_niter_2":  # a full SVD and a QR are deterministic: training's model is rebuilt exactly
            ids = torch.tensor([[1, 40, 41, 42, 300, 301, 7, 9, 100]])
            for adapter, merged in ((ck, tmp_path / "m2"), (rd / "checkpoints" / "checkpoint-4", rd / "merged")):
                diff = float((_reference_logits(rd, adapter, ids) - _logits(merged, ids)).abs().max())
                assert diff < 1e-3, f"{merged} is not the trained model: {diff}"
            # what a merge that ignored the changed base would have produced is far off
            naive = tmp_path / "naive"
            naive.mkdir()
            for f in ("adapter_model.safetensors", "adapter_config.json"):
                (naive / f).write_bytes((ck / f).read_bytes())
            c = json.loads((naive / "adapter_config.json").read_text())
            (naive / "adapter_config.json").write_text(json.dumps({**c, "init_lora_weights": True}))
            far = float((_reference_logits(rd, naive, ids) - _logits(tmp_path / "m2", ids)).abs().max())
            assert far > 0.1, far


@pytest.mark.slow
def test_loraplus_live_lr_change_keeps_the_ratio(tmp_path):
    """LoRA+ (B at 16 x A's lr) in a real run: `cockpit ctl RUN lr x0.5` halves both groups; the
    optimizer state saved right after shows it."""
    import torch

    cfg = demo_yaml(
        tmp_path,
        training__max_steps=2000,
        training__save_steps=0,
        samples__every=0,
        training__lr_scheduler_type="constant",
        training__learning_rate=2e-4,
        lora__loraplus_lr_ratio=16,
        guards__on_precursor="warn",
    )
    r = cockpit("run", str(cfg), "--detach", "--runs-dir", str(tmp_path / "runs"), check=True)
    rd = Path(r.stdout.strip().splitlines()[-1])
    try:
        wait_for(rd, metrics_after(1), what="first metrics")
        r = cockpit("ctl", str(rd), "lr", "x0.5", check=True)
        assert "2e-04 -> 1e-04" in r.stdout or "0.0002 -> 0.0001" in r.stdout, r.stdout
        cockpit("ctl", str(rd), "save", check=True)
        ck = wait_for(rd, lambda e: e["kind"] == "checkpoint", what="checkpoint")
    finally:
        cockpit("ctl", str(rd), "stop")
    wait_for(rd, state_is("stopped", "finished", "crashed"), what="final state")
    groups = torch.load(Path(ck["path"]) / "optimizer.pt", weights_only=False)["param_groups"]
    lrs = [g["lr"] for g in groups if g["params"]]
    assert lrs == pytest.approx([1e-4, 16e-4]), lrs
    assert [g["initial_lr"] for g in groups if g["params"]] == pytest.approx([2e-4, 32e-4])
    after = [e for e in events(rd) if e["kind"] == "metrics"][-1]
    assert after["learning_rate"] == pytest.approx(1e-4)
