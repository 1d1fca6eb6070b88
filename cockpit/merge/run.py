"""The merge: load base in a higher precision, apply the adapter, verify, merge_and_unload, verify the
merged model against base+adapter, write atomically."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

from cockpit.merge.replace import check_replaceable
from cockpit.merge.source import MergeRefused, MergeSource
from cockpit.stale_temps import dead_temps

DTYPES = {"fp32": "float32", "bf16": "bfloat16", "fp16": "float16"}
# Logit agreement between base+adapter and the merged weights: merging folds B@A*scale into W, which
# in fp32 changes only rounding (1e-6 relative); bf16 keeps 8 bits of mantissa, fp16 11.
TOLERANCE = {"fp32": 1e-3, "fp16": 5e-2, "bf16": 2.5e-1}
PROMPTS = ("Hello", "Summarise: the meeting moved to Thursday.", "Reverse the word.\nstorm")
GEN_TOKENS = 16


class AlreadyMerged(Exception):
    """OUT already holds this adapter's merge, verified, in the same dtype: nothing to do."""

    def __init__(self, out: Path, info: dict[str, Any]):
        checks = info.get("checks") or {}
        super().__init__(
            f"{out} already holds this adapter's verified merge ({info.get('dtype')}, max |logit diff| "
            f"{checks.get('max_abs_logit_diff', float('nan')):.3g}); nothing to do (--force merges it again)"
        )


def verified_merge_of(out: Path, src: MergeSource, dtype: str) -> dict[str, Any] | None:
    """OUT's merge record when it is a verified merge of this very adapter (not changed since) in `dtype`."""
    try:
        info = json.loads((out / "merge.json").read_text())
    except (OSError, ValueError):
        return None
    checks = info.get("checks") if isinstance(info, dict) else None
    if not isinstance(checks, dict) or info.get("source_adapter") != str(src.adapter) or info.get("dtype") != dtype:
        return None
    diff, tol = checks.get("max_abs_logit_diff"), checks.get("tolerance")
    if not (checks.get("generation_match") and isinstance(diff, float) and isinstance(tol, float) and diff <= tol):
        return None
    try:
        changed = max(f.stat().st_mtime for f in Path(src.adapter).iterdir())
    except (OSError, ValueError):
        return None
    return info if changed <= float(info.get("merged_at") or 0) else None


class VerificationFailed(Exception):
    def __init__(self, message: str, checks: dict[str, Any]):
        super().__init__(message)
        self.checks = checks


TEMP_MARKER = ".cockpit-merge-temp"
"""Written first into every temporary output folder: the cleanup removes only folders that carry it."""


def _temp_dir(out: Path, pid: int) -> Path:
    return out.parent / f".{out.name}.tmp-{pid}"


def _make_temp(out: Path) -> Path:
    """Our temporary output folder, created new (never one that exists) and marked as ours."""
    tmp = _temp_dir(out, os.getpid())
    if tmp.is_dir() and not tmp.is_symlink() and (tmp / TEMP_MARKER).is_file():
        shutil.rmtree(tmp)  # ours, from an earlier attempt in this process
    os.mkdir(tmp, 0o700)
    (tmp / TEMP_MARKER).write_text(f"{os.getpid()}\n")
    return tmp


def _clean_stale_temp(out: Path) -> None:
    """Remove temporary folders an interrupted merge to this same output left: named for `out`, marked
    by us, owned by this user, and whose merge process is gone. Anything else next to `out` is not ours."""
    for p in dead_temps(out.parent, f".{out.name}.tmp-", folders=True):
        if (p / TEMP_MARKER).is_file():
            shutil.rmtree(p, ignore_errors=True)


def _check_room(out: Path, n_params: int, dtype: str) -> None:
    need = int(n_params * {"fp32": 4, "fp16": 2, "bf16": 2}[dtype] * 1.1)
    fake = os.environ.get("COCKPIT_MERGE_FAKE_FREE_BYTES")  # test hook: pretend the disk is this full
    free = int(fake) if fake else shutil.disk_usage(out.parent).free
    if free < need:
        raise MergeRefused(
            f"not enough disk space in {out.parent}: the merged model needs ~{need / 2**20:.0f} MiB, "
            f"{free / 2**20:.0f} MiB free"
        )


