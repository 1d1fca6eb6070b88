"""A user's own training scripts (examples/) under `cockpit run -- ...`, steered as a user would with
`cockpit ctl`, on the real libraries and the tiny demo model."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from runhelpers import ROOT, cockpit, events, lock_released, metric_steps, metrics_after, state_is, wait_for

pytestmark = pytest.mark.slow

EXAMPLES = ROOT / "examples"
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def model_dir() -> str:
    from cockpit.demo import ensure_demo_model

    return str(ensure_demo_model())


def data_path() -> str:
    from cockpit.demo import demo_data_path

    return str(demo_data_path())


def start(tmp_path: Path, *command: str) -> Path:
    """`cockpit run --detach -- COMMAND`: the run directory it prints."""
    r = cockpit("run", "--detach", "--runs-dir", str(tmp_path / "runs"), "--", *command, check=True)
    return Path(r.stdout.strip().splitlines()[-1])


def script(name: str, model_dir: str, out: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        str(EXAMPLES / name),
        "--model",
        model_dir,
        "--data",
        data_path(),
        "--output",
        str(out),
        *extra,
    ]


def last_metrics(rd: Path) -> dict:
    return [e for e in events(rd) if e["kind"] == "metrics"][-1]


def ctl_ok(rd: Path, *args: str) -> str:
    r = cockpit("ctl", str(rd), *args, "--timeout", "180", check=True)
    assert r.stdout.startswith("ok:"), r.stdout
    return r.stdout


def test_sft_script_paused_steered_saved_sampled_and_stopped(tmp_path, model_dir):
    """(b) TRL SFTTrainer: pause holds the steps, lr x0.5 halves the next logged lr, save writes a
    checkpoint, sample writes a sample, stop ends the script cleanly with its own adapter saved."""
    out = tmp_path / "out"
    rd = start(tmp_path, *script("sft_trl.py", model_dir, out, "--max-steps", "5000"))
    started = wait_for(rd, lambda e: e["kind"] == "run_started", timeout=300, what="run_started")
    assert started["config"] is None and started["source"] == "script"
    assert started["script"]["trainer"] == "SFTTrainer"
    lora = started["script"]["lora"]
    assert (lora["r"], lora["lora_alpha"], lora["lora_dropout"]) == (8, 16, 0.05)
    assert lora["target_modules"] == ["q_proj", "v_proj"] and lora["base_model"] == model_dir
    assert started["script"]["training_args"]["learning_rate"] == 3e-4
    wait_for(rd, metrics_after(2), timeout=300, what="metrics")
    assert {"loss", "grad_norm", "learning_rate", "entropy", "step_time", "mem_used"} <= set(last_metrics(rd))

    ctl_ok(rd, "pause")
    wait_for(rd, state_is("paused"))
    n = len(metric_steps(rd))
    time.sleep(4)
    assert len(metric_steps(rd)) == n, "steps went on while paused"

    lr_before = last_metrics(rd)["learning_rate"]
    ctl_ok(rd, "lr", "x0.5")
    ctl_ok(rd, "sample")
    sample = wait_for(rd, lambda e: e["kind"] == "sample", what="sample event")
    assert sample["prompt"] and isinstance(sample["completion"], str)
    ctl_ok(rd, "save")
    ck = wait_for(rd, lambda e: e["kind"] == "checkpoint", what="checkpoint event")
    assert (Path(ck["path"]) / "adapter_model.safetensors").exists()
    r = cockpit("ctl", str(rd), "merge", "--timeout", "120")
    assert r.returncode == 1 and "cockpit merge" in r.stdout + r.stderr
    assert len([e for e in events(rd) if e["kind"] == "checkpoint"]) == 1, "a refused merge saved nothing"
    assert len(metric_steps(rd)) == n, "steps went on while paused"

    ctl_ok(rd, "resume")
    nxt = wait_for(rd, metrics_after(max(metric_steps(rd))), what="metrics after resume")
    assert nxt["learning_rate"] == pytest.approx(lr_before * 0.5, rel=1e-6)

    ctl_ok(rd, "stop")
    end = wait_for(rd, state_is("finished", "stopped", "crashed"), timeout=180, what="final state")
    assert end["state"] == "stopped" and end["reason"] == "command"
    assert end["adapter"] == str(out.resolve()) and (out / "adapter_model.safetensors").exists()
    assert lock_released(rd)

    # The commands that read runs take this one as they take ours.
    for args in (("report", str(rd)), ("diagnose", str(rd)), ("ls", str(rd.parent))):
        r = cockpit(*args, timeout=120)
        assert r.returncode in (0, 1), f"cockpit {args}: {r.stdout}\n{r.stderr}"
    assert rd.name in cockpit("ls", str(rd.parent)).stdout


def test_plain_trainer_script_lr_and_sample_live(tmp_path, model_dir):
    """(a) transformers.Trainer + peft, no TRL: lr x0.5 while running halves the next logged lr; a sample
    is generated with the script's tokenizer and its chat template; a SIGTERM stops it cleanly."""
    out = tmp_path / "out"
    rd = start(tmp_path, *script("trainer_plain.py", model_dir, out, "--max-steps", "5000"))
    wait_for(rd, metrics_after(2), timeout=300, what="metrics")
    started = next(e for e in events(rd) if e["kind"] == "run_started")
    assert started["script"]["trainer"] == "Trainer" and started["script"]["tool"] == "transformers"
    ctl_ok(rd, "lr", "x0.5")
    ack = [e for e in events(rd) if e["kind"] == "ack" and e["cmd"] == "scale_lr"][-1]
    nxt = wait_for(rd, lambda e: e["kind"] == "metrics" and e["step"] >= ack["step"], what="metrics after lr")
    assert nxt["learning_rate"] == pytest.approx(3e-4 * 0.5, rel=1e-6)
    ctl_ok(rd, "sample")
    sample = wait_for(rd, lambda e: e["kind"] == "sample", what="sample")
    assert sample["prompt"].startswith(("Give", "Reverse", "Add", "Write", "Name", "Count", "Sort", "Repeat"))
    # A SIGTERM to the run's process (the wrapper, `pid` in run_started) stops as `stop` does.
    os.kill(started["pid"], signal.SIGTERM)
    end = wait_for(rd, state_is("finished", "stopped", "crashed"), timeout=180, what="final state")
    assert (end["state"], end["reason"]) == ("stopped", "sigterm") and (out / "adapter_config.json").exists()


