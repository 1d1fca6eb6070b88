"""Opt-in: LLaMA-Factory's own CLI fine-tuning the demo model under `cockpit run -- llamafactory-cli train
x.yaml`, steered with `cockpit ctl` (pause, lr x0.5, resume, save, sample, stop), the acks and the
events checked. LLaMA-Factory pins its own versions (trl<=0.24, peft<=0.18.1, datasets<=4.0), so it
lives in its own virtual environment; the cockpit's callback reaches it through the startup hook.

    python3 -m venv /tmp/lf-venv
    /tmp/lf-venv/bin/pip install torch==2.9.1 torchvision==0.24.1 'torchaudio==2.9.*'
    /tmp/lf-venv/bin/pip install torch==2.9.1 torchvision==0.24.1 'torchaudio==2.9.*' llamafactory==0.9.5 orjson psutil
    .venv/bin/python bench/bench_llamafactory.py --venv /tmp/lf-venv

LLaMA-Factory imports torchaudio at start-up (its multimodal plugin), and torchaudio has no build for our
torch 2.13: with 2.13 it crashed before its first step. torch 2.9.1 is the newest with torchaudio, torchvision
and a CPU-runnable wheel on the index (a CUDA build, ~7 GB in the venv; it trains on the CPU all the same).

Prints one line per check and a table for bench/README.md; exit 1 when a check fails.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from runhelpers import cockpit, events, wait_for  # noqa: E402


def setup(work: Path) -> Path:
    from cockpit.demo import demo_data_path, ensure_demo_model

    data = work / "data"
    data.mkdir()
    (data / "demo.jsonl").write_text(demo_data_path().read_text())
    (data / "dataset_info.json").write_text(json.dumps({"demo": {"file_name": "demo.jsonl"}}))
    yaml = work / "demo_lora_sft.yaml"
    yaml.write_text(
        "\n".join(
            [
                f"model_name_or_path: {ensure_demo_model()}",
                "stage: sft",
                "do_train: true",
                "finetuning_type: lora",
                "lora_rank: 8",
                "lora_alpha: 16",
                "lora_dropout: 0.05",
                "lora_target: q_proj,v_proj",
                "dataset: demo",
                f"dataset_dir: {data}",
                "template: empty",
                "cutoff_len: 128",
                f"output_dir: {work / 'out'}",
                "per_device_train_batch_size: 8",
                "learning_rate: 3.0e-4",
                "lr_scheduler_type: constant",
                "max_steps: 5000",
                "logging_steps: 1",
                "save_strategy: 'no'",
                "report_to: none",
                "overwrite_output_dir: true",
                "",
            ]
        )
    )
    return yaml


def versions(venv: Path) -> str:
    code = "import importlib.metadata as m; print(' '.join(f'{p} {m.version(p)}' for p in ('llamafactory', 'transformers', 'trl', 'peft', 'torch')))"
    return subprocess.run([str(venv / "bin" / "python"), "-c", code], capture_output=True, text=True).stdout.strip()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--venv", type=Path, required=True, help="the virtual environment LLaMA-Factory is installed in")
    a = ap.parse_args()
    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        yaml = setup(work)
        t0 = time.monotonic()
        r = cockpit(
            "run",
            "--detach",
            "--runs-dir",
            str(work / "runs"),
            "--",
            str(a.venv / "bin" / "llamafactory-cli"),
            "train",
            str(yaml),
        )
        if r.returncode != 0:
            raise SystemExit(r.stderr)
        rd = Path(r.stdout.strip().splitlines()[-1])
        started = wait_for(rd, lambda e: e["kind"] == "run_started" or e.get("state") == "crashed", 600, "run_started")
        if started["kind"] != "run_started":
            raise SystemExit(f"crashed before training: {started.get('reason')}")
        rows.append(
            (
                "run_started",
                f"trainer {started['script']['trainer']} ({started['script']['tool']}), lora {started['script']['lora']}",
            )
        )
        wait_for(rd, lambda e: e["kind"] == "metrics" and e["step"] >= 3, 600, "metrics")
        rows.append(("first metrics after", f"{time.monotonic() - t0:.0f} s"))
        for cmd in (["pause"], ["lr", "x0.5"], ["sample"], ["save"], ["resume"], ["stop"]):
            out = cockpit("ctl", str(rd), *cmd, "--timeout", "300", timeout=400)
            rows.append((f"ctl {' '.join(cmd)}", (out.stdout or out.stderr).strip().splitlines()[-1]))
        end = wait_for(
            rd, lambda e: e["kind"] == "state" and e["state"] in ("finished", "stopped", "crashed"), 300, "end"
        )
        m = [e for e in events(rd) if e["kind"] == "metrics"]
        rows.append(
            ("final state", f"{end['state']} at step {end['step']} ({end.get('reason')}), adapter {end.get('adapter')}")
        )
        rows.append(("metrics keys", ", ".join(k for k in m[-1] if k not in ("v", "t", "kind"))))
        rows.append(("versions", versions(a.venv)))
    print("| check | result |\n|---|---|")
    for k, v in rows:
        print(f"| {k} | {v} |")
    ok = all(not v.startswith(("refused", "error", "no ack")) for k, v in rows if k.startswith("ctl"))
    return 0 if ok and end["state"] == "stopped" else 1


if __name__ == "__main__":
    sys.exit(main())
