"""bench/gpu_check.py's CPU path (--tiny), so that the GPU check cannot rot between GPU runs, and the wheel
bundle that carries the stack to the offline GPU machine."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

CHECKS = [
    "setup",
    "readme_install",
    "lora_bf16",
    "qlora_nf4",
    "estimate",
    "guards",
    "controls",
    "merge_export",
    "overhead",
]


@pytest.mark.slow
def test_the_gpu_check_runs_every_check_on_the_cpu_at_tiny_sizes(tmp_path):
    out = tmp_path / "out"
    r = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "gpu_check.py"),
            "--tiny",
            "--out",
            str(out),
            "--work",
            str(tmp_path / "w"),
        ],
        capture_output=True,
        text=True,
        timeout=1300,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    data = json.loads((out / "gpu_check.json").read_text())
    failed = {k: v for k, v in data["checks"].items() if v.get("ok") is False}
    assert r.returncode == 0 and not failed, json.dumps(failed, indent=1)[:6000] + r.stdout[-3000:]
    assert list(data["checks"]) == CHECKS
    c = data["checks"]
    assert c["lora_bf16"]["steps"] == c["qlora_nf4"]["steps"] == 12
    assert c["lora_bf16"]["median_step_s"] > 0 and c["lora_bf16"]["peak_rss"] > 0
    assert c["guards"]["nan"]["guard_rule"] == "nonfinite_grad"
    assert c["guards"]["explosion"]["guard_rule"] == "grad_norm_explosion"
    assert [a["cmd"] for a in c["controls"]["commands"]] == ["scale_lr", "save", "sample", "pause", "resume", "stop"]
    assert c["merge_export"]["read_back"]["architecture"] == "llama"
    assert {"a2", "b", "c"} <= set(c["overhead"])
    md = (out / "gpu_check.md").read_text()
    assert "| overhead | pass |" in md and "| merge_export | pass |" in md


def test_a_check_that_times_out_is_recorded_and_the_next_still_runs(tmp_path, monkeypatch):
    import gpu_check
    from gpu_proc import PartTimeout

    def slow(ctx, timeout):
        raise PartTimeout("slow ran past 1 s; killed")

    def fine(ctx, timeout):
        return {"ok": True, "allowed": timeout}

    monkeypatch.setattr(
        gpu_check, "PARTS", [("slow", slow, dict(gpu=10, tiny=10)), ("fine", fine, dict(gpu=50, tiny=50))]
    )
    rc = gpu_check.main(["--tiny", "--out", str(tmp_path), "--work", str(tmp_path / "w"), "--budget", "40"])
    data = json.loads((tmp_path / "gpu_check.json").read_text())
    assert rc == 1 and data["passed"] is False
    assert data["checks"]["slow"]["ok"] is False and data["checks"]["slow"]["error"] == "slow ran past 1 s; killed"
    assert data["checks"]["fine"]["ok"] and 20 < data["checks"]["fine"]["allowed"] <= 25  # 40 s less the margin
    assert "| slow | **FAIL** |" in (tmp_path / "gpu_check.md").read_text()


def test_the_bundle_carries_what_the_gpu_image_lacks_and_not_torch():
    from gpu_bundle import closure

    pins = closure()
    assert {"trl", "peft", "transformers", "bitsandbytes", "datasets", "gguf", "textual", "pydantic", "orjson"} <= set(
        pins
    )
    assert not {"torch", "numpy", "pyarrow", "triton"} & set(pins)
    assert not any(k.startswith("nvidia-") for k in pins)


def test_the_slimmed_bitsandbytes_wheel_keeps_the_cpu_and_cuda13_libraries(tmp_path):
    from gpu_bundle import slim_bitsandbytes

    names = [
        "libbitsandbytes_cpu.so",
        "libbitsandbytes_cuda128.so",
        "libbitsandbytes_cuda130.so",
        "libbitsandbytes_rocm72.so",
    ]
    wheel = tmp_path / "bitsandbytes-0.50.2-py3-none-manylinux_2_24_x86_64.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        for n in names:
            z.writestr(f"bitsandbytes/{n}", b"x")
        z.writestr("bitsandbytes/__init__.py", b"")
        record = "".join(f"bitsandbytes/{n},sha256=a,1\n" for n in [*names, "__init__.py"])
        z.writestr("bitsandbytes-0.50.2.dist-info/RECORD", record)
    slim_bitsandbytes(wheel)
    with zipfile.ZipFile(wheel) as z:
        kept = sorted(z.namelist())
        record = z.read("bitsandbytes-0.50.2.dist-info/RECORD").decode()
    assert kept == [
        "bitsandbytes-0.50.2.dist-info/RECORD",
        "bitsandbytes/__init__.py",
        "bitsandbytes/libbitsandbytes_cpu.so",
        "bitsandbytes/libbitsandbytes_cuda130.so",
    ]
    assert "cuda128" not in record and "rocm" not in record and "cuda130" in record
