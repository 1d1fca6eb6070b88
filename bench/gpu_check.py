"""The GPU path proven by one prepared check (issue 34): the real trainer, guards, controls, estimate,
merge, export and the cockpit's overhead on a CUDA machine, in one command that writes one JSON and a
Markdown summary.

    python bench/gpu_check.py --out DIR [--budget 480]     # a CUDA machine: the real sizes, < 8 min on an H100
    python bench/gpu_check.py --tiny --out DIR             # the CPU path: the same checks at tiny sizes

Models: a Qwen2.5-0.5B-shaped and a Llama-3.2-1B-shaped model (bench/gpu_models.py: real config numbers,
random weights, a tokenizer built from the packaged data; nothing downloaded). The checks, in order
(PARTS below; their code in bench/gpu_parts.py, gpu_live.py, gpu_outputs.py), each with its own time
limit inside the total --budget; a failing check does not stop the others, and DIR/gpu_check.json and
DIR/gpu_check.md are rewritten after each, so a command killed at its limit still leaves what was
measured (DIR/gpu_check_logs.tar.gz, every command's output, is written at the end):

- setup: every package the checks import (a failure here ends the run at once), then both models;
- readme_install (GPU only): the README's `pip install -e '.[train]'` resolved offline must keep the
  machine's CUDA torch;
- lora_bf16, qlora_nf4: `cockpit run --headless` of the sample configs (qwen2.5-0.5b-lora.yaml,
  llama3.1-8b-qlora.yaml) on the 1B model, 120 steps: step time, tokens/s, peak VRAM from NVML (polled
  every 20 ms) and from torch (the events' mem_peak), the events' memory readings;
- estimate: `cockpit estimate --json` of those two configs against the measured peaks, per part;
- guards: an injected NaN gradient and an injected logit spike (cockpit/trainer/callbacks/faults.py)
  each stop a run with its last checkpoint kept and the adapter finite;
- controls: `cockpit ctl` lr x0.5, save, sample, pause, resume, stop on a detached run, each acked with
  at most one step ending between the command's writing and its ack;
- merge_export: `cockpit merge` of the QLoRA run (verified as merge verifies) and `cockpit export --gguf`
  of the result, read back with gguf's reader;
- overhead: bench/bench_overhead.py's interleaved run on the 0.5B model, (a) bare, (a2) bare again,
  (b) + the cockpit's callbacks, (c) + an attached cockpit; goal under 0.5% with a standard error <= 0.3%.

On the lent GPU machine (no network: no package index, no hub). Its python3 has torch (CUDA), transformers,
peft, accelerate, tokenizers, safetensors, pyyaml, click, psutil, numpy and nvidia-ml-py, but not trl,
bitsandbytes, datasets, gguf, textual, pydantic or orjson (/work/.library/device/KINDS.md). So they travel
as wheels, made here where the index is reachable (bench/gpu_bundle.py; bench/README.md says how), and
the one shell line there, in a device call with carry [".gpu-wheels"] and timeout_s 600, is:

    python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .gpu-wheels/*.whl && \
    PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1 python3 bench/gpu_check.py --out $OUT --budget 480

The repository itself needs no install: PYTHONPATH makes `cockpit` importable, and every command runs as
`python -m cockpit.cli`, the same entry point as the `cockpit` script.
"""

from __future__ import annotations

import argparse
import importlib.metadata as md
import json
import os
import platform
import sys
import tempfile
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import gpu_proc  # noqa: E402
from gpu_live import controls, guards  # noqa: E402
from gpu_outputs import merge_export  # noqa: E402
from gpu_parts import Ctx, estimate, overhead, readme_install, setup, timeout_error, train_run  # noqa: E402
from gpu_proc import PartTimeout  # noqa: E402
from gpu_summary import markdown  # noqa: E402

PACKAGES = ("torch", "transformers", "peft", "trl", "bitsandbytes", "accelerate", "datasets", "gguf", "textual")
PARTS = [
    ("setup", setup, dict(gpu=150, tiny=240)),
    ("readme_install", readme_install, dict(gpu=40, tiny=60)),
    ("lora_bf16", train_run("lora_bf16"), dict(gpu=100, tiny=150)),
    ("qlora_nf4", train_run("qlora_nf4"), dict(gpu=110, tiny=150)),
    ("estimate", estimate, dict(gpu=50, tiny=60)),
    ("guards", guards, dict(gpu=70, tiny=240)),
    ("controls", controls, dict(gpu=50, tiny=150)),
    ("merge_export", merge_export, dict(gpu=100, tiny=200)),
    ("overhead", overhead, dict(gpu=120, tiny=150)),
]
"""(name, check, seconds allowed on each machine), in the order they run: the overhead last, since it is
time-boxed and gives back whatever is left of the budget."""
MARGIN = 15.0
"""Seconds of the budget kept for writing the report after the last check."""


