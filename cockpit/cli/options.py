"""What the command groups share: click settings and options, loading a config, and the [train] check."""

from __future__ import annotations

import functools
import sys
from dataclasses import dataclass, fields
from importlib.util import find_spec

import click

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}

TRAIN_MODULES = ("torch", "transformers", "peft", "trl", "datasets", "accelerate", "safetensors", "tokenizers")
"""What the trainer imports; the base install (attach, replay, diagnose, report, ls, ctl) has none of them."""
TRAIN_EXTRA_HINT = "pip install 'lora-cockpit[train]'"

set_option = click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override a config field, e.g. --set training.max_steps=40 (repeatable).",
)
theme_option = click.option(
    "--theme",
    default=None,
    metavar="NAME",
    help="Cockpit theme: cockpit-dark (default), cockpit-light, cockpit-contrast.",
)


def with_options(options):
    """Apply a list of click options in the order they are listed (as `--help` shows them)."""

    def deco(f):
        for option in reversed(options):
            f = option(f)
        return f

    return deco


@dataclass(frozen=True)
class RunFlags:
    """Where a new run goes and how it is followed: the options `cockpit run` and `cockpit demo` share."""

    runs_dir: str
    run_dir: str | None
    name: str | None
    detach: bool
    headless: bool
    force: bool
    theme: str | None


RUN_FLAG_OPTIONS = [
    click.option("--runs-dir", default="runs", show_default=True, help="Where run directories are created."),
    click.option(
        "--run-dir",
        default=None,
        type=click.Path(file_okay=False),
        help="Use exactly this run directory: a new one, or an empty one of yours (anything else is refused).",
    ),
    click.option("--name", default=None, help="Run name (default: the config's name)."),
    click.option("--detach", is_flag=True, help="Start the trainer, print the run directory, return."),
    click.option("--headless", is_flag=True, help="No cockpit: one line per logged step; exit with the outcome."),
    click.option("--force", is_flag=True, help="Start even when the memory estimate says it will not fit."),
    theme_option,
]


def option_group(group: type, options: list, param: str):
    """A decorator that gives a click command `options` and hands it their values as one argument,
    `param`, a `group`: a dataclass whose fields are named as the options' parameters."""

    def deco(command):
        @functools.wraps(command)
        def grouped(*args, **kwargs):
            values = {f.name: kwargs.pop(f.name) for f in fields(group)}
            return command(*args, **{param: group(**values)}, **kwargs)

        return with_options(options)(grouped)

    return deco


run_flags = option_group(RunFlags, RUN_FLAG_OPTIONS, "flags")
"""`cockpit run` and `cockpit demo`'s RunFlags options; the command receives `flags: RunFlags`."""


def fail(message: str, code: int = 2):
    """Print `error: message` on stderr and exit (2: the input was refused)."""
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def load_config_or_exit(config: str, overrides: tuple[str, ...]):
    """The config at `config` with the `--set` overrides applied; exit 2 with the message when it is bad."""
    from cockpit.config import ConfigError, load_config, parse_overrides

    try:
        return load_config(config, parse_overrides(overrides))
    except ConfigError as e:
        fail(str(e))


def missing_train_modules(modules: tuple[str, ...] = TRAIN_MODULES) -> list[str]:
    """The modules of `modules` that are not installed (found without importing them: no torch start-up)."""
    return [m for m in modules if find_spec(m) is None]


def require_train_extra(what: str, modules: tuple[str, ...] = TRAIN_MODULES) -> None:
    """Exit 2 with the install command when the packages `what` needs (the [train] extra) are missing."""
    missing = missing_train_modules(modules)
    if missing:
        fail(f"{what} needs the [train] extra ({', '.join(missing)} not installed): {TRAIN_EXTRA_HINT}")
