"""Layers: the engine never imports textual; the UI, --help, replay and diagnose never import torch."""

from __future__ import annotations

import subprocess
import sys
import time

HEAVY = ("torch", "transformers", "peft", "trl", "bitsandbytes", "datasets")


def modules_after(code: str) -> set[str]:
    out = (
        subprocess.run(
            [sys.executable, "-c", code + "\nimport sys; print(','.join(sorted(sys.modules)))"],
            capture_output=True,
            text=True,
            check=True,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    return set(out.split(","))


def test_ui_and_cli_never_import_heavy_libraries():
    mods = modules_after(
        "import cockpit.cli, cockpit.tui.app, cockpit.tui.launch, cockpit.tui.sweep_app, "
        "cockpit.advisor.diagnose, cockpit.logs.loaded, cockpit.control, cockpit.launch, cockpit.sweep"
    )
    assert not (mods & set(HEAVY)), mods & set(HEAVY)


def test_readers_never_import_pydantic():
    # Reading a log (diagnose, report, the replay cockpit) must not pay ~0.2 s for the config schema.
    mods = modules_after(
        "import cockpit.advisor.diagnose, cockpit.report.model, cockpit.report.text, "
        "cockpit.tui.app, cockpit.logs.loaded, cockpit.logs.preload"
    )
    assert not {m for m in mods if m == "pydantic" or m.startswith("pydantic.")}
    assert "yaml" not in mods


def test_engine_never_imports_textual():
    # The trainer's own modules import torch (that is their job) but never the UI.
    mods = modules_after(
        "import cockpit.advisor, cockpit.advisor.guards, cockpit.rundir, cockpit.config, "
        "cockpit.trainer.commands, cockpit.trainer.dist, cockpit.headless"
    )
    assert "textual" not in mods
    mods = modules_after("import cockpit.trainer.callbacks, cockpit.trainer.main, cockpit.trainer.build")
    assert "textual" not in mods


def test_no_module_level_heavy_imports_in_tui_sources():
    import pathlib
    import re

    root = pathlib.Path(__file__).resolve().parents[1] / "cockpit" / "tui"
    pat = re.compile(r"^\s*(import|from)\s+(torch|transformers|peft|trl|bitsandbytes)\b", re.M)
    assert not [p for p in root.rglob("*.py") if pat.search(p.read_text())]


def test_help_is_fast():
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "cockpit.cli", "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "LoRA" in r.stdout
    # Not a benchmark (bench/ has those): a guard against an accidental torch import on this path.
    assert time.perf_counter() - t0 < 5
