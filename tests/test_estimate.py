"""The memory estimate: its pieces against the real model/peft/autograd on the demo model, the
`cockpit estimate` command, and `cockpit run`'s refusal (and --force) on a device that is too small."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from cockpit.config import load_config
from cockpit.demo import demo_config_path
from cockpit.estimate.device import Device, DeviceError, parse_size
from cockpit.estimate.fit import shape_for, smallest_change
from cockpit.estimate.parts import FITS, TOO_BIG, estimate, layer_elements, targeted, trainable_params
from cockpit.estimate.shapes import ShapeError, from_config_json, from_meta
from tests.runhelpers import COCKPIT, ROOT, cockpit, demo_yaml

MIB = 2**20


def demo_cfg(**sets: str):
    return load_config(demo_config_path(), list(sets.items()))


def cpu(capacity: int, overhead: int = 500 * MIB) -> Device:
    return Device("cpu", "cpu", capacity, "test", overhead=overhead, overhead_source="test")


@pytest.fixture(scope="module")
def demo_dir() -> Path:
    from cockpit.demo import ensure_demo_model

    return ensure_demo_model()


def test_config_json_shapes_equal_the_meta_build(demo_dir):
    fast, meta = from_config_json(demo_dir), from_meta(demo_dir)
    assert fast.linears == meta.linears
    assert (fast.total_params, fast.embed_params, fast.lm_head_params, fast.other_params) == (
        meta.total_params,
        meta.embed_params,
        meta.lm_head_params,
        meta.other_params,
    )
    from transformers import AutoModelForCausalLM

    real = AutoModelForCausalLM.from_pretrained(str(demo_dir))
    assert meta.total_params == sum(p.numel() for p in real.parameters())


def test_config_json_shapes_equal_the_meta_build_on_a_gqa_model():
    """SmolLM2-135M: grouped KV heads and an explicit head_dim, where the fast reader could go wrong."""
    from cockpit.demo.model import cache_root

    smol = cache_root() / "smollm2-135m-instruct-v1"
    if not (smol / "config.json").exists():
        pytest.skip("SmolLM2-135M is not converted on this machine")
    fast, meta = from_config_json(smol), from_meta(smol)
    assert fast.linears == meta.linears and fast.total_params == meta.total_params == 134_515_008


@pytest.mark.parametrize(
    "sets",
    [
        {},
        {"lora.r": "4", "lora.target_modules": "all-linear"},
        {"lora.r": "16", "lora.target_modules": "[k_proj, o_proj, down_proj]"},
        {"lora.target_modules": r".*\.1\.self_attn\.(q|v)_proj"},
    ],
)
def test_adapter_count_is_peft_trainable_count(demo_dir, sets):
    from peft import get_peft_model
    from transformers import AutoModelForCausalLM

    from cockpit.trainer.build import lora_config

    cfg = demo_cfg(**sets)
    model = get_peft_model(AutoModelForCausalLM.from_pretrained(str(demo_dir)), lora_config(cfg))
    want = sum(p.numel() for p in model.parameters() if p.requires_grad)
    shape = from_config_json(demo_dir)
    assert trainable_params(cfg, shape) == want
    assert len(targeted(cfg, shape)) == len(
        {n.rsplit(".lora_A", 1)[0] for n, _ in model.named_parameters() if ".lora_A." in n}
    )


@pytest.mark.parametrize("gc", [False, True])
def test_activation_bytes_are_what_autograd_keeps(demo_dir, gc):
    """Count the tensors autograd saves in a real forward (parameters excluded) and compare with the
    estimate's activations part: within 15%."""
    import torch
    from peft import get_peft_model
    from transformers import AutoModelForCausalLM

    from cockpit.trainer.build import lora_config

    batch, seq = 4, 64
    cfg = demo_cfg(
        **{
            "training.per_device_train_batch_size": str(batch),
            "training.max_length": str(seq),
            "model.gradient_checkpointing": str(gc).lower(),
        }
    )
    model = AutoModelForCausalLM.from_pretrained(str(demo_dir), dtype=torch.float32)
    if gc:
        model.gradient_checkpointing_enable()
        model.enable_input_require_grads()
    model = get_peft_model(model, lora_config(cfg))
    model.train()
    params = {p.untyped_storage().data_ptr() for p in model.parameters()}
    saved: dict[int, int] = {}

    def pack(t):
        key = t.untyped_storage().data_ptr()
        if key not in params:
            saved[key] = max(saved.get(key, 0), t.untyped_storage().nbytes())
        return t

    ids = torch.randint(0, model.config.vocab_size, (batch, seq))
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        model.base_model.model.model(input_ids=ids)
    est = estimate(cfg, from_config_json(demo_dir), cpu(64 * 2**30))
    got = sum(saved.values())
    # With checkpointing the recomputed layer is counted in the estimate's activations, not in a forward
    want = est.part("activations") - (est.tokens * layer_elements(cfg, est.shape, seq) * 4 if gc else 0)
    assert abs(want - got) / got < 0.15, (want, got)


def test_weights_by_dtype_and_4bit(demo_dir):
    shape = from_config_json(demo_dir)
    dev = cpu(64 * 2**30)
    fp32 = estimate(demo_cfg(), shape, dev).part("weights")
    assert fp32 == shape.total_params * 4
    bf16 = estimate(demo_cfg(**{"model.dtype": "bfloat16"}), shape, dev).part("weights")
    assert bf16 == shape.total_params * 2
    q4 = estimate(demo_cfg(**{"model.quantization": "4bit"}), shape, dev).part("weights")
    linear = sum(m.in_features * m.out_features for m in shape.linears)
    # nf4 halves a byte per Linear weight, plus 1 byte + 1/64 per block of 64 (double quantization)
    assert q4 == int(linear / 2 + linear / 64 * (1 + 4 / 256) + (shape.total_params - linear) * 4)