def environment(nvml) -> dict:
    env: dict = {"python": platform.python_version(), "machine": platform.machine(), "packages": {}}
    for p in PACKAGES:
        try:
            env["packages"][p] = md.version(p)
        except md.PackageNotFoundError:
            env["packages"][p] = None
    if nvml is not None:
        import pynvml

        env["gpu"] = pynvml.nvmlDeviceGetName(nvml)
        env["gpu_memory"] = int(pynvml.nvmlDeviceGetMemoryInfo(nvml).total)
        env["driver"] = pynvml.nvmlSystemGetDriverVersion()
    return env


class Report:
    """gpu_check.json and gpu_check.md, rewritten whole (atomically) after every check."""

    def __init__(self, out: Path, data: dict):
        self.out, self.data = out, data
        out.mkdir(parents=True, exist_ok=True)

    def save(self) -> None:
        for name, text in (
            ("gpu_check.json", json.dumps(self.data, indent=1, default=str)),
            ("gpu_check.md", markdown(self.data)),
        ):
            tmp = self.out / f".{name}.tmp"
            tmp.write_text(text)
            os.replace(tmp, self.out / name)


def pack_logs(session: Path, out: Path) -> None:
    """Every command's output, as one file next to the report (the device tool returns a few files only)."""
    import tarfile

    logs = session / "logs"
    if logs.is_dir():
        with tarfile.open(out / "gpu_check_logs.tar.gz", "w:gz") as tar:
            tar.add(logs, arcname="logs")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, help="where gpu_check.json and gpu_check.md go")
    ap.add_argument("--tiny", action="store_true", help="tiny models: the CPU path that `make test` runs")
    ap.add_argument("--budget", type=float, default=None, help="seconds for all checks (default 480; --tiny 1200)")
    ap.add_argument("--work", default=None, help="models and runs go here (default: a temporary folder)")
    ap.add_argument("--only", default=None, help="comma-separated checks to run (setup always runs)")
    a = ap.parse_args(argv)
    t0 = time.monotonic()
    budget = a.budget or (1200.0 if a.tiny else 480.0)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    # Nothing may come from the hub: where some code tries, it fails at once instead of waiting on a
    # network that is not there (the GPU machine has none).
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    work = Path(a.work or tempfile.mkdtemp(prefix="gpu-check-"))
    nvml = gpu_proc.nvml_handle()
    session = work / time.strftime("check-%Y%m%d-%H%M%S")
    session.mkdir(parents=True, exist_ok=True)
    ctx = Ctx(work=session, models_dir=work / "models", tiny=a.tiny, gpu=nvml is not None and not a.tiny, nvml=nvml)
    report = Report(
        Path(a.out),
        {
            "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
            "mode": "tiny (CPU path)" if a.tiny else "real sizes",
            "budget_s": budget,
            "environment": environment(nvml),
            "work": str(session),
            "checks": {},
        },
    )
    report.save()
    only = set(a.only.split(",")) | {"setup"} if a.only else None
    for name, check, limits in PARTS:
        if only is not None and name not in only:
            continue
        left = budget - (time.monotonic() - t0) - MARGIN
        allowed = min(limits["tiny" if a.tiny else "gpu"], left)
        if allowed < 5:
            rec = {"ok": False, "skipped": f"the budget ({budget:.0f} s) ran out"}
        else:
            print(f"[{time.monotonic() - t0:6.1f}s] {name} (up to {allowed:.0f} s)", flush=True)
            started = time.monotonic()
            try:
                rec = check(ctx, allowed)
            except PartTimeout as e:
                rec = timeout_error(e)
            except Exception as e:  # noqa: BLE001 - one broken check must not take the others with it
                rec = {"ok": False, "error": f"{type(e).__name__}: {e}", "traceback": traceback.format_exc()[-3000:]}
            rec["seconds"] = round(time.monotonic() - started, 1)
        report.data["checks"][name] = rec
        report.data["elapsed_s"] = round(time.monotonic() - t0, 1)
        report.save()
        print(f"[{time.monotonic() - t0:6.1f}s] {name}: {'ok' if rec.get('ok') else 'FAILED'}", flush=True)
        if rec.get("fatal"):
            break  # nothing after it can run: keep the device time for a rerun
    pack_logs(session, report.out)
    checks = report.data["checks"]
    report.data["passed"] = not any(r.get("ok") is False for r in checks.values())  # None: not judged here
    report.data["elapsed_s"] = round(time.monotonic() - t0, 1)
    report.save()
    print(markdown(report.data))
    return 0 if report.data["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
