"""`make install TORCH_SPEC=` on a GPU box keeps the CUDA torch the system Python has (README, set-up)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def planned(*args: str) -> list[str]:
    """The commands `make install` would run (-n: none is run; -B: as on a fresh checkout)."""
    r = subprocess.run(["make", "-n", "-B", "install", *args], cwd=ROOT, capture_output=True, text=True, check=True)
    return r.stdout.splitlines()


@pytest.mark.skipif(shutil.which("make") is None, reason="no make here")
def test_an_empty_torch_spec_makes_a_venv_that_sees_the_system_torch_and_installs_none():
    venv = next(line for line in planned("TORCH_SPEC=") if " -m venv " in line)
    assert "--system-site-packages" in venv
    assert not any('pip install -q "torch' in line for line in planned("TORCH_SPEC="))


@pytest.mark.skipif(shutil.which("make") is None, reason="no make here")
def test_the_default_install_is_an_isolated_venv_with_the_cpu_torch_pinned():
    lines = planned()
    venv = next(line for line in lines if " -m venv " in line)
    assert "--system-site-packages" not in venv
    assert any('pip install -q "torch==' in line for line in lines)
