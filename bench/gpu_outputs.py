"""The check of bench/gpu_check.py on what a run leaves: its adapter merged, exported to GGUF, read back."""

from __future__ import annotations

import json
import time
from pathlib import Path

import gpu_proc as proc
from gpu_parts import Ctx
from gpu_proc import COCKPIT

# ---- merge and export of the QLoRA run's adapter ---------------------------------------------------------


def merge_export(ctx: Ctx, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    rd = ctx.runs.get("qlora_nf4")
    if rd is None or not (rd / "adapter" / "adapter_model.safetensors").exists():
        return {"ok": False, "error": "the QLoRA run left no adapter"}
    merged = ctx.work / "merged-qlora"
    device = "cuda" if ctx.gpu else "cpu"
    args = [*COCKPIT, "merge", str(rd), "--out", str(merged), "--dtype", "bf16", "--device", device]
    ran = proc.run(args, deadline - time.monotonic(), ctx.log("merge"))
    rec: dict = {"merge_rc": ran.rc, "merge_seconds": round(ran.seconds, 1)}
    info = merged / "merge.json"
    if ran.rc != 0 or not info.exists():
        return {**rec, "ok": False, "tail": ran.out[-1500:]}
    rec["merge_checks"] = json.loads(info.read_text()).get("checks")
    gguf_path = ctx.work / "gguf" / "qlora-merged-f16.gguf"
    ran = proc.run(
        [*COCKPIT, "export", str(merged), "--gguf", "--outtype", "f16", "--out", str(gguf_path)],
        deadline - time.monotonic(),
        ctx.log("export"),
    )
    rec.update(export_rc=ran.rc, export_seconds=round(ran.seconds, 1))
    exp = gguf_path.with_name(gguf_path.stem + ".export.json")  # one verification record per exported file
    if ran.rc != 0 or not exp.exists():
        return {**rec, "ok": False, "tail": ran.out[-1500:]}
    rec["export_checks"] = json.loads(exp.read_text()).get("checks")
    rec["gguf_bytes"] = gguf_path.stat().st_size
    rec["read_back"] = _read_back(gguf_path, merged)
    rec["ok"] = rec["read_back"]["ok"]
    return rec


def _read_back(gguf_path: Path, merged: Path) -> dict:
    """Open the GGUF file with gguf's own reader: its tensors and architecture against the merged config."""
    from gguf import GGUFReader

    reader = GGUFReader(str(gguf_path))
    arch_field = reader.fields.get("general.architecture")
    arch = bytes(arch_field.parts[arch_field.data[0]]).decode() if arch_field else None
    cfg = json.loads((merged / "config.json").read_text())
    blocks = {t.name.split(".")[1] for t in reader.tensors if t.name.startswith("blk.")}
    ok = arch == "llama" and len(blocks) == cfg["num_hidden_layers"] and len(reader.tensors) > 0
    return {"ok": ok, "architecture": arch, "tensors": len(reader.tensors), "blocks": len(blocks)}
