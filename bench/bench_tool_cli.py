"""Opt-in: another tool's own CLI fine-tuning the demo model under `cockpit run -- COMMAND`, steered with
`cockpit ctl` (pause, lr x0.5, sample, save, resume, stop), the acks and the events checked. Each tool pins
its own versions, so it lives in its own virtual environment; the cockpit's callback reaches its Trainer
through the startup hook.

LLaMA-Factory (`llamafactory-cli train x.yaml`; it pins trl<=0.24, peft<=0.18.1, datasets<=4.0):

    python3 -m venv /tmp/lf-venv
    /tmp/lf-venv/bin/pip install torch==2.9.1 torchvision==0.24.1 'torchaudio==2.9.*'
    /tmp/lf-venv/bin/pip install torch==2.9.1 torchvision==0.24.1 'torchaudio==2.9.*' llamafactory==0.9.5 orjson psutil
    .venv/bin/python bench/bench_tool_cli.py llamafactory --venv /tmp/lf-venv

LLaMA-Factory imports torchaudio at start-up (its multimodal plugin), and torchaudio has no build for our
torch 2.13: with 2.13 it crashed before its first step. torch 2.9.1 is the newest with torchaudio, torchvision
and a CPU-runnable wheel on the index (a CUDA build, ~7 GB in the venv; it trains on the CPU all the same).

axolotl (`axolotl train x.yml`; 0.19.0 pins torch 2.11-2.13, transformers 5.16.1, trl 1.9.0, peft 0.20.0):

    python3 -m venv /tmp/ax-venv && /tmp/ax-venv/bin/pip install torch==2.13.0
    /tmp/ax-venv/bin/pip install torch==2.13.0 axolotl==0.19.0 orjson psutil
    .venv/bin/python bench/bench_tool_cli.py axolotl --venv /tmp/ax-venv

Prints one line per check and a table for bench/README.md; exit 1 when a check fails.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from runhelpers import cockpit, events, wait_for  # noqa: E402

COMMON = {
    "lora_alpha": 16,
    "lora_dropout": 0.05,
    "learning_rate": 3.0e-4,
    "max_steps": 5000,
    "logging_steps": 1,
    "save_strategy": "'no'",
}
"""What both tools' YAML say alike (the names they share)."""


def llamafactory_yaml(work: Path, model: Path, data: Path) -> tuple[Path, list[str]]:
    folder = work / "data"
    folder.mkdir()
    (folder / "demo.jsonl").write_text(data.read_text())
    (folder / "dataset_info.json").write_text(json.dumps({"demo": {"file_name": "demo.jsonl"}}))
    keys = {
        "model_name_or_path": model,
        "stage": "sft",
        "do_train": "true",
        "finetuning_type": "lora",
        "lora_rank": 8,
        "lora_target": "q_proj,v_proj",
        "dataset": "demo",
        "dataset_dir": folder,
        "template": "empty",
        "cutoff_len": 128,
        "output_dir": work / "out",
        "per_device_train_batch_size": 8,
        "lr_scheduler_type": "constant",
        "report_to": "none",
        "overwrite_output_dir": "true",
        **COMMON,
    }
    return _write(work / "demo_lora_sft.yaml", keys), ["llamafactory-cli", "train"]


def axolotl_yaml(work: Path, model: Path, data: Path) -> tuple[Path, list[str]]:
    keys = {
        "base_model": model,
        "adapter": "lora",
        "lora_r": 8,
        "lora_target_modules": "[q_proj, v_proj]",
        "datasets": f"[{{path: {data}, ds_type: json, type: alpaca}}]",
        "dataset_prepared_path": work / "prepared",
        "val_set_size": 0,
        "sequence_len": 512,  # its alpaca template in the demo's tokenizer: 128 dropped every row
        "sample_packing": "false",
        "micro_batch_size": 8,
        "gradient_accumulation_steps": 1,
        "optimizer": "adamw_torch",
        "lr_scheduler": "constant",
        "output_dir": work / "out",
        "bf16": "false",
        "fp16": "false",
        "tf32": "false",
        "flash_attention": "false",
        **COMMON,
    }
    # its telemetry retries a host this offline machine cannot resolve, for minutes after a crash
    os.environ.setdefault("AXOLOTL_DO_NOT_TRACK", "1")
    return _write(work / "demo_lora.yml", keys), ["axolotl", "train"]


def _write(path: Path, keys: dict) -> Path:
    path.write_text("".join(f"{k}: {v}\n" for k, v in keys.items()))
    return path


TOOLS = {"llamafactory": llamafactory_yaml, "axolotl": axolotl_yaml}


def versions(venv: Path, tool: str) -> str:
    names = (tool, "transformers", "trl", "peft", "torch")
    code = f"import importlib.metadata as m; print(' '.join(f'{{p}} {{m.version(p)}}' for p in {names!r}))"
    return subprocess.run([str(venv / "bin" / "python"), "-c", code], capture_output=True, text=True).stdout.strip()


def main() -> int:
    from cockpit.demo import demo_data_path, ensure_demo_model

    ap = argparse.ArgumentParser()
    ap.add_argument("tool", choices=sorted(TOOLS))
    ap.add_argument("--venv", type=Path, required=True, help="the virtual environment the tool is installed in")
    a = ap.parse_args()
    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        yaml, (exe, *args) = TOOLS[a.tool](work, ensure_demo_model(), demo_data_path())
        t0 = time.monotonic()
        r = cockpit(
            "run", "--detach", "--runs-dir", str(work / "runs"), "--", str(a.venv / "bin" / exe), *args, str(yaml)
        )
        if r.returncode != 0:
            raise SystemExit(r.stderr)
        rd = Path(r.stdout.strip().splitlines()[-1])
        started = wait_for(rd, lambda e: e["kind"] == "run_started" or e.get("state") == "crashed", 600, "run_started")
        if started["kind"] != "run_started":  # how far it got: the tool's own traceback, as the cockpit kept it
            errors = [e.get("message", "") for e in events(rd) if e["kind"] == "error"]
            raise SystemExit(f"crashed before training: {started.get('reason')}\n" + "\n".join(errors)[-3000:])
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
        rows.append(("versions", versions(a.venv, a.tool)))
    print("| check | result |\n|---|---|")
    for k, v in rows:
        print(f"| {k} | {v} |")
    ok = all(not v.startswith(("refused", "error", "no ack")) for k, v in rows if k.startswith("ctl"))
    return 0 if ok and end["state"] == "stopped" else 1


if __name__ == "__main__":
    sys.exit(main())
