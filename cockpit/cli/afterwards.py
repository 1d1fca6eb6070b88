"""Reading runs afterwards (ours, or any HF trainer_state.json): `cockpit diagnose`, `replay`, `report`,
`compare`.

Each reads a long log in a child process (`Preload`) while it imports what it shows the log with."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from cockpit.cli.options import CONTEXT, theme_option


@click.command(context_settings=CONTEXT)
@click.argument("path", type=click.Path(exists=True))
@click.option("--json", "as_json", is_flag=True, help="Findings as JSON (rule, severity, first/last step).")
def diagnose(path: str, as_json: bool) -> None:
    """Read a run (ours, or any HF trainer_state.json) the way the SOP would: findings, stage, next action.

    Exit 0 for ok/warn, 3 when a danger or critical finding stands."""
    from cockpit.logs.preload import Preload

    pre = Preload(path)  # a long log is read while the advisor is imported
    from cockpit.advisor.diagnose import main as diagnose_main

    sys.exit(diagnose_main(path, as_json=as_json, preload=pre))


@click.command(context_settings=CONTEXT)
@click.argument("path", type=click.Path(exists=True))
@click.option("--speed", default=10.0, show_default=True, help="Steps per second to start playing at.")
@theme_option
def replay(path: str, speed: float, theme: str | None) -> None:
    """Replay a run (run dir, events.jsonl, trainer_state.json, checkpoint folder, sweep dir) in the cockpit."""
    from cockpit.logs.preload import Preload
    from cockpit.run_groups import is_sweep_dir

    p = Path(path)
    sweep = is_sweep_dir(p)
    # A long log is read while the UI is imported and opened: the child reads all of it and this process
    # draws the cockpit meanwhile (a share parsed here too was slower: it holds up the UI; bench/README.md).
    pre = None if sweep else Preload(p, share=1.0)
    from cockpit.tui.launch import open_replay

    open_replay(p, speed=speed, theme=theme, preload=pre)


@click.command(context_settings=CONTEXT)
@click.argument("path", type=click.Path(exists=True))
@click.option("--out", default=None, type=click.Path(dir_okay=False), help="Also save as FILE.md or FILE.html.")
def report(path: str, out: str | None) -> None:
    """A post-run report: charts, summary numbers, findings timeline, operator actions."""
    from cockpit.logs.preload import Preload

    pre = Preload(path)  # a long log is read while the report's modules are imported
    from cockpit.report import main as report_main

    sys.exit(report_main(path, out=out, preload=pre))


@click.command(context_settings=CONTEXT)
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option(
    "--html",
    "html_out",
    default=None,
    type=click.Path(dir_okay=False),
    help="Also save as a self-contained HTML page (or Markdown: FILE.md).",
)
@click.option("--view", is_flag=True, help="Open the compare view in the terminal (keys: ? lists them).")
@theme_option
def compare(paths: tuple[str, ...], html_out: str | None, view: bool, theme: str | None) -> None:
    """Runs overlaid: loss, eval_loss, grad_norm, entropy, the config keys that differ, verdicts.

    \b
    cockpit compare runs/a runs/b            two run directories
    cockpit compare out/trainer_state.json runs/a
    cockpit compare runs/demo-sweep-2026...  a sweep's trials (with its verdicts), or a study directory
    cockpit compare runs/demo-sweep-... --view   the same, live, with keys: runs on/off, metrics, zoom"""
    if view:
        if html_out:
            raise click.UsageError("--view and --html: give one (the view draws in the terminal)")
        from cockpit.tui.compare_app import main as view_main

        sys.exit(view_main(list(paths), theme=theme))
    from cockpit.compare import main as compare_main

    sys.exit(compare_main(list(paths), out=html_out))
