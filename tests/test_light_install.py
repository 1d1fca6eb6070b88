"""The base install, for people who only watch: a fresh venv with `pip install lora-cockpit` (no extras)
has none of the trainer's packages, and diagnose, report and replay work in it on a real log; the trainer's
commands say which extra to install.

Builds the venv from this checkout (the package registry must be reachable, as it is in CI): ~1 minute."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
LOG = ROOT / "tests" / "fixtures" / "real-logs" / "04_vendor-comp-classifier.json"
TRAIN_ONLY = (
    "torch",
    "transformers",
    "peft",
    "trl",
    "bitsandbytes",
    "datasets",
    "accelerate",
    "safetensors",
    "tokenizers",
    "gguf",
)


@pytest.fixture(scope="module")
def base_venv(tmp_path_factory) -> Path:
    # From a copy of the package's sources: pip builds in the source tree, and a build/ left in the
    # checkout from an older layout would put stale modules into the wheel.
    src = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "cockpit", src / "cockpit", ignore=shutil.ignore_patterns("__pycache__"))
    venv = tmp_path_factory.mktemp("base-venv")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    r = subprocess.run(
        [str(venv / "bin" / "pip"), "install", "-q", str(src)], capture_output=True, text=True, env=clean_env()
    )
    assert r.returncode == 0, r.stderr[-3000:]
    return venv


def clean_env() -> dict[str, str]:
    """This interpreter's environment without what would let the venv see the full install's packages."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}


def cockpit(venv: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(venv / "bin" / "cockpit"), *args], capture_output=True, text=True, cwd=cwd, env=clean_env(), timeout=120
    )


def test_the_base_install_has_none_of_the_trainers_packages(base_venv, tmp_path):
    code = f"import importlib.util as u; print([m for m in {TRAIN_ONLY!r} if u.find_spec(m)])"
    r = subprocess.run(
        [str(base_venv / "bin" / "python"), "-c", code],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=clean_env(),
        check=True,
    )
    assert r.stdout.strip() == "[]"


def test_diagnose_and_report_on_a_real_log(base_venv, tmp_path):
    r = cockpit(base_venv, "diagnose", "--json", str(LOG), cwd=tmp_path)
    assert r.returncode == 3, r.stderr  # the log's grad_norm 60 at step 20 is critical
    # The same reading as the full install's, byte for byte.
    full = subprocess.run(
        [sys.executable, "-m", "cockpit.cli", "diagnose", "--json", str(LOG)], capture_output=True, text=True, cwd=ROOT
    )
    assert r.stdout == full.stdout and '"grad_norm_explosion"' in r.stdout

    r = cockpit(base_venv, "report", str(LOG), "--out", str(tmp_path / "report.html"), cwd=tmp_path)
    assert r.returncode in (0, 3), r.stderr
    assert "report.html" in r.stdout and "<svg" in (tmp_path / "report.html").read_text()


def test_the_trainers_commands_name_the_extra(base_venv, tmp_path):
    cfg = ROOT / "sample_configs" / "demo-tiny.yaml"
    for args in (
        ("run", str(cfg)),
        ("demo",),
        ("resume", str(tmp_path)),
        ("sweep", str(cfg)),
        ("merge", str(tmp_path)),
        ("export", "--gguf", str(tmp_path)),
    ):
        r = cockpit(base_venv, *args, cwd=tmp_path)
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        assert "needs the [train] extra" in r.stderr and "pip install 'lora-cockpit[train]'" in r.stderr, args
        assert "Traceback" not in r.stderr
    assert not (tmp_path / "runs").exists()  # refused before anything was started or written


@pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")
def test_replay_in_a_real_terminal(base_venv, tmp_path):
    tmux = ["tmux", "-L", f"cockpit-light-{os.getpid()}", "-f", "/dev/null"]
    done = tmp_path / "exit-code"
    cmd = f"{base_venv / 'bin' / 'cockpit'} replay {LOG}; echo $? > {done}"
    subprocess.run(
        [*tmux, "new-session", "-d", "-s", "replay", "-x", "160", "-y", "48", "-c", str(tmp_path), cmd],
        check=True,
        env=clean_env(),
    )
    try:
        screen = ""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and "cursor 100/100" not in screen:
            time.sleep(0.3)
            screen = subprocess.run(
                [*tmux, "capture-pane", "-p", "-t", "replay"], capture_output=True, text=True
            ).stdout
        assert "REPLAY" in screen and "cursor 100/100" in screen and "grad_norm" in screen, screen
        subprocess.run([*tmux, "send-keys", "-t", "replay", "q"], check=True)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not done.exists():
            time.sleep(0.2)
        assert done.read_text().strip() == "0"
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True)
