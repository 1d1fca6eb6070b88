"""Two processes through torchrun (gloo on the CPU), steered from one control file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from runhelpers import cockpit, demo_yaml, events, metric_steps, metrics_after, state_is, wait_for

pytestmark = pytest.mark.slow


def applied(run_dir: Path) -> dict[int, list[tuple[str, int]]]:
    """What each rank says it applied, from trainer.log: rank -> [(command, step)]."""
    out: dict[int, list[tuple[str, int]]] = {}
    for m in re.finditer(
        r"\[cockpit rank (\d+)\] applied (\w+).*? at step (\d+)", (run_dir / "trainer.log").read_text()
    ):
        out.setdefault(int(m.group(1)), []).append((m.group(2), int(m.group(3))))
    return out


def test_two_ranks_pause_lr_stop_at_the_same_step(tmp_path):
    cfg = demo_yaml(
        tmp_path, training__max_steps=5000, training__save_steps=0, samples__every=0, launch__num_processes=2
    )
    r = cockpit("run", str(cfg), "--detach", "--runs-dir", str(tmp_path / "runs"), check=True)
    rd = Path(r.stdout.strip().splitlines()[-1])
    started = wait_for(rd, lambda e: e["kind"] == "run_started", timeout=180)
    assert started["world_size"] == 2
    wait_for(rd, metrics_after(3))

    cockpit("ctl", str(rd), "pause", check=True)
    cockpit("ctl", str(rd), "lr", "x0.5", check=True)
    cockpit("ctl", str(rd), "resume", check=True)
    wait_for(rd, metrics_after(max(metric_steps(rd))))
    cockpit("ctl", str(rd), "stop", check=True)
    wait_for(rd, state_is("stopped", "crashed"), timeout=120)

    evs = events(rd)
    assert evs[-1]["kind"] == "state" and evs[-1]["state"] == "stopped"
    steps = metric_steps(rd)
    assert steps == sorted(set(steps)), "one metrics stream, strictly increasing"
    m = [e for e in evs if e["kind"] == "metrics"]
    assert len(m[-1].get("mem_per_rank", [])) == 2
    by_rank = applied(rd)
    assert set(by_rank) == {0, 1}
    assert [c for c, _ in by_rank[0]] == ["pause", "scale_lr", "resume", "stop"]
    assert by_rank[0] == by_rank[1], f"ranks applied commands at different steps: {by_rank}"
    assert (rd / "adapter" / "adapter_model.safetensors").exists()
    assert len([e for e in evs if e["kind"] == "run_started"]) == 1
