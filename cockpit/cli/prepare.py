"""Before a run (the SOP's steps 0-3): `cockpit validate`, `estimate`, `check-data`, `sweep`."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from cockpit.cli.options import CONTEXT, load_config_or_exit, require_train_extra, set_option, theme_option


@click.command(context_settings=CONTEXT)
@click.argument("config", type=click.Path(dir_okay=False))
@set_option
def validate(config: str, overrides: tuple[str, ...]) -> None:
    """Check a run config without starting anything (exit 2 when it is bad)."""
    cfg = load_config_or_exit(config, overrides)
    lora = cfg.lora
    click.echo(f"ok: {config}")
    click.echo(f"  model   {cfg.model.name_or_path}  quantization={cfg.model.quantization}")
    click.echo(f"  lora    r={lora.r} alpha={lora.alpha:g} dropout={lora.lora_dropout} targets={lora.target_modules}")
    t = cfg.training
    steps = f"max_steps={t.max_steps}" if t.max_steps > 0 else f"epochs={t.num_train_epochs:g}"
    click.echo(
        f"  train   lr={t.learning_rate:g} {steps} batch={t.per_device_train_batch_size}"
        f"x{t.gradient_accumulation_steps} max_grad_norm={t.max_grad_norm}"
    )
    click.echo(f"  data    {cfg.data.path}")


@click.command(context_settings=CONTEXT)
@click.argument("config", type=click.Path(dir_okay=False))
@set_option
@click.option("--json", "as_json", is_flag=True, help="The estimate as JSON.")
@click.option("--fast", is_flag=True, help="Shapes from config.json (what cockpit run checks), not the meta build.")
@click.option("--measure", is_flag=True, help="Measure the framework's overhead on this device first (cached).")
def estimate(config: str, overrides, as_json: bool, fast: bool, measure: bool) -> None:
    """Memory a run will need (weights, adapter, optimizer, activations, logits, framework) against the
    device, and the smallest change that fits. Exit 0 fits, 1 tight (<20% free), 2 does not fit."""
    cfg = load_config_or_exit(config, overrides)
    if not fast or measure:  # the meta build and the measurement run the model's code
        require_train_extra(
            "the exact estimate (without --fast)" if not fast else "--measure", ("torch", "transformers")
        )
    from cockpit.estimate.check import main as estimate_main

    sys.exit(estimate_main(cfg, as_json_out=as_json, fast=fast, measure=measure))


@click.command(name="check-data", context_settings=CONTEXT)
@click.argument("config", type=click.Path(dir_okay=False))
@set_option
@click.option("--json", "as_json", is_flag=True, help="The audit as JSON.")
@click.option("--skip-bad", is_flag=True, help="Drop malformed rows (counted) instead of failing.")
def check_data(config: str, overrides, as_json: bool, skip_bad: bool) -> None:
    """SOP step 0: audit the configured data (size, templating, tokens, style, chat template).

    Exit 0 nothing to act on, 1 warnings (read them first), 2 refused (bad rows, or a template that
    would train wrongly)."""
    cfg = load_config_or_exit(config, overrides)
    from cockpit.data.audit import main as audit_main

    sys.exit(audit_main(cfg, as_json=as_json, skip_bad=skip_bad))


@click.command(context_settings=CONTEXT)
@click.argument("config", type=click.Path(dir_okay=False))
@set_option
@click.option("--lrs", default="5e-5,1e-4,2e-4", show_default=True, help="Comma-separated learning rates.")
@click.option("--steps", default=500, show_default=True, help="Optimizer steps per trial.")
@click.option("--runs-dir", default="runs", show_default=True)
@click.option("--headless", is_flag=True, help="No sweep view: print each trial's verdict.")
@theme_option
def sweep(config: str, overrides, lrs: str, steps: int, runs_dir: str, headless: bool, theme: str | None) -> None:
    """SOP step 3: one short trial per learning rate, verdicts, a recommended lr and the next config."""
    cfg = load_config_or_exit(config, overrides)
    require_train_extra("the sweep's trainer")
    from cockpit.sweep import main as sweep_main

    sys.exit(sweep_main(cfg, lrs=lrs, steps=steps, runs_dir=Path(runs_dir), headless=headless, theme=theme))
