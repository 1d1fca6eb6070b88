"""Merge: LoRA and QLoRA adapters of the tiny model, verification, refusals, an interrupted merge,
the merged folder loading with plain transformers, and `m` during a live run (ctl merge)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from runhelpers import cockpit, demo_yaml, events, metric_steps, state_is, wait_for

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A finished LoRA run of the tiny demo model (a few steps)."""
    tmp = tmp_path_factory.mktemp("merge-lora")
    cfg = demo_yaml(tmp, training__max_steps=6, training__save_steps=3, samples__every=0)
    r = cockpit("run", str(cfg), "--headless", "--runs-dir", str(tmp / "runs"), timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    return next((tmp / "runs").iterdir())


def merge(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "cockpit.cli", "merge", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )


def test_merge_lora_verified_and_loads_with_plain_transformers(trained):
    r = merge(trained)
    assert r.returncode == 0, r.stdout + r.stderr
    # #37 item 13: no library noise that makes a good merge look failed
    for noise in ("FutureWarning", "Loading weights", "Writing model shards", "kernels-community"):
        assert noise not in r.stdout + r.stderr, noise
    out = trained / "merged"
    info = json.loads((out / "merge.json").read_text())
    assert info["checks"]["generation_match"] and info["checks"]["max_abs_logit_diff"] <= 1e-3
    assert (out / "model.safetensors").exists() and not list(trained.glob(".merged.tmp-*"))
    kinds = [e["status"] for e in events(trained) if e["kind"] == "merge"]
    assert kinds[0] == "started" and kinds[-1] == "done"

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(out)
    tok = AutoTokenizer.from_pretrained(out)
    assert not any("lora" in n for n, _ in model.named_parameters())
    enc = tok("Reverse the word.\nstorm", return_tensors="pt")
    with torch.no_grad():
        g = model.generate(**enc, max_new_tokens=5, do_sample=False, pad_token_id=tok.pad_token_id)
    assert g.shape[1] > enc["input_ids"].shape[1]

    # The same merge again (as after `cockpit export`, which merged first): said done, once, exit 0.
    r = merge(trained)
    assert r.returncode == 0 and "already holds this adapter's verified merge" in r.stdout and not r.stderr
    # Another dtype over it: refused, said once; bf16 with --force works and records a looser tolerance.
    r = merge(trained, "--dtype", "bf16")
    assert r.returncode == 2 and r.stderr.count("already exists") == 1 and "already exists" not in r.stdout
    r = merge(trained, "--dtype", "bf16", "--force", "--checkpoint", "3")
    assert r.returncode == 0, r.stderr
    assert json.loads((out / "merge.json").read_text())["dtype"] == "bf16"


def test_refusals_missing_adapter_no_room_mismatch(trained, tmp_path):
    r = merge(trained, "--checkpoint", "999")
    assert r.returncode == 2 and "does not exist" in r.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    r = merge(empty)
    assert r.returncode == 2 and "adapter_config.json is missing" in r.stderr
    r = merge(trained, "--out", tmp_path / "o", env={**os.environ, "COCKPIT_MERGE_FAKE_FREE_BYTES": "1000"})
    assert r.returncode == 2 and "not enough disk space" in r.stderr and not (tmp_path / "o").exists()
    # An adapter whose target modules the base lacks.
    bad = tmp_path / "bad-adapter"
    import shutil

    shutil.copytree(trained / "adapter", bad)
    cfg = json.loads((bad / "adapter_config.json").read_text())
    cfg["target_modules"] = ["no_such_proj"]
    (bad / "adapter_config.json").write_text(json.dumps(cfg))
    r = merge(bad, "--out", tmp_path / "o2")
    assert r.returncode == 2 and "does not match the base" in r.stderr and not (tmp_path / "o2").exists()


def test_nan_adapter_fails_verification(trained, tmp_path):
    import shutil

    from safetensors.torch import load_file, save_file

    bad = tmp_path / "nan-adapter"
    shutil.copytree(trained / "adapter", bad)
    t = load_file(str(bad / "adapter_model.safetensors"))
    k = next(iter(t))
    t[k][0, 0] = float("nan")
    save_file(t, str(bad / "adapter_model.safetensors"))
    r = merge(bad, "--out", tmp_path / "o")
    assert r.returncode == 1 and "NaN/inf" in r.stderr and not (tmp_path / "o").exists()


def test_killed_merge_leaves_no_output(trained, tmp_path):
    out = tmp_path / "killed"
    p = subprocess.Popen(
        [sys.executable, "-m", "cockpit.merge", str(trained), "--out", str(out)],
        env={**os.environ, "COCKPIT_MERGE_PAUSE_BEFORE_RENAME": "60"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not list(tmp_path.glob(".killed.tmp-*")) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert list(tmp_path.glob(".killed.tmp-*")), "the merge never started writing"
    p.send_signal(signal.SIGKILL)
    p.wait()
    assert not out.exists()
    r = merge(trained, "--out", out)  # the next merge cleans the dead temp folder and succeeds
    assert r.returncode == 0 and out.exists() and not list(tmp_path.glob(".killed.tmp-*"))


def test_merge_qlora_run(tmp_path):
    cfg = demo_yaml(tmp_path, training__max_steps=4, samples__every=0, model__quantization="4bit")
    r = cockpit("run", str(cfg), "--headless", "--runs-dir", str(tmp_path / "runs"), timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    rd = next((tmp_path / "runs").iterdir())
    r = merge(rd)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "reloaded unquantized" in r.stdout
    assert json.loads((rd / "merged" / "merge.json").read_text())["quantization_note"]


def test_merge_from_the_cockpit_key_while_training_continues(tmp_path):
    cfg = demo_yaml(tmp_path, training__max_steps=5000, training__save_steps=0, samples__every=0)
    r = cockpit("run", str(cfg), "--detach", "--runs-dir", str(tmp_path / "runs"), check=True)
    rd = Path(r.stdout.strip().splitlines()[-1])
    wait_for(rd, lambda e: e["kind"] == "metrics" and e["step"] > 2)
    r = cockpit("ctl", str(rd), "merge", check=True)
    assert "merging" in r.stdout
    done = wait_for(rd, lambda e: e["kind"] == "merge" and e["status"] in ("done", "failed"), timeout=180)
    assert done["status"] == "done", done
    at = max(metric_steps(rd))
    wait_for(rd, lambda e: e["kind"] == "metrics" and e["step"] > at + 2, what="training continued")
    assert (rd / "merged" / "merge.json").exists()
    cockpit("ctl", str(rd), "stop", check=True)
    wait_for(rd, state_is("stopped"))


async def test_m_on_a_run_that_is_over_merges_it_from_the_cockpit(tmp_path):
    """`m` sent a command to the trainer, so on a finished run it was greyed ("the run is over") and the
    user had to know `cockpit merge`. Now the cockpit starts the merge itself and its events show."""
    from cockpit.tui.app import CockpitApp
    from cockpit.tui.sources import LiveSource

    cfg = demo_yaml(tmp_path, training__max_steps=4, training__save_steps=0, samples__every=0)
    r = cockpit("run", str(cfg), "--headless", "--runs-dir", str(tmp_path / "runs"), timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    rd = next((tmp_path / "runs").iterdir())
    app = CockpitApp(LiveSource(rd, poll=0.05), run_dir=rd)
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(100):
            await pilot.pause(0.05)
            if app.screen.state == "finished":
                break
        scr = app.screen
        assert scr.check_action("merge", ()) is True and scr.check_action("pause", ()) is False
        assert scr.why_not("pause") == "the run is over (finished)"
        await pilot.press("m")
        await pilot.pause(0.3)
        assert getattr(app.screen, "title_text", None) == "Merge the adapter?" and "adapter" in app.screen.body
        await pilot.press("y")
        done = wait_for(rd, lambda e: e["kind"] == "merge" and e["status"] in ("done", "failed"), timeout=180)
        assert done["status"] == "done", done
        for _ in range(60):  # the event log follows the merge (the run's events are still tailed)
            await pilot.pause(0.1)
            if any("merge done" in str(line) for line in scr.event_log.lines):
                break
        assert any("merge done" in str(line) for line in scr.event_log.lines)
    assert (rd / "merged" / "merge.json").is_file() and (rd / "merge.log").is_file()


def test_force_replaces_only_an_earlier_merge_output(trained, tmp_path):
    """`--force` renamed any --out aside and deleted it: the run itself, the folder of runs above it, a
    folder with other files. Now it replaces only a folder its own merge.json lists whole."""
    import shutil

    kept = sorted(p.name for p in trained.iterdir())
    r = merge(trained, "--out", trained, "--force")
    assert r.returncode == 2 and "is the run directory" in r.stderr, r.stderr
    stray = trained.parent / "notes.txt"
    stray.write_text("mine")
    r = merge(trained, "--out", trained.parent, "--force")
    assert r.returncode == 2 and "holds the run directory" in r.stderr, r.stderr
    assert stray.read_text() == "mine" and sorted(p.name for p in trained.iterdir()) == kept
    assert (trained / "events.jsonl").stat().st_size > 0 and (trained / "adapter" / "adapter_config.json").is_file()

    # the base model (a copy: the adapter folder names it as its base)
    from cockpit.demo import resolve_model_path

    base = tmp_path / "base"
    shutil.copytree(resolve_model_path("demo:tiny-llama"), base)
    adapter = tmp_path / "adapter"
    shutil.copytree(trained / "adapter", adapter)
    acfg = json.loads((adapter / "adapter_config.json").read_text())
    acfg["base_model_name_or_path"] = str(base)
    (adapter / "adapter_config.json").write_text(json.dumps(acfg))
    base_files = sorted(p.name for p in base.iterdir())
    r = merge(adapter, "--out", base, "--force")
    assert r.returncode == 2 and "is the base model" in r.stderr, r.stderr
    assert sorted(p.name for p in base.iterdir()) == base_files

    # a folder that no merge wrote, and an earlier output someone put a file into
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "data.jsonl").write_text("{}\n")
    r = merge(trained, "--out", plain, "--force")
    assert r.returncode == 2 and "not the output of an earlier merge" in r.stderr and (plain / "data.jsonl").exists()
    out = tmp_path / "m"
    assert merge(trained, "--out", out).returncode == 0
    assert "model.safetensors" in json.loads((out / "merge.json").read_text())["files"]
    (out / "README.md").write_text("notes")
    r = merge(trained, "--out", out, "--force")
    assert r.returncode == 2 and "holds files no merge wrote (README.md)" in r.stderr and (out / "README.md").exists()
    (out / "README.md").unlink()
    r = merge(trained, "--out", out, "--force", "--dtype", "bf16")
    assert r.returncode == 0, r.stderr
    assert json.loads((out / "merge.json").read_text())["dtype"] == "bf16"
