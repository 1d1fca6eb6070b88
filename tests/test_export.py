"""`cockpit export RUN --gguf`: a finished demo run's merged model written as GGUF with the gguf package,
read back with transformers, logits and greedy generations compared, the numbers in export.json."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
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
    assert not (tmp_path / "x.gguf").exists() and not (tmp_path / "x.export.json").exists()


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
    info = json.loads((out.parent / "model.export.json").read_text())
    c = info["checks"]
    assert info["file"] == str(out) and out.stat().st_size == info["bytes"]
    assert c["max_abs_logit_diff"] <= 1e-3 and c["generation_match"] and c["tokenizer_roundtrip"]["ok"]
    assert info["written"]["tokenizer"]["chat_template"] and info["written"]["tokenizer"]["merges"] > 0
    assert sorted(p.name for p in out.parent.iterdir()) == ["model.export.json", "model.gguf"]  # no temporary left

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
    q = json.loads((q8.parent / "model-q8.export.json").read_text())
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
    c = json.loads((tmp_path / "s.export.json").read_text())["checks"]
    assert c["max_abs_logit_diff"] <= c["tolerance"] and c["tokenizer_roundtrip"]["ok"]


def test_export_into_a_place_it_cannot_write_is_refused(tmp_path):
    """A read-only --out folder was a traceback (exit 1) after the model was read; now a refusal naming
    the folder, before anything is written. (/sys is read-only to root too.)"""
    from cockpit.demo import resolve_model_path

    model = resolve_model_path("demo:tiny-llama")
    target = Path("/sys/cockpit-test.gguf") if os.geteuid() == 0 else None
    if target is None:
        ro = tmp_path / "ro"
        ro.mkdir(mode=0o555)
        target = ro / "x.gguf"
    r = cockpit("export", str(model), "--gguf", "--outtype", "f32", "--out", str(target))
    assert r.returncode == 2, r.stdout + r.stderr
    assert "Traceback" not in r.stderr and f"--out {target}: cannot write in {target.parent}" in r.stderr


def _wait_for(cond, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert cond()


@pytest.mark.slow
def test_a_second_export_keeps_the_first_and_replaces_only_with_force(tmp_path):
    """A second export into the same folder erased the first one's record (one export.json per folder),
    an existing --out was replaced without asking, and a killed export's full-size temporary stayed."""
    from cockpit.demo import resolve_model_path

    model = tmp_path / "model"
    shutil.copytree(resolve_model_path("demo:tiny-llama"), model)
    out = tmp_path / "out"
    f32, q8 = out / "m-f32.gguf", out / "m-q8.gguf"
    assert cockpit("export", str(model), "--gguf", "--outtype", "f32", "--out", str(f32), timeout=600).returncode == 0
    assert cockpit("export", str(model), "--gguf", "--outtype", "q8_0", "--out", str(q8), timeout=600).returncode == 0
    records = {p.name: json.loads(p.read_text()) for p in out.glob("*.export.json")}
    assert {n: r["outtype"] for n, r in records.items()} == {"m-f32.export.json": "f32", "m-q8.export.json": "q8_0"}
    assert records["m-f32.export.json"]["file"] == str(f32)

    before = f32.read_bytes()
    r = cockpit("export", str(model), "--gguf", "--outtype", "q8_0", "--out", str(f32))
    assert r.returncode == 2 and f"{f32} already exists (--force replaces it" in r.stderr
    assert f32.read_bytes() == before and json.loads((out / "m-f32.export.json").read_text())["outtype"] == "f32"

    # killed while verifying: its temporary stays until the next export to that file removes it
    p = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cockpit.cli",
            "export",
            str(model),
            "--gguf",
            "--outtype",
            "f32",
            "--out",
            str(f32),
            "--force",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    temp = out / f".m-f32.gguf.tmp-{p.pid}.gguf"
    _wait_for(lambda: temp.exists() and temp.stat().st_size > 100_000)
    p.send_signal(signal.SIGKILL)
    p.wait()
    assert temp.exists() and f32.read_bytes() == before
    r = cockpit("export", str(model), "--gguf", "--outtype", "bf16", "--out", str(f32), "--force", timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    assert not temp.exists() and not [q for q in out.iterdir() if q.name.startswith(".")]
    assert json.loads((out / "m-f32.export.json").read_text())["outtype"] == "bf16"
    assert json.loads((out / "m-q8.export.json").read_text())["outtype"] == "q8_0"
