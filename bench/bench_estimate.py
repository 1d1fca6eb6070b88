"""The memory estimate against real runs: `python bench/bench_estimate.py [case ...]`.

Each case runs the real trainer for a few steps (`cockpit run --headless --force`) on data whose every
sample is longer than max_length, so each micro-batch is the full batch x max_length the estimate
assumes, and reads two peaks of the trainer process: VmHWM (the kernel's RSS high-water mark, polled
from /proc until the process ends) and the largest `mem_used` of its metrics events (the RSS the
cockpit shows, read at logging time, after the step's temporaries are freed). The estimate is computed
with the same shapes `cockpit run` checks (config.json) and the framework overhead cached by
`cockpit estimate --measure` when there is one.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cockpit.demo.model import cache_root  # noqa: E402
from cockpit.estimate.measure import long_rows  # noqa: E402

SMOL = cache_root() / "smollm2-135m-instruct-v1"
CASES = {
    "demo-tiny": {"training.per_device_train_batch_size": "1", "training.max_length": "64"},
    "demo-b32": {"training.per_device_train_batch_size": "32"},
    "demo-b32-gc": {"training.per_device_train_batch_size": "32", "model.gradient_checkpointing": "true"},
    "demo-b128": {"training.per_device_train_batch_size": "128"},
    "smol-fp32": {"model.name_or_path": str(SMOL), "training.per_device_train_batch_size": "4"},
    "smol-fp32-gc": {
        "model.name_or_path": str(SMOL),
        "training.per_device_train_batch_size": "4",
        "model.gradient_checkpointing": "true",
    },
    "smol-4bit": {
        "model.name_or_path": str(SMOL),
        "training.per_device_train_batch_size": "4",
        "model.quantization": "4bit",
    },
    "smol-b16": {"model.name_or_path": str(SMOL), "training.per_device_train_batch_size": "16"},
}
COMMON = {
    "training.max_length": "128",
    "training.max_steps": "6",
    "training.save_steps": "0",
    "samples.every": "0",
    "training.logging_steps": "1",
}


def run_case(name: str, sets: dict[str, str], data: Path, work: Path) -> dict:
    from cockpit.config import load_config, parse_overrides
    from cockpit.estimate.device import detect
    from cockpit.estimate.fit import shape_for
    from cockpit.estimate.parts import estimate

    flags = [x for k, v in {**COMMON, "data.path": str(data), **sets}.items() for x in ("--set", f"{k}={v}")]
    cfg = load_config(ROOT / "cockpit/demo/demo-tiny.yaml", parse_overrides(flags[1::2]))
    est = estimate(cfg, shape_for(cfg, exact=False, build_demo=True), detect())
    run_dir = work / name
    from cockpit.estimate.measure import peak_of_run

    peak, rc = peak_of_run(["run", str(ROOT / "cockpit/demo/demo-tiny.yaml"), *flags], run_dir)
    used = [
        e["mem_used"]
        for e in map(json.loads, (run_dir / "events.jsonl").read_text().splitlines())
        if e.get("kind") == "metrics" and e.get("mem_used")
    ]
    return {
        "case": name,
        "estimate": est.total,
        "framework": est.part("framework"),
        "parts": {p.key: p.bytes for p in est.parts},
        "vm_hwm": peak,
        "mem_used_max": max(used, default=0),
        "steps": len(used),
        "rc": rc,
    }


def main(names: list[str]) -> int:
    mib = 2**20
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "long.jsonl"
        data.write_text("".join(json.dumps(r) + "\n" for r in long_rows()))
        print(
            f"{'case':<14} {'estimate':>9} {'VmHWM':>9} {'err':>7} {'mem_used':>9} {'err':>7}  "
            f"{'est-fw':>8} {'HWM-fw':>8} {'err':>7}"
        )
        for name in names or list(CASES):
            if name.startswith("smol") and not SMOL.exists():
                print(f"{name:<14} skipped: {SMOL} is not there")
                continue
            r = run_case(name, CASES[name], data, Path(tmp))
            e, h, u, fw = r["estimate"], r["vm_hwm"], r["mem_used_max"], r["framework"]
            print(
                f"{name:<14} {e / mib:>8.0f}M {h / mib:>8.0f}M {(e - h) / h:>+7.1%} {u / mib:>8.0f}M "
                f"{(e - u) / max(u, 1):>+7.1%}  {(e - fw) / mib:>7.0f}M {(h - fw) / mib:>7.0f}M "
                f"{(e - h) / max(h - fw, 1):>+7.1%}  steps={r['steps']} rc={r['rc']}",
                flush=True,
            )
            print("   parts MiB: " + ", ".join(f"{k} {v / mib:.0f}" for k, v in r["parts"].items()), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
