"""Wheels for bench/gpu_check.py on a GPU machine that reaches no package index (the lent H100/H200).

    .venv/bin/python bench/gpu_bundle.py            # writes .gpu-wheels/ (ignored by git), ~25 MiB

Run it here, with the project's venv: it takes the versions installed here, the ones the tests pass with.
What it carries is the closure of lora-cockpit's requirements with the [train] extra, less what the GPU
machine's python3 already has and the project can use as it is (BRINGS_ITS_OWN: torch and its CUDA
libraries, the scientific stack, the tokenizer and safetensors builds). Each wheel is for CPython 3.12 on
manylinux x86_64, the GPU image's python3 (/work/.library/device/KINDS.md).

bitsandbytes ships one 4-26 MB library per CUDA/ROCm/XPU version (125 MiB installed); its wheel is
rewritten with the CPU library and the CUDA 13.x ones only, the CUDA the GPU machine's torch is built for
(2.11.0+cu130), which keeps the whole bundle inside the device tool's 64 MiB.

On the GPU machine (the device tool carries `.gpu-wheels`):

    python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .gpu-wheels/*.whl
"""

from __future__ import annotations

import argparse
import importlib.metadata as md
import re
import subprocess
import sys
import zipfile
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]

BRINGS_ITS_OWN = {
    # torch and what it pulls in: the GPU machine's CUDA build is the point
    "torch",
    "triton",
    "sympy",
    "mpmath",
    "networkx",
    "jinja2",
    "markupsafe",
    "filelock",
    "fsspec",
    "setuptools",
    # compiled and large, on the GPU image (KINDS.md's package list) at versions the project takes
    "numpy",
    "pandas",
    "pyarrow",
    "tokenizers",
    "safetensors",
    "regex",
    "hf-xet",
    "xxhash",
    "pyyaml",
    "psutil",
    "nvidia-ml-py",
    # plain and present there
    "requests",
    "urllib3",
    "idna",
    "certifi",
    "charset-normalizer",
    "tqdm",
    "packaging",
    "python-dateutil",
    "six",
    "tzdata",
    "pytz",
    "pygments",
    "markdown-it-py",
    "mdurl",
    "anyio",
    "h11",
    "httpcore",
    "httpx",
    "sniffio",
}
KEEP_BNB = re.compile(r"libbitsandbytes_(cpu|cuda13\d)\.so$")
ENV = {
    "python_version": "3.12",
    "python_full_version": "3.12.3",
    "sys_platform": "linux",
    "platform_system": "Linux",
    "platform_machine": "x86_64",
    "os_name": "posix",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
}
PLATFORMS = [f"manylinux_2_{n}_x86_64" for n in (17, 24, 27, 28, 31, 34, 35)] + ["manylinux2014_x86_64"]


def closure(root: str = "lora-cockpit", extras: tuple[str, ...] = ("train",)) -> dict[str, str]:
    """name -> version installed here, for every requirement reached from root[extras] on the GPU image."""
    seen: dict[str, str] = {}
    todo = [(root, extras)]
    while todo:
        name, ex = todo.pop()
        dist = md.distribution(name)
        for line in dist.requires or []:
            req = Requirement(line)
            if req.marker and not any(req.marker.evaluate({**ENV, "extra": e}) for e in (*ex, "")):
                continue
            key = canonicalize_name(req.name)
            if key in seen or key in BRINGS_ITS_OWN or key.startswith(("nvidia-", "cuda-")):
                continue
            try:
                seen[key] = md.version(req.name)
            except md.PackageNotFoundError:
                continue  # not installed here: not needed by what the project runs
            todo.append((req.name, tuple(req.extras)))
    seen.pop(canonicalize_name(root), None)
    return seen


def download(pins: dict[str, str], dest: Path) -> None:
    args = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:", "-d", str(dest)]
    args += ["--python-version", "3.12", "--implementation", "cp", "--abi", "cp312", "--abi", "abi3", "--abi", "none"]
    for p in PLATFORMS:
        args += ["--platform", p]
    subprocess.run(args + [f"{k}=={v}" for k, v in sorted(pins.items())], check=True)


def slim_bitsandbytes(wheel: Path) -> None:
    """Rewrite the wheel without the libraries of other CUDA/ROCm/XPU versions; RECORD follows."""
    out = wheel.with_suffix(".slim")
    with zipfile.ZipFile(wheel) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        dropped = {i.filename for i in src.infolist() if i.filename.endswith(".so") and not KEEP_BNB.search(i.filename)}
        for info in src.infolist():
            if info.filename in dropped:
                continue
            data = src.read(info.filename)
            if info.filename.endswith(".dist-info/RECORD"):
                rows = [r for r in data.decode().splitlines() if r.split(",")[0] not in dropped]
                data = ("\n".join(rows) + "\n").encode()
            dst.writestr(info, data)
    out.replace(wheel)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dest", default=str(ROOT / ".gpu-wheels"))
    ap.add_argument("--limit-mib", type=float, default=56.0, help="refuse a bundle over this (the tree needs ~6)")
    a = ap.parse_args()
    dest = Path(a.dest)
    dest.mkdir(parents=True, exist_ok=True)
    for old in dest.glob("*.whl"):
        old.unlink()
    pins = closure()
    print("carrying: " + ", ".join(f"{k}=={v}" for k, v in sorted(pins.items())))
    download(pins, dest)
    for w in dest.glob("bitsandbytes-*.whl"):
        slim_bitsandbytes(w)
    total = sum(w.stat().st_size for w in dest.glob("*.whl"))
    print(f"{len(list(dest.glob('*.whl')))} wheels, {total / 2**20:.1f} MiB in {dest}")
    if total > a.limit_mib * 2**20:
        print(f"error: over {a.limit_mib} MiB: the device tool carries 64 MiB with the tree", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
