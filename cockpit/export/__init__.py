"""Export a run's merged model to one GGUF file (llama.cpp, Ollama), verified by reading it back.

    cockpit export RUN_DIR --gguf [--outtype f32|f16|bf16|q8_0] [--out FILE] [--force]

1. The merged model: RUN_DIR/merged, or merged first through cockpit.merge (verified there).
2. Only Llama-architecture models (LlamaForCausalLM): refused otherwise, naming what is supported.
3. Written with the `gguf` package (cockpit.export.gguf_file): weights under llama.cpp's tensor names,
   the tokenizer (tokens, types, merges, special ids) and the chat template in the metadata.
4. Verified (cockpit.export.verify): loaded back with transformers (`gguf_file=`), logits compared with
   the merged model's within the outtype's tolerance, greedy generations compared. The numbers go into
   NAME.export.json next to NAME.gguf (one record per file). Both are written under temporary names and
   renamed only when the checks pass, so a failed or killed export never leaves a file that looks
   finished; a killed export's temporaries are removed by the next export to the same file.
An existing file is replaced only with --force.
Exit codes: 0 done, 1 verification failed, 2 refused (nothing written).

Heavy imports (torch, transformers, gguf) happen only inside the functions that need them.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from cockpit.stale_temps import dead_temps

OUTTYPES = ("f32", "f16", "bf16", "q8_0")
SUPPORTED = ("LlamaForCausalLM",)


class ExportRefused(Exception):
    """The export cannot start; nothing is written."""


def supported_architecture(model_dir: Path) -> str:
    """The model's architecture, or ExportRefused naming what is supported."""
    try:
        cfg = json.loads((model_dir / "config.json").read_text())
    except (OSError, ValueError) as e:
        raise ExportRefused(f"cannot read {model_dir / 'config.json'} ({e})") from None
    archs = cfg.get("architectures") or [cfg.get("model_type", "?")]
    if archs[0] not in SUPPORTED or cfg.get("model_type") != "llama":
        raise ExportRefused(
            f"GGUF export supports Llama-architecture models ({', '.join(SUPPORTED)}: the demo "
            f"model, SmolLM2, Llama 2/3); {model_dir} is {archs[0]} (model_type "
            f"{cfg.get('model_type')!r})"
        )
    return archs[0]


def _merged_dir(run_dir: Path) -> Path:
    """The run's merged model, merging it first (verified by cockpit.merge) when there is none."""
    from cockpit.merge.source import MergeRefused, resolve_source

    try:
        src = resolve_source(run_dir)
    except MergeRefused as e:
        raise ExportRefused(str(e)) from None
    if (src.out / "config.json").is_file():
        return src.out
    base = Path(src.base)
    if (base / "config.json").is_file():
        supported_architecture(base)  # refuse before spending a merge on a model we cannot export
    print(f"no merged model in {src.out}; merging first", file=sys.stderr, flush=True)
    from cockpit.merge import main as merge_main

    if merge_main(run_dir) != 0:
        raise ExportRefused(f"the merge before the export did not succeed (see {run_dir}/events.jsonl)")
    return src.out


def record_path(target: Path) -> Path:
    """The verification record of one exported file: `NAME.export.json` next to `NAME.gguf` (one per
    file, so a second export into the same folder keeps the first one's)."""
    return target.with_suffix(".export.json")


def _temps(target: Path) -> tuple[Path, Path]:
    pid = os.getpid()
    record = record_path(target)
    return target.parent / f".{target.name}.tmp-{pid}.gguf", record.parent / f".{record.name}.tmp-{pid}"


def _clean_stale_temps(target: Path) -> None:
    """Temporaries of an export to this same file whose process is gone (killed mid-write)."""
    for prefix in (f".{target.name}.tmp-", f".{record_path(target).name}.tmp-"):
        for p in dead_temps(target.parent, prefix, folders=False):
            p.unlink(missing_ok=True)