def test_smallest_change_keeps_the_effective_batch(demo_dir):
    shape = from_config_json(demo_dir)
    cfg = demo_cfg(**{"training.per_device_train_batch_size": "64"})
    big = estimate(cfg, shape, cpu(10 * 2**30))
    small = estimate(demo_cfg(**{"training.per_device_train_batch_size": "8"}), shape, cpu(10 * 2**30))
    # a device where batch 64 does not fit but batch 8 does (with 20% free)
    dev = cpu(int(small.total / 0.79))
    assert estimate(cfg, shape, dev).verdict != FITS
    change = smallest_change(cfg, shape, dev)
    assert change is not None and change.estimate.verdict == FITS
    b = change.sets["training.per_device_train_batch_size"]
    assert b * change.sets["training.gradient_accumulation_steps"] == 64
    assert 8 <= b < 64
    assert big.total > change.estimate.total
    # nothing fits a device smaller than the framework itself
    assert smallest_change(cfg, shape, cpu(400 * MIB)) is None


def test_estimate_command_json(tmp_path):
    r = cockpit("estimate", str(demo_config_path()), "--json", "--fast")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert set(out["parts"]) == {
        "weights",
        "adapter",
        "gradients",
        "optimizer",
        "activations",
        "backward",
        "logits",
        "framework",
    }
    assert out["total"] == sum(out["parts"].values())
    assert out["verdict"] == "fits" and out["smallest_change"] is None
    assert out["params"]["trainable"] == 16384  # r=8 on q,v of 4 layers: 8 x (128 + 128) x 2 x 4
    assert out["device"]["kind"] in ("cpu", "cuda")


def test_estimate_command_exact_and_too_small(tmp_path):
    r = subprocess.run(
        [*COCKPIT, "estimate", str(demo_config_path()), "--json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        env={**_env(), "COCKPIT_DEVICE_MEMORY": "300MiB"},
    )
    assert r.returncode == 2, r.stderr
    out = json.loads(r.stdout)
    assert out["shapes_from"] == "meta device" and out["verdict"] == TOO_BIG
    assert out["device"]["capacity"] == 300 * MIB


def _env() -> dict:
    import os

    return dict(os.environ)


def test_run_refuses_a_config_that_cannot_fit_and_force_starts_it(tmp_path):
    cfg = demo_yaml(
        tmp_path,
        training__max_steps=1,
        training__max_length=64,
        training__per_device_train_batch_size=4,
        samples__every=0,
        training__save_steps=0,
    )
    env = {**_env(), "COCKPIT_DEVICE_MEMORY": "600MiB"}
    args = [*COCKPIT, "run", str(cfg), "--runs-dir", str(tmp_path / "runs"), "--headless"]
    r = subprocess.run(args, capture_output=True, text=True, cwd=ROOT, timeout=120, env=env)
    assert r.returncode == 2, r.stderr
    assert "refusing to start" in r.stderr and "framework overhead" in r.stderr
    assert "of 600.0 MiB" in r.stderr
    assert not (tmp_path / "runs").exists()  # nothing started, nothing written
    r = subprocess.run([*args, "--force"], capture_output=True, text=True, cwd=ROOT, timeout=300, env=env)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "refusing" not in r.stderr and "memory estimate" in r.stderr
    assert len(list((tmp_path / "runs").iterdir())) == 1


def test_run_check_imports_no_torch_and_passes_a_fitting_run():
    code = (
        "import sys; from cockpit.config import load_config; from cockpit.demo import demo_config_path;"
        "from cockpit.estimate.check import pre_run; v = pre_run(load_config(demo_config_path()));"
        "assert not v.refuse and not v.message, v;"
        "heavy = [m for m in ('torch', 'transformers', 'peft', 'trl') if m in sys.modules];"
        "assert not heavy, heavy"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert r.returncode == 0, r.stderr


def test_bad_inputs_name_what_is_wrong(tmp_path):
    with pytest.raises(DeviceError, match="COCKPIT_DEVICE_MEMORY='lots'"):
        parse_size("lots")
    assert parse_size("1.5GiB") == int(1.5 * 2**30) and parse_size("512M") == 512 * MIB
    (tmp_path / "config.json").write_text('{"model_type": "llama",\n "hidden_size": }')
    with pytest.raises(ShapeError, match=r"config.json:2: not valid JSON"):
        from_config_json(tmp_path)
    (tmp_path / "config.json").write_text('{"model_type": "gpt2"}')
    with pytest.raises(ShapeError, match="model_type 'gpt2'"):
        from_config_json(tmp_path)
    cfg = demo_cfg(**{"model.name_or_path": str(tmp_path)})
    from cockpit.estimate.check import Verdict, pre_run

    v = pre_run(cfg)
    assert not v.refuse and "memory check skipped" in v.message and "gpt2" in v.message
    hub = demo_cfg(**{"model.name_or_path": "nobody/not-cached-here"})
    with pytest.raises(ShapeError, match="nobody/not-cached-here is not on this machine"):
        shape_for(hub, exact=False, build_demo=False)
    assert pre_run(hub) == Verdict(False, "")  # nothing local to read: the trainer will say what is wrong