def _adapter_finite(adapter: Path) -> dict[str, Any]:
    import torch
    from safetensors.torch import load_file

    f = adapter / "adapter_model.safetensors"
    if not f.exists():
        raise MergeRefused(f"{adapter} has no adapter_model.safetensors")
    tensors = load_file(str(f))
    bad = [k for k, t in tensors.items() if not torch.isfinite(t).all()]
    return {"tensors": len(tensors), "nonfinite": bad[:10]}


def _plain_lora(src: MergeSource, out: Path, checks: dict[str, Any]) -> Path:
    """The adapter to apply to the original base. A PiSSA/OLoRA adapter as saved in a checkpoint applies
    to the residual base its initialisation left, which is nowhere on disk: loading it here would decompose
    the base again (and differently, with a randomized SVD). It is converted to the equivalent plain LoRA
    with the run's initial adapter (cockpit.merge.pissa); the trainer's final adapter/ is already one."""
    from cockpit.merge.pissa import INITIAL_ADAPTER, changes_base, convert_to_lora

    acfg = json.loads((src.adapter / "adapter_config.json").read_text())
    if not changes_base(acfg):
        return src.adapter
    initial = src.run_dir.path / INITIAL_ADAPTER if src.run_dir is not None else None
    if initial is None or not (initial / "adapter_model.safetensors").is_file():
        raise MergeRefused(
            f"{src.adapter} is a {acfg.get('init_lora_weights')} adapter: it applies to the base "
            f"its initialisation changed, and the initial adapter ({INITIAL_ADAPTER}/ in the run "
            "directory) that converts it back is missing; merge from the run directory"
        )
    conv = out.parent / f".{out.name}.convert-{os.getpid()}"
    shutil.rmtree(conv, ignore_errors=True)
    convert_to_lora(src.adapter, initial, conv)
    checks["converted_from"] = (
        f"{acfg.get('init_lora_weights')} (rank {acfg.get('r')} -> plain LoRA rank "
        f"{2 * int(acfg.get('r', 0))}, with {INITIAL_ADAPTER}/)"
    )
    return conv


def _inputs(tokenizer, device):
    out = []
    for p in PROMPTS:
        text = p
        if getattr(tokenizer, "chat_template", None):
            text = tokenizer.apply_chat_template(
                [{"role": "user", "content": p}], tokenize=False, add_generation_prompt=True
            )
        out.append(tokenizer(text, return_tensors="pt", add_special_tokens=False).to(device))
    return out


def _logits_and_gen(model, inputs, tokenizer):
    import torch

    logits, gens = [], []
    with torch.no_grad():
        for enc in inputs:
            logits.append(model(**enc).logits.float())
            g = model.generate(
                **enc,
                max_new_tokens=GEN_TOKENS,
                do_sample=False,
                pad_token_id=tokenizer.pad_token_id or tokenizer.eos_token_id,
            )
            gens.append(g[0, enc["input_ids"].shape[1] :].tolist())
    return logits, gens


