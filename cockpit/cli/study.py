"""`cockpit study`: the SOP across runs (cockpit/study/). Click only here; the study loads when it runs."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from cockpit.cli.options import CONTEXT, fail, load_config_or_exit, option_group, require_train_extra
from cockpit.study.budget import Budget

budget_options = option_group(
    Budget,
    [
        click.option("--trial-steps", type=int, default=None, help="Steps per short trial (default 500)."),
        click.option("--final-steps", type=int, default=None, help="Steps of the final long run (default 2000)."),
        click.option("--max-runs", type=click.IntRange(min=1), default=None, help="Start at most this many runs."),
        click.option(
            "--max-hours", type=click.FloatRange(min=0.0, min_open=True), default=None, help="Wall-time budget."
        ),
    ],
    "budget",
)
"""The study's Budget options; the command receives `budget: Budget`."""


@click.command(context_settings=CONTEXT)
@click.argument("target", type=click.Path(exists=True))
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override a config field of a new study, e.g. --set training.max_steps=40 (repeatable).",
)
@click.option("--runs-dir", default="runs", show_default=True, help="Where a new study directory is created.")
@click.option("--auto", is_flag=True, help="Run unattended through the decisions the numbers make.")
@click.option("--accept-defaults", is_flag=True, help="Where only a person can judge, take the default answer.")
@budget_options
@click.option("--answer", "answers", multiple=True, metavar="ID=VALUE", help="Answer a question the study asked.")
def study(target: str, overrides, runs_dir: str, auto: bool, accept_defaults: bool, budget: Budget, answers) -> None:
    """The SOP across runs: stages 0-8 with evidence, from CONFIG (or continue a study directory).

    \b
    cockpit study CONFIG --auto                      walk stages 0-8 unattended (asks where a person must judge)
    cockpit study DIR [--auto]                       continue a study where it stopped
    cockpit study DIR --answer outputs_rigid=no      answer the question it stopped at
    cockpit study DIR --answer merge=yes             merge the finished study's final adapter
    Exit 0 done, 1 paused (budget, or between stages without --auto), 2 blocked, 3 waiting for an answer."""
    if overrides and Path(target).is_dir():
        fail(f"--set: {target} is a study: its config is the ledger's (--set starts a new study)")
    bad = [a for a in answers if "=" not in a]
    if bad:
        fail(f"--answer '{bad[0]}': expected QUESTION_ID=ANSWER, e.g. outputs_rigid=no")
    require_train_extra("cockpit study")
    from cockpit.study import main as study_main

    given = dict(a.split("=", 1) for a in answers)
    sys.exit(
        study_main(
            target,
            load_config=lambda p: load_config_or_exit(p, overrides),
            runs_dir=runs_dir,
            auto=auto,
            accept_defaults=accept_defaults,
            budget=budget,
            answers=given,
        )
    )
