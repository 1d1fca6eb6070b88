"""The `cockpit` command: one group, one module per group of subcommands.

    start.py       run, demo, resume              (the trainer: needs the [train] extra)
    watch.py       attach, ctl, ls, serve
    afterwards.py  diagnose, replay, report,      (any run, ours or an HF trainer_state.json)
                   compare
    prepare.py     validate, estimate, check-data, sweep
    study.py       study                          (the SOP across runs: cockpit/study/)
    model.py       fetch-model, merge, export
    options.py     what they share: options, config loading, the [train] check

Every subcommand imports its module lazily: `cockpit --help`, attach, replay, report and diagnose must
never pay for torch / transformers / trl, and run without them (the base install).
"""

from __future__ import annotations

import click

from cockpit import __version__
from cockpit.cli import afterwards, model, prepare, start, study, watch
from cockpit.cli.options import CONTEXT


class RunsFolderGroup(click.Group):
    """`cockpit` alone opens the run browser on ./runs, `cockpit DIR` on DIR (`cockpit browse [DIR]`).
    Without a terminal, `cockpit` alone prints the help, as it always did."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        import sys
        from pathlib import Path

        if not args and sys.stdin.isatty() and sys.stdout.isatty():
            args = ["browse"]
        elif args and args[0] not in self.commands and not args[0].startswith("-") and Path(args[0]).is_dir():
            args = ["browse", *args]
        return super().parse_args(ctx, args)


@click.group(cls=RunsFolderGroup, context_settings=CONTEXT)
@click.version_option(__version__, prog_name="cockpit")
def main() -> None:
    """A keyboard-driven terminal cockpit for LoRA / QLoRA fine-tuning.

    \b
    Browse:   cockpit [DIR]                     (the runs in DIR, default ./runs: filter, compare, open)
    Start:    cockpit demo                      (tiny local model, no network)
              cockpit run CONFIG                (starts the trainer, opens the cockpit)
    Watch:    cockpit attach RUN_DIR            (re-attach after closing or losing SSH)
    Steer:    cockpit ctl RUN_DIR pause|resume|lr 1e-4|lr x0.5|save|stop
    Study:    cockpit study CONFIG --auto       (the tuning procedure, stages 0-8, across runs)
    Afterwards: cockpit replay|diagnose|report PATH   (ours or any HF trainer_state.json)
              cockpit compare RUN RUN ...       (runs overlaid, with their config difference)
    """


for command in (
    start.run,
    start.demo,
    start.resume,
    watch.attach,
    watch.ctl,
    watch.ls_,
    watch.browse,
    afterwards.diagnose,
    afterwards.replay,
    afterwards.report,
    afterwards.compare,
    prepare.validate,
    prepare.estimate,
    prepare.check_data,
    prepare.sweep,
    study.study,
    model.fetch_model,
    model.merge,
    model.export,
):
    main.add_command(command)

main.add_command(watch.serve)  # the cockpit in a browser (the [serve] extra)