def _target(model_dir: Path, outtype: str, out: str | None, force: bool) -> Path:
    """The file to write, checked: a .gguf name, not a folder, not there unless --force, writable."""
    target = Path(out) if out else model_dir.parent / "gguf" / f"{model_dir.parent.name}-{outtype}.gguf"
    if target.suffix != ".gguf":
        raise ExportRefused(f"--out {target}: the file name must end in .gguf")
    if target.is_dir():
        raise ExportRefused(f"--out {target} is a folder; give a file name ending in .gguf")
    if os.path.lexists(target) and not force:
        raise ExportRefused(f"{target} already exists (--force replaces it, or --out elsewhere)")
    if os.path.lexists(target) and not target.is_file():
        raise ExportRefused(f"--out {target} is not a regular file; --force replaces only a file")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        _clean_stale_temps(target)
        _temps(target)[0].unlink(missing_ok=True)  # a dead process's with our pid: not ours, but stale
        with open(_temps(target)[0], "xb"):  # claimed now: a place we cannot write in is refused here
            pass
    except OSError as e:
        raise ExportRefused(f"--out {target}: cannot write in {target.parent}: {e.strerror or e}") from None
    return target


def main(run_dir: Path, *, outtype: str = "f16", out: str | None = None, force: bool = False) -> int:
    from cockpit.quiet import quiet_one_off_job

    quiet_one_off_job()
    run_dir = Path(run_dir)
    if outtype not in OUTTYPES:
        print(f"refused: --outtype {outtype}: use one of {', '.join(OUTTYPES)}", file=sys.stderr)
        return 2
    try:
        if (run_dir / "config.json").is_file() and not (run_dir / "config.yaml").is_file():
            model_dir = run_dir  # a merged model folder given directly
        else:
            model_dir = _merged_dir(run_dir)
        supported_architecture(model_dir)
        target = _target(model_dir, outtype, out, force)
    except ExportRefused as e:
        print(f"refused: {e}", file=sys.stderr)
        return 2
    from cockpit.export.gguf_file import write_gguf
    from cockpit.export.verify import VerificationFailed, verify

    t0 = time.time()
    tmp, tmp_json = _temps(target)
    record = record_path(target)
    try:
        written = write_gguf(model_dir, tmp, outtype)
        print(
            f"wrote {written['tensors']} tensors ({outtype}) in {time.time() - t0:.1f}s; verifying",
            file=sys.stderr,
            flush=True,
        )
        try:
            checks = verify(model_dir, tmp, outtype)
        except VerificationFailed as e:
            print(f"export failed verification: {e}\n{json.dumps(e.checks, indent=1)}", file=sys.stderr)
            return 1
        info = {
            "file": str(target),
            "source": str(model_dir),
            "outtype": outtype,
            "bytes": tmp.stat().st_size,
            "written": written,
            "checks": checks,
            "exported_at": time.time(),
            "seconds": round(time.time() - t0, 2),
            "versions": _versions(),
        }
        tmp_json.write_text(json.dumps(info, indent=1))
        os.replace(tmp, target)
        os.replace(tmp_json, record)
    except ExportRefused as e:  # found while writing: a tokenizer or rope scaling the writer does not take
        print(f"refused: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # the disk filled, the folder turned read-only meanwhile: no file, no record
        print(f"export failed: cannot write {target}: {e.strerror or e}", file=sys.stderr)
        return 1
    finally:
        for p in (tmp, tmp_json):
            if p.exists():
                p.unlink()
    print(
        f"exported {target} ({info['bytes'] / 2**20:.1f} MiB, {outtype}): max |logit diff| "
        f"{checks['max_abs_logit_diff']:.3g} (tolerance {checks['tolerance']:g}), greedy generations "
        f"{'match' if checks['generation_match'] else 'differ'}; {record}"
    )
    return 0


def _versions() -> dict[str, str]:
    import importlib.metadata as md

    out = {}
    for p in ("gguf", "transformers", "torch"):
        try:
            out[p] = md.version(p)
        except md.PackageNotFoundError:
            pass
    return out
