"""Cost per call of the memory readings the trainer makes at each logging step."""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def per_call(fn, n: int = 2000) -> float:
    fn()
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t0) / n


def main() -> int:
    from cockpit.trainer.memory import make_reader

    rows = []
    kind, cpu = make_reader(None)
    rows.append(("psutil RSS + total (CPU runs)", per_call(cpu)))
    try:
        import torch

        if torch.cuda.is_available():
            # A live allocator, as in training: the statistics torch flattens per call grow with it.
            held = [torch.empty(2**20 * k, device="cuda") for k in range(1, 40)]
            del held[::2]
            rows.append(("torch.cuda.memory_allocated", per_call(lambda: torch.cuda.memory_allocated(0))))
            rows.append(("torch.cuda.max_memory_allocated", per_call(lambda: torch.cuda.max_memory_allocated(0))))
            rows.append(("torch.cuda.memory_reserved", per_call(lambda: torch.cuda.memory_reserved(0))))
            try:
                import pynvml

                pynvml.nvmlInit()
                h = pynvml.nvmlDeviceGetHandleByIndex(0)
                rows.append(("NVML nvmlDeviceGetMemoryInfo", per_call(lambda: pynvml.nvmlDeviceGetMemoryInfo(h))))
            except Exception as e:  # noqa: BLE001 - no NVML here is a row, not a failure
                print(f"NVML: {e}")
            _, cuda = make_reader(0)
            rows.append(("the cockpit's whole CUDA reading (allocator tree once + NVML)", per_call(cuda)))
        else:
            rows.append(("CUDA / NVML readings", float("nan")))
    except ImportError:
        pass
    print("| reading | cost per call | how often |")
    print("|---|---|---|")
    for name, s in rows:
        cost = "n/a (no GPU here)" if s != s else f"{s * 1e6:.1f} µs"
        print(f"| {name} | {cost} | once per logging step (never per micro-batch) |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