def test_grpo_script_logs_its_rewards(tmp_path, model_dir):
    """(c) TRL GRPOTrainer with a reward function: its own keys (rewards, kl, completion lengths) reach
    events.jsonl, and it finishes with its adapter."""
    out = tmp_path / "out"
    rd = start(tmp_path, *script("grpo_trl.py", model_dir, out, "--max-steps", "3"))
    end = wait_for(rd, state_is("finished", "stopped", "crashed"), timeout=400, what="final state")
    assert end["state"] == "finished", (rd / "trainer.log").read_text()[-2000:]
    m = [e for e in events(rd) if e["kind"] == "metrics"]
    assert [e["step"] for e in m] == [1, 2, 3]
    keys = set(m[-1])
    assert {"reward", "reward_std", "rewards/echoes_the_input/mean", "completions/mean_length"} <= keys, keys
    assert "completions/clipped_ratio" in keys
    assert end["adapter"] == str(out.resolve())


def test_torchrun_two_ranks_act_at_the_same_step(tmp_path, model_dir):
    """(d) `cockpit run -- torchrun --nproc_per_node 2 script.py`: world zero writes one event stream, both
    ranks apply pause, lr and stop at the same step, the script saves its adapter."""
    out = tmp_path / "out"
    torchrun = [str(BIN / "torchrun"), "--standalone", "--nproc_per_node", "2"]
    rd = start(tmp_path, *torchrun, *script("sft_trl.py", model_dir, out, "--max-steps", "5000")[1:])
    started = wait_for(rd, lambda e: e["kind"] == "run_started", timeout=300, what="run_started")
    assert started["world_size"] == 2
    wait_for(rd, metrics_after(2), timeout=300, what="metrics")
    ctl_ok(rd, "pause")
    ctl_ok(rd, "lr", "x0.5")
    ctl_ok(rd, "resume")
    wait_for(rd, metrics_after(max(metric_steps(rd))), what="metrics after resume")
    ctl_ok(rd, "stop")
    end = wait_for(rd, state_is("finished", "stopped", "crashed"), timeout=180, what="final state")
    assert end["state"] == "stopped"
    assert len([e for e in events(rd) if e["kind"] == "run_started"]) == 1
    steps = metric_steps(rd)
    assert steps == sorted(set(steps)), "one metrics stream, strictly increasing"
    log = (rd / "trainer.log").read_text()
    by_rank: dict[int, list[tuple[str, int]]] = {}
    for m in re.finditer(r"\[cockpit rank (\d+)\] applied (\w+).*? at step (\d+)", log):
        by_rank.setdefault(int(m.group(1)), []).append((m.group(2), int(m.group(3))))
    assert [c for c, _ in by_rank[0]] == ["pause", "scale_lr", "resume", "stop"]
    assert by_rank[0] == by_rank[1], by_rank
    assert (out / "adapter_model.safetensors").exists()


def test_a_script_that_raises_ends_crashed_with_its_traceback(tmp_path, model_dir):
    rd = start(
        tmp_path, sys.executable, str(ROOT / "tests" / "scripts" / "raises_at_step.py"), model_dir, str(tmp_path)
    )
    end = wait_for(rd, state_is("finished", "stopped", "crashed"), timeout=300, what="final state")
    assert end["state"] == "crashed"
    assert end["reason"] == "RuntimeError: the user's own code broke at step 3"
    err = [e for e in events(rd) if e["kind"] == "error"][-1]
    assert err["traceback"].startswith("Traceback (most recent call last):")
    assert "raises_at_step.py" in err["traceback"] and err["step"] == 2  # the last logged step
    assert lock_released(rd)


def test_callback_in_the_script_without_cockpit_run(tmp_path, model_dir):
    """`callbacks=[CockpitCallback()]` in a script started by hand: it makes its run directory under
    ./runs, writes the events and ends the run itself."""
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "COCKPIT_SYSTEM_EVERY": "0"}
    r = subprocess.run(
        script("trainer_plain.py", model_dir, out, "--max-steps", "3", "--cockpit"),
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    (rd,) = list((tmp_path / "runs").iterdir())
    assert f"[cockpit] run directory: {rd}" in r.stderr
    evs = events(rd)
    assert [e["step"] for e in evs if e["kind"] == "metrics"] == [1, 2, 3]
    # The same system events as our trainer's (a reading at every logged step here), and what ran it.
    system = [e for e in evs if e["kind"] == "system"]
    assert [e["step"] for e in system] == [1, 2, 3] and all(e["rss"] > 0 and e["disk_free"] > 0 for e in system)
    started = next(e for e in evs if e["kind"] == "run_started")
    assert started["python"] and "torch" in started["versions"] and started["command"][1].endswith("trainer_plain.py")
    assert evs[-1]["kind"] == "state" and evs[-1]["state"] == "finished"
    assert lock_released(rd)
