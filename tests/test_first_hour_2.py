"""The first hour, second round (#37): what a newcomer meets right after `make demo`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

VENV_BIN = Path(sys.executable).parent


def _cockpit_command(path_env: str) -> str:
    code = "from cockpit.invocation import cockpit_command; print(cockpit_command())"
    env = {**os.environ, "PATH": path_env}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return out.stdout.strip()


def test_a_copied_command_names_the_venvs_cockpit_when_the_venv_is_not_on_path():
    # After `make demo` the shell's PATH lacks .venv/bin: a bare `cockpit attach` is "command not found".
    if not (VENV_BIN / "cockpit").exists():
        pytest.skip("no installed cockpit script beside this python")
    shown = _cockpit_command("/usr/bin:/bin")
    assert shown != "cockpit"
    assert Path(shown).resolve() == (VENV_BIN / "cockpit").resolve()


def test_a_copied_command_is_the_bare_name_when_the_shell_finds_this_cockpit():
    if not (VENV_BIN / "cockpit").exists():
        pytest.skip("no installed cockpit script beside this python")
    assert _cockpit_command(f"{VENV_BIN}:/usr/bin:/bin") == "cockpit"
