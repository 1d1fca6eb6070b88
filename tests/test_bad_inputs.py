"""The bad-input table (docs/bad-inputs.md): one test per row not covered elsewhere. Each input gets a
clear error naming what is wrong, and nothing is written or lost."""

from __future__ import annotations

import math

import pytest

from cockpit.config import ConfigError, config_from_text
from cockpit.control import CommandError, build_command
from cockpit.trainer.commands import validate


@pytest.mark.parametrize("value,reason", [
    ("-1e-4", "must be positive"), ("0", "must be positive"), ("nan", "not a finite number"),
    ("inf", "not a finite number"), ("5", "absurd"), ("1e9", "absurd"), ("fast", "not a number"),
    ("x0", "must be positive"), ("x1e6", "out of range"), ("x-2", "must be positive"), ("", "not a number"),
])
def test_lr_values_refused_before_sending(value, reason):
    with pytest.raises(CommandError) as e:
        build_command("lr", value)
    assert reason in str(e.value)


def test_unknown_and_malformed_commands():
    with pytest.raises(CommandError, match="unknown command 'explode'"):
        build_command("explode")
    with pytest.raises(CommandError, match="takes no value"):
        build_command("pause", "now")
    with pytest.raises(CommandError, match="needs a value"):
        build_command("lr")


@pytest.mark.parametrize("cmd,reason", [
    ({"cmd": "explode"}, "unknown command"),
    ({"cmd": "set_lr", "value": "abc"}, "not a number"),
    ({"cmd": "set_lr", "value": math.nan}, "not a finite number"),
    ({"cmd": "set_lr", "value": -3}, "must be positive"),
    ({"cmd": "scale_lr", "value": 1000}, "out of range"),
    ({"cmd": "set_lr", "value": True}, "not a number"),
])
def test_trainer_revalidates_hand_written_commands(cmd, reason):
    assert reason in validate({"id": "x", **cmd})


def test_hand_written_string_lr_is_accepted():
    c = {"id": "x", "cmd": "set_lr", "value": "1e-4"}
    assert validate(c) is None and c["value"] == 1e-4


@pytest.mark.parametrize("text,needle", [
    ("lora:\n  r: 0\n", "lora.r"),
    ("training:\n  max_grad_norm: -1\n", "training.max_grad_norm"),
    ("lora:\n  lora_dropout: 1.5\n", "lora.lora_dropout"),
    ("training:\n  bf16: true\n  fp16: true\n", "bf16 and fp16"),
    ("model:\n  quantization: 3bit\n", "model.quantization"),
    ("name: ../escape\n", "name"),
    ("training: 5\n", "training"),
])
def test_out_of_range_and_wrong_shapes(text, needle):
    with pytest.raises(ConfigError) as e:
        config_from_text(text, file="c.yaml", check_paths=False)
    assert needle in str(e.value) and str(e.value).startswith("c.yaml")


def test_missing_local_model_folder(tmp_path):
    with pytest.raises(ConfigError) as e:
        config_from_text("model:\n  name_or_path: ./models/nothere\n", file="c.yaml")
    assert "model.name_or_path" in str(e.value) and e.value.line == 2
