"""`cockpit export RUN --gguf`: a finished demo run's merged model written as GGUF with the gguf package,
read back with transformers, logits and greedy generations compared, the numbers in export.json."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from runhelpers import cockpit, demo_yaml


def test_another_architecture_is_refused_naming_what_is_supported(tmp_path):
    model = tmp_path / "qwen"
    model.mkdir()
    (model / "config.json").write_text(json.dumps({"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2"}))
    r = cockpit("export", str(model), "--gguf", "--out", str(tmp_path / "x.gguf"))
    assert r.returncode == 2
    assert "GGUF export supports Llama-architecture models (LlamaForCausalLM" in r.stderr
    assert "is Qwen2ForCausalLM" in r.stderr
    assert not (tmp_path / "x.gguf").exists() and not (tmp_path / "export.json").exists()


def test_export_needs_a_format_and_a_gguf_name(tmp_path):
    r = cockpit("export", str(tmp_path))
    assert r.returncode == 2 and "say which format: --gguf" in r.stderr


@pytest.mark.slow
def test_export_round_trip_through_transformers(tmp_path):
    cfg = demo_yaml(
        tmp_path, training__max_steps=3, training__save_steps=0, samples__every=0, guards__on_precursor="warn"
    )
    r = cockpit("run", str(cfg), "--headless", "--runs-dir", str(tmp_path / "runs"), timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    rd = next((tmp_path / "runs").iterdir())
    assert not (rd / "merged").exists()

    out = tmp_path / "gguf" / "model.gguf"
    r = cockpit("export", str(rd), "--gguf", "--outtype", "f32", "--out", str(out), timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    assert (rd / "merged" / "merge.json").is_file()  # merged first, through cockpit.merge
    info = json.loads((out.parent / "export.json").read_text())
    c = info["checks"]
    assert info["file"] == str(out) and out.stat().st_size == info["bytes"]
    assert c["max_abs_logit_diff"] <= 1e-3 and c["generation_match"] and c["tokenizer_roundtrip"]["ok"]
    assert info["written"]["tokenizer"]["chat_template"] and info["written"]["tokenizer"]["merges"] > 0
    assert sorted(p.name for p in out.parent.iterdir()) == ["export.json", "model.gguf"]  # no temporary left

    # The file stands alone: its metadata holds the chat template and tokenizer that rebuild the run's.
    import gguf

    reader = gguf.GGUFReader(str(out))
    fields = reader.fields
    assert bytes(fields["general.architecture"].parts[-1]).decode() == "llama"
    template = bytes(fields["tokenizer.chat_template"].parts[-1]).decode()
    from transformers import AutoTokenizer

    assert template == AutoTokenizer.from_pretrained(str(rd / "merged")).chat_template
    assert len(reader.tensors) == info["written"]["tensors"]

    # The check can fail: the same file against another model (the untrained base) is refused.
    from cockpit.demo import resolve_model_path
    from cockpit.export.verify import VerificationFailed, verify

    with pytest.raises(VerificationFailed, match="logits differ by"):
        verify(Path(resolve_model_path("demo:tiny-llama")), out, "f32")

    # Q8_0: quantized weights, looser tolerance, the same greedy start; written next to the f32 one.
    q8 = tmp_path / "q8" / "model-q8.gguf"
    r = cockpit("export", str(rd), "--gguf", "--outtype", "q8_0", "--out", str(q8), timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    q = json.loads((q8.parent / "export.json").read_text())
    assert 0 < q["checks"]["max_abs_logit_diff"] <= q["checks"]["tolerance"]
    assert q["bytes"] < info["bytes"] / 2
    types = {t.tensor_type.name for t in gguf.GGUFReader(str(q8)).tensors}
    assert "Q8_0" in types and "F32" in types  # norms stay F32
    assert q["written"]["kept_f16_for_q8_0"]  # the demo's 344-wide down_proj rows are no Q8_0 blocks


@pytest.mark.slow
@pytest.mark.skipif(
    os.environ.get("COCKPIT_TEST_SMOLLM2") != "1", reason="3.5 minutes on 2 cores: set COCKPIT_TEST_SMOLLM2=1 to run it"
)
def test_smollm2_exports_when_present(tmp_path):
    """SmolLM2-135M-Instruct, when its converted folder is in the cache (another part of the project adds it):
    GQA (9 query heads, 3 key/value heads) and a 49k-token vocabulary, in bf16."""
    src = Path.home() / ".cache" / "lora-cockpit" / "smollm2-135m-instruct-v1"
    if not (src / "model.safetensors").is_file():
        pytest.skip("SmolLM2-135M is not in the cache")
    model = tmp_path / "smollm2"
    shutil.copytree(src, model)
    out = tmp_path / "s.gguf"
    r = cockpit("export", str(model), "--gguf", "--outtype", "bf16", "--out", str(out), timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    c = json.loads((tmp_path / "export.json").read_text())["checks"]
    assert c["max_abs_logit_diff"] <= c["tolerance"] and c["tokenizer_roundtrip"]["ok"]
