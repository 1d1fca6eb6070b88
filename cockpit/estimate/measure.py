"""Run in a fresh process by device.measure: the framework's own memory, printed as one JSON line.

CPU: what a trainer process holds beyond the tensors the estimate models. A reference run (the demo
model, 8 samples x 128 tokens, every sample longer than that, 3 steps) is followed to its peak RSS
(VmHWM), and the estimate's modelled parts for that run are subtracted. What remains is torch,
transformers, peft, trl and datasets themselves (589 MiB just to import them here), the tokenizer and
Trainer, and what glibc's allocator keeps: freed blocks it does not return, and the separate arena of
the autograd thread that runs the backward (about 150 MiB at this size). CUDA: this process's device
memory as NVML counts it once the context is up and a matmul has created the cuBLAS workspace.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REFERENCE = {
    "training.per_device_train_batch_size": "8",
    "training.max_length": "128",
    "training.max_steps": "3",
    "training.save_steps": "0",
    "samples.every": "0",
    "training.logging_steps": "1",
}


def long_rows(n: int = 96) -> list[dict]:
    """Alpaca rows longer than 128 tokens with any tokenizer here, so every batch is full."""
    rng = random.Random(0)
    words = "river stone cloud paper green seven window quiet orange market silver table".split()
    return [
        {
            "instruction": "Continue the list.",
            "input": " ".join(rng.choices(words, k=20)),
            "output": " ".join(rng.choices(words, k=300)),
        }
        for _ in range(n)
    ]


def vm_hwm(pid: int) -> int | None:
    """The kernel's RSS high-water mark of a live process, in bytes."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def peak_of_run(args: list[str], run_dir: Path, poll: float = 0.05) -> tuple[int, int]:
    """Start `cockpit run|demo ... --run-dir RUN_DIR`, follow its trainer's VmHWM until it ends:
    (peak bytes, exit code)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "cockpit.cli", *args, "--headless", "--force", "--run-dir", str(run_dir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    pid, peak = None, 0
    lock = run_dir / "trainer.lock"
    while proc.poll() is None:
        if pid is None and lock.exists():
            try:
                pid = int(lock.read_text().split()[0])
            except (ValueError, IndexError, OSError):
                pid = None
        if pid is not None:
            peak = max(peak, vm_hwm(pid) or 0)
        time.sleep(poll)
    return peak, proc.returncode


def reference_run_peak() -> int:
    from cockpit.config import load_config
    from cockpit.demo import demo_config_path
    from cockpit.estimate.device import detect
    from cockpit.estimate.fit import shape_for
    from cockpit.estimate.parts import estimate

    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "long.jsonl"
        data.write_text("".join(json.dumps(r) + "\n" for r in long_rows()))
        flags = [x for k, v in {**REFERENCE, "data.path": str(data)}.items() for x in ("--set", f"{k}={v}")]
        peak, rc = peak_of_run(["demo", *flags], Path(tmp) / "run")
        if rc != 0 or peak == 0:
            raise SystemExit(f"the reference demo run failed (exit {rc})")
        cfg = load_config(demo_config_path(), [tuple(kv.split("=", 1)) for kv in flags[1::2]])
        est = estimate(cfg, shape_for(cfg, exact=False, build_demo=True), detect())
    return peak - (est.total - est.part("framework"))


def main(kind: str) -> int:
    if kind == "cuda":
        import pynvml
        import torch

        x = torch.ones(1024, 1024, device="cuda")
        (x @ x).sum().item()
        pynvml.nvmlInit()
        from cockpit.trainer.memory import _physical_index

        handle = pynvml.nvmlDeviceGetHandleByIndex(_physical_index(torch.cuda.current_device()))
        used = [
            p.usedGpuMemory
            for p in pynvml.nvmlDeviceGetComputeRunningProcesses(handle)
            if p.pid == os.getpid() and p.usedGpuMemory
        ]
        if used:
            what = "NVML memory of a process with a CUDA context and cuBLAS"
            value = int(used[0])
        else:  # in a container NVML may not see our pid: the context is what the allocator does not hold
            free, total = torch.cuda.mem_get_info()
            value = int(total - free - torch.cuda.memory_reserved())
            what = "device memory in use minus the allocator's (NVML cannot see this pid)"
    else:
        value = reference_run_peak()
        what = "peak RSS of an 8 x 128-token demo trainer run, less its modelled parts"
    print(json.dumps({"bytes": value, "what": what}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "cpu"))