def merge(src: MergeSource, *, dtype: str, device: str, force: bool, report) -> dict[str, Any]:
    import torch

    if dtype not in DTYPES:
        raise MergeRefused(f"--dtype {dtype}: use one of {', '.join(DTYPES)}")
    if device == "cuda" and not torch.cuda.is_available():
        raise MergeRefused("--device cuda: no CUDA device here (use --device cpu)")
    out = src.out
    if os.path.lexists(out):
        if not force and (done := verified_merge_of(out, src, dtype)) is not None:
            raise AlreadyMerged(out, done)
        if not force:
            raise MergeRefused(f"{out} already exists (use --force to replace it, or --out elsewhere)")
        check_replaceable(src)  # an earlier merge output only: never the run, the base, other files
    out.parent.mkdir(parents=True, exist_ok=True)
    _clean_stale_temp(out)
    report.started(
        f"{src.adapter} into {src.base} as {dtype} on {device}"
        + (f"; the {src.quantized} base is reloaded unquantized" if src.quantized else ""),
        adapter=str(src.adapter),
        base=str(src.base),
        out=str(out),
        dtype=dtype,
    )
    checks: dict[str, Any] = {"adapter": _adapter_finite(src.adapter)}
    if checks["adapter"]["nonfinite"]:
        raise VerificationFailed(f"the adapter has NaN/inf in {checks['adapter']['nonfinite']}", checks)

    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    t0 = time.time()
    tok_src = src.adapter if (src.adapter / "tokenizer_config.json").exists() else src.base
    tokenizer = AutoTokenizer.from_pretrained(str(tok_src), trust_remote_code=src.trust_remote_code)
    base = AutoModelForCausalLM.from_pretrained(
        str(src.base), dtype=getattr(torch, DTYPES[dtype]), trust_remote_code=src.trust_remote_code
    ).to(device)
    _check_room(out, sum(p.numel() for p in base.parameters()), dtype)
    adapter = _plain_lora(src, out, checks)
    try:
        model = PeftModel.from_pretrained(base, str(adapter))
    except (RuntimeError, ValueError, KeyError) as e:
        raise MergeRefused(f"the adapter does not match the base {src.base}: {str(e).splitlines()[0][:300]}") from None
    finally:
        if adapter != src.adapter:  # the converted copy was only needed to load it
            shutil.rmtree(adapter, ignore_errors=True)
    model.eval()
    report.progress(f"loaded base and adapter in {time.time() - t0:.1f}s; computing reference logits")
    inputs = _inputs(tokenizer, device)
    ref_logits, ref_gen = _logits_and_gen(model, inputs, tokenizer)
    merged = model.merge_and_unload()
    merged.eval()
    new_logits, new_gen = _logits_and_gen(merged, inputs, tokenizer)
    diff = max(float((a - b).abs().max()) for a, b in zip(ref_logits, new_logits))
    tol = TOLERANCE[dtype]
    checks.update(
        max_abs_logit_diff=diff,
        tolerance=tol,
        prompts=len(PROMPTS),
        generation_match=ref_gen == new_gen,
        generated_tokens=GEN_TOKENS,
    )
    if not all(torch.isfinite(t).all() for t in new_logits):
        raise VerificationFailed("the merged model produces NaN/inf logits", checks)
    if diff > tol:
        raise VerificationFailed(f"logits differ by {diff:.3g} (> {tol:g} for {dtype})", checks)
    if ref_gen != new_gen:
        raise VerificationFailed("greedy generations of base+adapter and merged model differ", checks)
    report.progress(f"verified: max |logit diff| {diff:.2e} (tolerance {tol:g}), generations match; writing")

    tmp = _make_temp(out)
    try:
        merged.save_pretrained(str(tmp), safe_serialization=True)
        tokenizer.save_pretrained(str(tmp))
        pause = os.environ.get("COCKPIT_MERGE_PAUSE_BEFORE_RENAME")  # test hook: a window to kill us in
        if pause:
            time.sleep(float(pause))
        info = {
            "source_adapter": str(src.adapter),
            "base": str(src.base),
            "dtype": dtype,
            "device": device,
            "quantization_note": (
                f"trained on a {src.quantized} base; merged into the unquantized base" if src.quantized else None
            ),
            "checks": checks,
            "merged_at": time.time(),
            "versions": _versions(),
            # what a later --force may delete (cockpit.merge.replace): every entry this merge wrote
            "files": sorted({*(p.name for p in tmp.iterdir()), "merge.json"}),
        }
        (tmp / "merge.json").write_text(json.dumps(info, indent=1))
        if out.exists():  # --force: swap atomically, then delete the old one
            old = out.parent / f".{out.name}.old-{os.getpid()}"
            os.rename(out, old)
            os.rename(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return {"out": str(out), "checks": checks}


def _versions() -> dict[str, str]:
    import importlib.metadata as md

    return {p: md.version(p) for p in ("torch", "transformers", "peft") if _has(p)}


def _has(p: str) -> bool:
    import importlib.metadata as md

    try:
        md.version(p)
        return True
    except md.PackageNotFoundError:
        return False
