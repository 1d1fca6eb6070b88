"""`cockpit run -- COMMAND` without training: the wrapper, the final state from the exit, the startup
hook, and the refusals (no torch needed except for the hook's own test)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cockpit.own.settings import SettingsError, guards_from_env, script_settings
from cockpit.own.wrapper import HOOK_DIR, child_env
from cockpit.rundir import RunDir
from runhelpers import cockpit, events, lock_released, state_is, wait_for


def start(tmp_path: Path, *command: str) -> Path:
    r = cockpit("run", "--detach", "--runs-dir", str(tmp_path / "runs"), "--", *command, check=True)
    return Path(r.stdout.strip().splitlines()[-1])


def final(rd: Path) -> dict:
    return wait_for(rd, state_is("finished", "stopped", "crashed"), timeout=60, what="final state")


def test_a_command_that_never_trains_finishes_saying_so(tmp_path):
    rd = start(tmp_path, sys.executable, "-c", "print('hello')")
    assert rd.name.startswith("python-")
    end = final(rd)
    assert end["state"] == "finished" and "no Trainer" in end["reason"]
    assert "hello" in (rd / "trainer.log").read_text()
    assert lock_released(rd) and not (rd / "config.yaml").exists()


def test_an_exit_code_or_an_exception_is_a_crash_with_its_traceback(tmp_path):
    rd = start(tmp_path, sys.executable, "-c", "import sys; sys.exit(3)")
    end = final(rd)
    assert (end["state"], end["reason"]) == ("crashed", "the command exited with code 3")
    rd = start(tmp_path, sys.executable, "-c", "def f():\n    raise ValueError('bad row 7')\nf()")
    end = final(rd)
    assert (end["state"], end["reason"]) == ("crashed", "ValueError: bad row 7")
    err = next(e for e in events(rd) if e["kind"] == "error")
    assert err["traceback"].startswith("Traceback (most recent call last):") and "in f" in err["traceback"]


def test_refusals_before_anything_starts(tmp_path):
    r = cockpit("run", "--runs-dir", str(tmp_path / "runs"), "--", "no-such-trainer-cmd", "x.yaml")
    assert r.returncode == 2 and "command not found: no-such-trainer-cmd" in r.stderr
    r = cockpit("run", "--set", "training.max_steps=3", "--", sys.executable, "train.py")
    assert r.returncode == 2 and "--set changes a config of ours" in r.stderr
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    r = cockpit("run", "--run-dir", str(busy), "--", sys.executable, "train.py")
    assert r.returncode == 2 and "is not empty" in r.stderr
    assert not (tmp_path / "runs").exists() and sorted(os.listdir(busy)) == ["notes.txt"]


def test_guard_settings_name_what_is_wrong():
    assert guards_from_env("on_explosion=warn, on_loss_jump=off") == {"on_explosion": "warn", "on_loss_jump": "off"}
    with pytest.raises(SettingsError, match="COCKPIT_GUARDS: 'oops' is not KEY=VALUE"):
        guards_from_env("oops")
    with pytest.raises(SettingsError, match="CockpitCallback guards.on_explosion"):
        script_settings({}, {}, {}, env={"COCKPIT_GUARDS": "on_explosion=sometimes"})
    s = script_settings({"on_loss_jump": "warn"}, {}, {"every": 5}, env={"COCKPIT_SAMPLE_PROMPTS": '["hi"]'})
    assert (s.guards.on_loss_jump, s.guards.on_explosion, s.samples.every, s.samples.prompts) == (
        "warn",
        "stop",
        5,
        ["hi"],
    )


@pytest.mark.slow
def test_the_startup_hook_patches_the_trainer_only_when_on(tmp_path):
    rd = RunDir(tmp_path / "r")
    code = "import transformers.trainer as t; print(getattr(t.Trainer.__init__, '_cockpit_hooked', False))"
    env = child_env(rd, ["x"], base={**os.environ, "PYTHONPATH": ""})
    assert env["PYTHONPATH"].split(os.pathsep)[0] == str(HOOK_DIR)
    on = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert on.stdout.strip() == "True", on.stderr
    off = subprocess.run(
        [sys.executable, "-c", code], env={**env, "COCKPIT_AUTOHOOK": "0"}, capture_output=True, text=True, timeout=120
    )
    assert off.stdout.strip() == "False", off.stderr


def test_importing_the_callback_costs_no_ml_stack_and_no_ui():
    code = (
        "import sys, time; t = time.perf_counter(); from cockpit.callback import CockpitCallback; "
        "dt = time.perf_counter() - t; CockpitCallback(); "
        "print(sorted(m for m in ('torch', 'transformers', 'trl', 'peft', 'textual', 'pydantic', 'yaml') "
        "if m in sys.modules), round(dt, 3))"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    heavy, _seconds = r.stdout.split("]")
    assert heavy == "[", f"imported: {heavy}]"


def test_one_callback_serves_a_trainer_the_scripts_own_before_the_hooks():
    from types import SimpleNamespace

    from cockpit.callback import CockpitCallback
    from cockpit.own.session import _serves

    mine, hooked = CockpitCallback(), CockpitCallback()
    hooked.auto = True
    trainer = SimpleNamespace(callback_handler=SimpleNamespace(callbacks=[hooked, mine]))
    assert _serves(mine, trainer) and not _serves(hooked, trainer)
    trainer.callback_handler.callbacks = [hooked]
    assert _serves(hooked, trainer)
