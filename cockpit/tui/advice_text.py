"""How the cockpit words advice that is not a live command: a new run, and the command or config it takes."""

from __future__ import annotations

import re
from pathlib import Path

COMMAND = re.compile(r"`(cockpit [^`]+)`")


def command_in(text: str, run_dir: Path | None = None) -> str | None:
    """The first `cockpit ...` command quoted in `text`; a bare subcommand gets the run's config."""
    m = COMMAND.search(text or "")
    if not m:
        return None
    cmd = m.group(1)
    if len(cmd.split()) == 2:  # `cockpit sweep`: the config it needs is this run's
        cmd += f" {run_dir / 'config.yaml'}" if run_dir is not None else " CONFIG"
    return cmd


def new_run(action, run_dir: Path | None = None, *, can_write: bool = False, script: dict | None = None) -> str | None:
    """None for an action the trainer applies live; else one line saying it is a new run and how.
    `can_write`: `a` writes the next config here (a live cockpit on a run directory). `script`: a user's
    own script's run (History.script): the change in the names their script sets, nothing to write."""
    if action.command is not None:
        return None
    if action.config_patch and script is not None:
        from cockpit.own.user_terms import in_user_terms

        return f"a new run of your script with {in_user_terms(action.config_patch, script)}"
    if action.config_patch:
        from cockpit.advisor import patch_to_set_args

        if not can_write:
            cfg = run_dir / "config.yaml" if run_dir is not None else "CONFIG"
            return f"a new run: `cockpit run {cfg} {patch_to_set_args(action.config_patch)}`"
        if run_dir is None:  # the panel: short, and the same on every machine
            return f"a new run: `a` writes next-config.yaml in the run dir ({patch_to_set_args(action.config_patch)})"
        where = f"{run_dir}/next-config.yaml"
        return (
            f"a new run: `a` writes {where} ({patch_to_set_args(action.config_patch)}); start it with "
            f"`cockpit run {where}`"
        )
    cmd = command_in(f"{action.label} {action.description}", run_dir)
    return f"a new run: `{cmd}`" if cmd else "done outside this run (nothing to send to the trainer)"


def need_hint(need: str, run_dir: Path | None = None) -> str:
    """Why `a` has nothing to apply when the next step is what the SOP stage still needs."""
    cmd = command_in(need, run_dir)
    if cmd:
        return f"the next step is a new run: `{cmd}`"
    return f"nothing to apply in this run; next: {need}"
