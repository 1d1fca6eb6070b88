"""The GPU rows of issue 9, on a ~0.5B model built from a config (Qwen2-0.5B's shape, random weights:
no download), bf16, with LoRA and with 4-bit QLoRA.

1. Overhead, two ways: separate runs, and one run switching variant every few steps (the fine A/B).
   (a) bare TRL, (b) + the cockpit's callbacks, (c) + a cockpit attached, interleaved a,b,c per
   repetition: median step time, tokens/s and peak VRAM of each; ratios b/a and c/a.
2. The cockpit's VRAM reading (NVML used, allocator peak) against torch.cuda.max_memory_allocated.
3. TRL speed options on LoRA bf16, interleaved: padded batches (the default), padding-free, packing,
   eager vs sdpa attention, Liger kernels when liger-kernel is importable.

    python bench/bench_gpu.py [--steps 40] [--reps 3] [--json out.json]

Timing uses the same StepClock as bench_overhead.py (a CUDA synchronize at each step end, in every
variant alike). The data is synthetic chat with a long-tailed length distribution (median ~300 tokens,
up to max_length), the shape of real SFT sets where padding costs most.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sft_run import NAMES, run_interleaved, run_once  # noqa: E402

QWEN2_05B = dict(
    hidden_size=896,
    intermediate_size=4864,
    num_hidden_layers=24,
    num_attention_heads=14,
    num_key_value_heads=2,
    max_position_embeddings=32768,
    rope_theta=1_000_000.0,
    tie_word_embeddings=True,
    vocab_size=151_936,
)


def synthetic_chats(n: int, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    syll = ["ka", "lo", "mi", "ren", "to", "sa", "vel", "dor", "un", "pe", "qui", "zan", "bo", "eth", "ri"]
    words = ["".join(rng.choice(syll) for _ in range(rng.randint(1, 3))) for _ in range(3000)]

    def text(n_words: int) -> str:
        return " ".join(rng.choice(words) for _ in range(n_words))

    rows = []
    for _ in range(n):
        answer = max(8, min(600, int(rng.lognormvariate(4.3, 0.8))))  # words; median ~75
        rows.append(
            {
                "messages": [
                    {"role": "user", "content": text(rng.randint(8, 60))},
                    {"role": "assistant", "content": text(answer)},
                ]
            }
        )
    return rows


def build_model(out: Path, rows: list[dict], shape: dict) -> None:
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    from cockpit.demo.model import build_tokenizer

    texts = [m["content"] for r in rows[:400] for m in r["messages"]]
    tok = build_tokenizer(texts)
    cfg = Qwen2Config(
        bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id, **shape
    )
    torch.manual_seed(0)
    model = Qwen2ForCausalLM(cfg).to(torch.bfloat16)
    model.save_pretrained(out)
    tok.save_pretrained(out)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--skip", type=int, default=5)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--max-length", type=int, default=1024)
    ap.add_argument("--parts", default="overhead,interleaved,options")
    ap.add_argument("--modes", default="lora,qlora")
    ap.add_argument("--tiny", action="store_true", help="a 2-layer model: check the script, not the GPU")
    ap.add_argument("--json", default=None)
    ap.add_argument("--interleaved-steps", type=int, default=600)
    ap.add_argument("--block", type=int, default=4, help="steps per variant per round in the interleaved run")
    a = ap.parse_args()
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

    import torch

    from cockpit.config import load_config
    from cockpit.trainer import build

    idx = build.device_index()
    gpu = idx is not None
    tmp = Path(tempfile.mkdtemp(prefix="bench-gpu-"))
    rows = synthetic_chats(max(a.steps, a.interleaved_steps) * a.batch + 64)
    data = tmp / "chat.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows[: a.steps * a.batch + 64]))
    data_long = tmp / "chat-long.jsonl"
    data_long.write_text("".join(json.dumps(r) + "\n" for r in rows))
    shape = (
        dict(
            QWEN2_05B,
            num_hidden_layers=2,
            hidden_size=128,
            intermediate_size=256,
            num_attention_heads=4,
            num_key_value_heads=2,
            vocab_size=2048,
        )
        if a.tiny
        else QWEN2_05B
    )
    t0 = time.time()
    build_model(tmp / "model", rows, shape)
    print(f"model built in {time.time() - t0:.1f} s: {tmp / 'model'}", flush=True)

    def config(mode: str, **extra: str):
        sets = {
            "model.name_or_path": str(tmp / "model"),
            "model.quantization": "4bit" if mode == "qlora" else "none",
            "model.dtype": "bfloat16" if gpu else "float32",
            "data.path": str(data),
            "data.format": "messages",
            "training.max_steps": str(a.steps),
            "training.logging_steps": "1",
            "training.save_steps": "0",
            "samples.every": "0",
            "training.bf16": str(gpu).lower(),
            "training.per_device_train_batch_size": str(a.batch),
            "training.gradient_accumulation_steps": "1",
            "training.max_length": str(a.max_length),
            "training.warmup_ratio": "0.0",
        }
        sets.update(extra)
        return load_config(ROOT / "sample_configs" / "qwen2.5-0.5b-lora.yaml", list(sets.items()))

    base_cfg = config("lora")
    tokenizer = build.load_tokenizer(base_cfg, str(tmp / "model"))
    train_ds, _, _ = build.datasets_for(base_cfg)
    train_long = None
    if "interleaved" in a.parts:
        train_long, _, _ = build.datasets_for(config("lora", **{"data.path": str(data_long)}))
    out: dict = {
        "device": build.device_label(idx),
        "torch": torch.__version__,
        "steps": a.steps,
        "batch": a.batch,
        "max_length": a.max_length,
    }

    def save(results: dict) -> None:  # after each part: a run cut short keeps what it measured
        if a.json:
            Path(a.json).write_text(json.dumps(results, indent=1, default=str))

    def run(cfg, variant: str) -> dict:
        with tempfile.TemporaryDirectory(dir=tmp) as w:
            r = run_once(variant, cfg, Path(w), str(tmp / "model"), tokenizer, train_ds, idx, a.skip)
        return {
            "step": statistics.median(r.step_times),
            "tps": r.tokens_per_s,
            "peak": r.peak_allocated,
            "cockpit_mem": r.cockpit_mem,
        }

    if "overhead" in a.parts:
        out["overhead"] = {}
        for mode in a.modes.split(","):
            cfg = config(mode)
            res: dict[str, list[dict]] = {v: [] for v in "abc"}
            for rep in range(a.reps):
                for v in "abc":
                    r = run(cfg, v)
                    res[v].append(r)
                    print(
                        f"{mode} rep {rep + 1}/{a.reps} ({v}) step {r['step'] * 1000:.1f} ms "
                        f"{(r['tps'] or 0):,.0f} tok/s peak {(r['peak'] or 0) / 2**30:.2f} GiB "
                        f"cockpit {r['cockpit_mem']}",
                        flush=True,
                    )
            out["overhead"][mode] = res
            save(out)
        print_overhead(out["overhead"])

    if "interleaved" in a.parts:
        out["interleaved"] = {}
        inter = {}
        for mode in a.modes.split(","):
            with tempfile.TemporaryDirectory(dir=tmp) as w:
                res = run_interleaved(
                    config(mode, **{"training.max_steps": str(a.interleaved_steps)}),
                    Path(w),
                    str(tmp / "model"),
                    tokenizer,
                    train_long,
                    idx,
                    a.block,
                )
            inter[mode] = res
            out["interleaved"][mode] = res.rows
            print(
                f"{mode} interleaved: "
                + ", ".join(f"{v} {statistics.median(t) * 1000:.2f} ms (n={len(t)})" for v, t in res.times().items()),
                flush=True,
            )
            save(out)
        print_interleaved(inter, a.block)

    if "options" in a.parts:
        options = [
            ("padded batches, sdpa (default)", {}),
            ("padded batches, eager attention", {"model.attn_implementation": "eager"}),
            ("padding_free, sdpa", {"training.padding_free": "true"}),
            ("packing (bfd), sdpa", {"training.packing": "true"}),
        ]
        try:
            import liger_kernel  # noqa: F401

            options.append(("padded batches, sdpa, Liger kernels", {"training.use_liger_kernel": "true"}))
            options.append(
                (
                    "padding_free, sdpa, Liger kernels",
                    {"training.padding_free": "true", "training.use_liger_kernel": "true"},
                )
            )
        except ImportError:
            print("liger-kernel not importable: its rows are skipped", flush=True)
        if not gpu:
            options = [o for o in options if "training.use_liger_kernel" not in o[1]]
        res_o: dict[str, list[dict]] = {name: [] for name, _ in options}
        for rep in range(max(2, a.reps - 1)):
            for name, extra in options:
                try:
                    r = run(config("lora", **extra), "b")
                except Exception as e:  # an option this stack cannot run is a finding, not a crash
                    r = {"error": f"{type(e).__name__}: {e}"[:300]}
                res_o[name].append(r)
                print(f"options rep {rep + 1}: {name}: {r}", flush=True)
            out["options"] = res_o
            save(out)
        print_options(res_o)

    save(out)
    return 0


def _med(rs: list[dict], key: str):
    xs = [r[key] for r in rs if r.get(key) is not None]
    return statistics.median(xs) if xs else None


def _gib(x) -> str:
    return "-" if x is None else f"{x / 2**30:.2f}"


def print_overhead(res: dict) -> None:
    print("\n| mode | variant | median step (ms) | ratio to bare | tokens/s | peak VRAM (GiB, torch) |")
    print("|---|---|---|---|---|---|")
    for mode, by_v in res.items():
        a_step = _med(by_v["a"], "step")
        for v, rs in by_v.items():
            step, tps = _med(rs, "step"), _med(rs, "tps")
            print(
                f"| {mode} | {NAMES[v]} | {step * 1000:.1f} | {step / a_step:.4f} | "
                f"{'-' if tps is None else f'{tps:,.0f}'} | {_gib(_med(rs, 'peak'))} |"
            )
    print(
        "\n| mode | torch max_memory_allocated (GiB) | cockpit mem_peak (GiB) | cockpit mem_reserved (GiB) |"
        " cockpit mem_used, NVML (GiB) | mem_total (GiB) |"
    )
    print("|---|---|---|---|---|---|")
    for mode, by_v in res.items():
        for r in by_v["b"][-1:]:
            m = r["cockpit_mem"]
            print(
                f"| {mode} | {_gib(r['peak'])} | {_gib(m.get('mem_peak'))} | {_gib(m.get('mem_reserved'))} | "
                f"{_gib(m.get('mem_used'))} | {_gib(m.get('mem_total'))} |"
            )


def print_interleaved(res: dict, block: int) -> None:
    print(
        f"\n| mode (one run, {block} steps per variant per round, rounds shuffled) | (a) median step (ms) | "
        "a2/a (A/A control) | b/a | c/a | steps per variant |"
    )
    print("|---|---|---|---|---|---|")
    for mode, r in res.items():
        t = r.times()
        cells = []
        for v in ("a2", "b", "c"):
            e = r.estimate(v)
            cells.append(f"{e.ratio:.4f} ± {e.se:.2%}")
        print(
            f"| {mode} | {statistics.median(t['a']) * 1000:.2f} | {' | '.join(cells)} | "
            f"{min(len(x) for x in t.values())} |"
        )


def print_options(res: dict) -> None:
    print("\n| LoRA bf16, with the callback | median step (ms) | tokens/s | vs default | peak VRAM (GiB) |")
    print("|---|---|---|---|---|")
    base = None
    for name, rs in res.items():
        errs = [r["error"] for r in rs if "error" in r]
        if errs:
            print(f"| {name} | failed: {errs[0]} | | | |")
            continue
        tps = _med(rs, "tps")
        base = base or tps
        print(
            f"| {name} | {_med(rs, 'step') * 1000:.1f} | {'-' if tps is None else f'{tps:,.0f}'} | "
            f"{'-' if not (tps and base) else f'{tps / base:.2f}x'} | {_gib(_med(rs, 'peak'))} |"
        )


if __name__ == "__main__":
    sys.exit(main())
