"""Dotted-key config patches: `--set`, the advisor's patches, and the next config the cockpit writes."""

from __future__ import annotations

import os

import pytest

from cockpit.config import ConfigError, RunConfig, apply_patch, load_config, write_next_config
from cockpit.config.patches import set_override
from cockpit.config_patch import PatchError


def test_apply_patch_makes_sections_and_keeps_typed_values():
    data = apply_patch(
        {"lora": {"r": 8}},
        {"lora.lora_dropout": 0.1, "training.learning_rate": 1e-4, "lora.target_modules": ["q_proj", "k_proj"]},
    )
    assert data == {
        "lora": {"r": 8, "lora_dropout": 0.1, "target_modules": ["q_proj", "k_proj"]},
        "training": {"learning_rate": 1e-4},
    }


def test_a_value_on_the_way_is_not_a_section():
    with pytest.raises(PatchError, match=r"lora\.r\.x: 'r' is not a section"):
        apply_patch({"lora": {"r": 8}}, {"lora.r.x": 1})
    with pytest.raises(ConfigError, match=r"--set lora\.r\.x: 'r' is not a section"):
        set_override({"lora": {"r": 8}}, "lora.r.x", "1")


def test_next_config_is_validated_before_it_is_written(tmp_path):
    (tmp_path / "config.yaml").write_text(RunConfig().to_yaml())
    with pytest.raises(Exception, match="lora_dropout"):
        write_next_config(tmp_path, {"lora.lora_dropout": 2.0})
    assert not (tmp_path / "next-config.yaml").exists()
    p = write_next_config(tmp_path, {"lora.lora_dropout": 0.1})
    assert p.read_text().startswith(
        f"# Next run, from the advisor's reading of {tmp_path.name}: --set lora.lora_dropout=0.1\n"
    )
    assert load_config(p, check_paths=False).lora.lora_dropout == 0.1


async def test_the_cockpit_writes_the_next_config_when_asked(tmp_path):
    from cockpit.tui.app import CockpitApp
    from cockpit.tui.sources import LiveSource
    from tuihelpers import T0, write_run

    rd = write_run(tmp_path / "r", pid=os.getpid())  # a grad_norm spike: next is a lower lora_alpha (a new run)
    app = CockpitApp(LiveSource(rd.path, poll=0.02), run_dir=rd.path, clock=lambda: T0 + 100)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause(0.5)
        await pilot.press("a")
        await pilot.pause(0.1)
        await pilot.press("y")
        await pilot.pause(0.2)
    cfg = load_config(rd.path / "next-config.yaml", check_paths=False)
    assert cfg.lora.lora_alpha == 8
