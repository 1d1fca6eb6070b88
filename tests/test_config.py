"""Config: defaults from the SOP, errors that name the file, line and field, overrides."""

from pathlib import Path

import pytest
from click.testing import CliRunner

from cockpit.cli import main
from cockpit.config import ConfigError, RunConfig, config_from_text, load_config, parse_lr, parse_overrides

ROOT = Path(__file__).resolve().parents[1]


def test_sop_defaults():
    c = RunConfig()
    assert c.lora.r == 8 and c.lora.alpha == 16 and c.lora.lora_dropout == 0.05
    assert c.lora.target_modules == ["q_proj", "v_proj"]
    assert c.training.max_grad_norm == 1.0
    assert c.thresholds.grad_norm_danger == 10 and c.thresholds.grad_norm_explosion == 50


def err(text: str, **kw) -> ConfigError:
    with pytest.raises(ConfigError) as e:
        config_from_text(text, file="run.yaml", check_paths=False, **kw)
    return e.value


def test_unknown_key_suggests_closest_and_names_line():
    e = err("name: x\nlora:\n  r: 8\n  lora_alpah: 16\n")
    assert "lora.lora_alpah" in str(e) and "did you mean 'lora_alpha'" in str(e)
    assert e.line == 4 and str(e).startswith("run.yaml:4:")


def test_wrong_type_and_negative_lr():
    e = err("training:\n  learning_rate: fast\n")
    assert "training.learning_rate" in str(e) and e.line == 2
    e = err("training:\n  learning_rate: -1e-4\n")
    assert "training.learning_rate" in str(e) and "greater than 0" in str(e)


def test_yaml_syntax_error_has_line_and_column():
    e = err("training:\n  learning_rate: [1e-4\n  max_steps: 3\n")
    assert e.line is not None and e.column is not None and "YAML syntax error" in str(e)


def test_top_level_must_be_mapping():
    assert "mapping" in str(err("- a\n- b\n"))


def test_missing_data_file(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("data:\n  path: nothere.jsonl\n")
    with pytest.raises(ConfigError) as e:
        load_config(p)
    assert "data.path" in str(e.value) and "not found" in str(e.value) and e.value.line == 2


def test_overrides_apply_and_validate():
    c = config_from_text(
        "name: x\n",
        check_paths=False,
        overrides=parse_overrides(["training.max_steps=40", "lora.target_modules=[q_proj,k_proj]"]),
    )
    assert c.training.max_steps == 40 and c.lora.target_modules == ["q_proj", "k_proj"]
    with pytest.raises(ConfigError):
        parse_overrides(["training.max_steps"])
    e = err("name: x\n", overrides=[("training.max_stpes", "3")])
    assert "did you mean 'max_steps'" in str(e)


def test_threshold_bands_must_rise():
    assert "grad_norm bands" in str(err("thresholds:\n  grad_norm_danger: 100\n"))


def test_threshold_errors_name_the_field_and_its_line():
    e = err("name: x\nthresholds:\n  flat_window: 10\n  grad_norm_low: -1\n")
    assert e.field == "thresholds.grad_norm_low" and e.line == 4 and "-1" in str(e)
    e = err("thresholds:\n  memory_danger: 0.7\n  memory_warn: 0.8\n")
    assert e.field == "thresholds.memory_warn" and e.line == 3
    e = err("thresholds:\n  grad_nrom_high: 4\n")
    assert "did you mean 'grad_norm_high'" in str(e) and e.line == 2
    assert config_from_text("thresholds:\n  grad_norm_high: 6\n").thresholds.grad_norm_high == 6.0


def test_thresholds_read_from_a_log_fall_back_to_the_defaults():
    from cockpit.thresholds import Thresholds

    assert Thresholds.from_config({"thresholds": {"grad_norm_high": 4, "from_a_newer_version": 1}}).grad_norm_high == 4
    for odd in (
        None,
        {},
        {"thresholds": "x"},
        {"thresholds": {"grad_norm_high": "high"}},
        {"thresholds": {"grad_norm_low": 99}},
        {"thresholds": {"flat_window": 2.5}},
    ):
        assert Thresholds.from_config(odd) == Thresholds()


@pytest.mark.parametrize(
    "text,ok",
    [
        ("1e-4", True),
        ("x0.5", True),
        ("*2", True),
        ("0", False),
        ("-1e-4", False),
        ("nan", False),
        ("inf", False),
        ("abc", False),
        ("5", False),
        ("x0", False),
        ("x1e9", False),
    ],
)
def test_parse_lr(text, ok):
    if ok:
        parse_lr(text)
    else:
        with pytest.raises(ValueError):
            parse_lr(text)


def test_every_sample_config_validates():
    files = sorted((ROOT / "sample_configs").glob("*.yaml"))
    assert len(files) >= 4
    for f in files:
        load_config(f)


def test_validate_cli_exit_codes(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("lora:\n  rank: 8\n")
    r = CliRunner().invoke(main, ["validate", str(bad)])
    assert r.exit_code == 2 and "unknown key 'lora.rank'" in r.output and "bad.yaml:2" in r.output
    good = tmp_path / "good.yaml"
    good.write_text("name: ok\n")
    r = CliRunner().invoke(main, ["validate", str(good), "--set", "training.max_steps=5"])
    assert r.exit_code == 0, r.output and "max_steps=5" in r.output
