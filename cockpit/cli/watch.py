"""Watching and steering a run that is going: `cockpit attach`, `cockpit ctl`, `cockpit ls`, `cockpit browse`."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from cockpit.cli.options import CONTEXT, fail, theme_option


@click.command(context_settings=CONTEXT)
@click.argument("run_dir", type=click.Path(file_okay=False, exists=True))
@theme_option
def attach(run_dir: str, theme: str | None) -> None:
    """Open the cockpit on a running or finished run (its whole history is shown at once)."""
    from cockpit.logs.preload import Preload
    from cockpit.rundir import RunDir

    problem = RunDir(run_dir).symlink_problem()
    if problem:
        fail(problem)

    pre = Preload(Path(run_dir), live=True)  # a long run's history is read while the UI is imported
    from cockpit.tui.launch import open_live

    open_live(Path(run_dir), theme=theme, preload=pre)


@click.command(context_settings={**CONTEXT, "ignore_unknown_options": True})
@click.argument("run_dir", type=click.Path(file_okay=False, exists=True))
@click.argument("action", type=click.Choice(["pause", "resume", "lr", "save", "stop", "sample", "merge"]))
@click.argument("value", required=False)
@click.option("--timeout", default=60.0, show_default=True, help="Seconds to wait for the trainer's ack.")
@click.option("--no-wait", is_flag=True, help="Write the command and return without waiting for the ack.")
@click.option(
    "--expires",
    type=click.FloatRange(min=0.1),
    default=None,
    metavar="SECONDS",
    help="The trainer refuses the command if it reads it later than this (default: --timeout; 300 with --no-wait).",
)
def ctl(run_dir: str, action: str, value: str | None, timeout: float, no_wait: bool, expires: float | None) -> None:
    """Send one command to a running trainer and print its ack.

    \b
    cockpit ctl RUN pause | resume | save | stop | sample
    cockpit ctl RUN lr 1e-4        set the learning rate
    cockpit ctl RUN lr x0.5        scale it (the schedule continues from the new value)
    cockpit ctl RUN merge [bf16]   save a checkpoint and merge it (fp32 unless a dtype is given)
    A command the trainer has not read when it expires is never applied (it is acked as expired).
    Exit 0 when acked ok, 1 when refused or no ack came in time, 2 for a bad value."""
    from cockpit.control import AcksUnreadable, CommandError, send_and_wait

    try:
        ack = send_and_wait(Path(run_dir), action, value, timeout=timeout, wait=not no_wait, ttl=expires)
    except CommandError as e:
        fail(str(e))
    except AcksUnreadable as e:
        click.echo(f"sent, but no ack could be read: {e}; the trainer may have applied it", err=True)
        sys.exit(1)
    if ack is None:
        if no_wait:
            return
        click.echo(
            f"no ack within {expires or timeout:g}s: the command expired and will not be applied "
            f"(is the trainer running? see {Path(run_dir) / 'trainer.log'})",
            err=True,
        )
        sys.exit(1)
    if ack.get("ok"):
        click.echo(f"ok: {ack.get('cmd')} at step {ack.get('step')}  {ack.get('change') or ''}".rstrip())
    else:
        click.echo(f"refused: {ack.get('cmd')}: {ack.get('reason')}", err=True)
        sys.exit(1)


@click.command(name="ls", context_settings=CONTEXT)
@click.argument("runs_dir", default="runs", required=False)
def ls_(runs_dir: str) -> None:
    """One line per run: name, state, step/total, last loss, lr, started, duration."""
    from cockpit.runlist import main as ls_main

    sys.exit(ls_main(runs_dir))


@click.command(context_settings=CONTEXT)
@click.argument("runs_dir", default="runs", required=False)
@theme_option
def browse(runs_dir: str, theme: str | None) -> None:
    """The runs in RUNS_DIR (ours and other tools' logs) with state, kind, step, lr/r/alpha and the advisor's
    verdict. `cockpit RUNS_DIR` and `cockpit` alone (./runs) open it too.

    \b
    /  filter (words in any column, or key=value: r=16, state=run)
    space  select   c  compare the selection   enter  open (live if it is training, else replay)"""
    from cockpit.tui.browser_app import main as browse_main

    sys.exit(browse_main(runs_dir, theme=theme))


@click.command(context_settings=CONTEXT)
@click.argument("target", metavar="RUN_DIR|CONFIG", type=click.Path(exists=True))
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="Port to listen on.")
@click.option(
    "--public",
    is_flag=True,
    help="Allow a --host other than loopback (plain HTTP: whoever sees the traffic sees the key that steers the run).",
)
@click.option(
    "--max-sessions",
    default=4,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Browser tabs served at once (each runs a cockpit process).",
)
@click.option("--runs-dir", default="runs", show_default=True, help="Where a CONFIG's run directory is created.")
@theme_option
def serve(target: str, host: str, port: int, public: bool, max_sessions: int, runs_dir: str, theme: str | None) -> None:
    """The cockpit in a browser: serve RUN_DIR, or start CONFIG's run and serve it, at http://HOST:PORT.

    \b
    Each browser tab opens `cockpit attach RUN_DIR`: the same screen and keys, steering included, for
    whoever opens the printed URL with its key (a new one each serve).
    From a laptop: ssh -L 8000:127.0.0.1:8000 gpu-box, then open the printed http://127.0.0.1:8000/?key=..."""
    from cockpit.serve import ServeError, preflight, start_detached
    from cockpit.serve import serve as serve_run

    try:
        preflight(host, port, public)  # a refused host or a taken port starts no run
        run_dir = Path(target)
        if not run_dir.is_dir():
            run_dir = start_detached(Path(target), Path(runs_dir))
        serve_run(run_dir, host=host, port=port, theme=theme, max_sessions=max_sessions)
    except ServeError as e:
        fail(str(e))
