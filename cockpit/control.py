"""Sending commands to a trainer: validate, append to control.jsonl, wait for the one ack.

Used by `cockpit ctl` and by the cockpit's keys. The trainer re-validates everything (a command file
can be written by hand), so this is a convenience for a clear error before anything is written.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from cockpit.lr import parse_lr
from cockpit.rundir import FINAL_STATES, RunDir, Tail, append_command, last_event, merge_value_problem, new_command

ACK_GRACE = 1.0
"""Seconds a sender waits past its command's expiry: a trainer that read it just in time acks it within this."""


class CommandError(Exception):
    """A command that was not sent: bad value, unknown action, or a run that cannot take it."""


class AcksUnreadable(Exception):
    """The command was sent but the events file could not be read until the wait ended: whether the
    trainer applied it is unknown (a stale NFS handle, EIO), unlike a wait that read and saw no ack."""


def build_command(
    action: str, value: str | None = None, source: str = "cli", ttl: float | None = None
) -> dict[str, Any]:
    """Turn a user's action (+ value) into a command dict, or raise CommandError saying why not. The
    trainer refuses it as expired once `ttl` seconds have passed (default: rundir.COMMAND_TTL)."""
    if action == "lr":
        if value is None:
            raise CommandError("lr needs a value: `lr 1e-4` to set, `lr x0.5` to scale")
        try:
            mode, v = parse_lr(value)
        except ValueError as e:
            raise CommandError(f"lr: {e}") from None
        return new_command("set_lr" if mode == "set" else "scale_lr", v, source=source, ttl=ttl)
    if action in ("set_lr", "scale_lr"):
        try:
            mode, v = parse_lr(("x" if action == "scale_lr" else "") + str(value))
        except ValueError as e:
            raise CommandError(f"{action}: {e}") from None
        return new_command(action, v, source=source, ttl=ttl)
    if action in ("pause", "resume", "save", "stop", "sample", "merge"):
        if value is not None and action != "merge":
            raise CommandError(f"{action} takes no value (got {value!r})")
        problem = merge_value_problem(value) if action == "merge" else None
        if problem:
            raise CommandError(problem)
        return new_command(action, value, source=source, ttl=ttl)
    raise CommandError(f"unknown command '{action}' (pause, resume, lr, save, stop, sample, merge)")


def run_state(rd: RunDir) -> str | None:
    """The last state written to the run's events, or None."""
    ev = last_event(rd.events, "state")
    return ev.get("state") if ev else None


def after_the_end(state: str, rd: RunDir) -> str:
    """What can still be done with a run that ended: a finished run cannot be resumed."""
    if state == "finished":
        return (
            f"it trained to its end; `cockpit merge {rd.path}` merges its adapter, a new `cockpit run` trains further"
        )
    if rd.latest_checkpoint() is None:
        return "it saved no checkpoint to resume from; start a new run"
    return f"`cockpit resume {rd.path}` continues it from its last checkpoint"


def send(
    run_dir: Path | RunDir, action: str, value: str | None = None, source: str = "cli", ttl: float | None = None
) -> dict[str, Any]:
    rd = run_dir if isinstance(run_dir, RunDir) else RunDir(run_dir)
    problem = rd.symlink_problem()
    if problem:
        raise CommandError(problem)
    if not rd.events.exists():
        raise CommandError(f"{rd.path} is not a run directory (no events.jsonl)")
    cmd = build_command(action, value, source=source, ttl=ttl)
    state = run_state(rd)
    if state in FINAL_STATES:
        raise CommandError(f"the run is {state}; it takes no commands ({after_the_end(state, rd)})")
    return append_command(rd, cmd)


def wait_for_ack(rd: RunDir, cmd_id: str, timeout: float, start_offset: int = 0) -> dict[str, Any] | None:
    tail = Tail(rd.events, offset=start_offset)
    deadline = time.monotonic() + timeout
    while True:
        for ev in tail.poll():
            if ev.get("kind") == "ack" and ev.get("id") == cmd_id:
                return ev
        if time.monotonic() >= deadline:
            if tail.error is not None:
                raise AcksUnreadable(str(tail.error))
            return None
        time.sleep(0.05)


def send_and_wait(
    run_dir: Path,
    action: str,
    value: str | None = None,
    *,
    timeout: float = 60.0,
    wait: bool = True,
    ttl: float | None = None,
) -> dict[str, Any] | None:
    """Send and wait for the ack. A waiting sender's command expires when it stops waiting (`timeout`),
    so "no ack" means "not applied, ever"; `ttl` overrides that (and sets a fire-and-forget's expiry)."""
    rd = RunDir(run_dir)
    # Acks can only come after the command is written, so start reading at the current end.
    offset = rd.events.stat().st_size if rd.events.exists() else 0
    cmd = send(rd, action, value, ttl=ttl if ttl is not None or not wait else timeout)
    if not wait:
        return None
    return wait_for_ack(rd, cmd["id"], max(0.0, cmd["expires"] - time.time()) + ACK_GRACE, start_offset=offset)
