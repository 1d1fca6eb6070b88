"""Commands from control.jsonl, applied at the optimizer step: one handler per command, in a table.

Read at `on_optimizer_step` (after optimizer.step(), before the scheduler and the log), so an lr change is
already what the Trainer logs for this step, and a `save`/`stop` is honoured by this step's own save and
stop checks. Only world zero reads the file; the commands are broadcast, so every rank applies the same
ones at the same step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from transformers import TrainerCallback

from cockpit.trainer import dist
from cockpit.trainer.callbacks.run_control import RunControl
from cockpit.trainer.commands import apply_lr, scaled_lr_problem, validate


@dataclass
class At:
    """Where a command is applied: the step it counts for, and the Trainer's objects it may change."""

    step: int
    control: Any
    optimizer: Any = None
    scheduler: Any = None


def pause(run: RunControl, cmd: dict[str, Any], at: At) -> None:
    if run.paused:
        run.ack(cmd, at.step, False, reason="already paused")
        return
    run.paused = True
    run.rank_log(f"applied pause at step {at.step}")
    run.ack(cmd, at.step, True, change="paused at the step boundary")
    run.state("paused", at.step)


def resume(run: RunControl, cmd: dict[str, Any], at: At) -> None:
    if not run.paused:
        run.ack(cmd, at.step, False, reason="not paused")
        return
    run.paused = False
    run.rank_log(f"applied resume at step {at.step}")
    run.ack(cmd, at.step, True)
    run.state("running", at.step)


def change_lr(run: RunControl, cmd: dict[str, Any], at: At) -> None:
    """`set_lr` to a value or `scale_lr` by a factor, now and for the rest of the schedule."""
    name, v = cmd["cmd"], float(cmd["value"])
    if name == "scale_lr":
        too_small = scaled_lr_problem(at.optimizer, at.scheduler, v)
        if too_small:
            run.ack(cmd, at.step, False, reason=too_small)
            return
        old, new = apply_lr(at.optimizer, at.scheduler, factor=v)
    else:
        old, new = apply_lr(at.optimizer, at.scheduler, new_lr=v)
    run.rank_log(f"applied {name} {v:g} at step {at.step}: lr {old:.3g} -> {new:.3g}")
    run.ack(cmd, at.step, True, change=f"lr {old:.3g} -> {new:.3g}")


def save(run: RunControl, cmd: dict[str, Any], at: At) -> None:
    at.control.should_save = True
    run.rank_log(f"applied save at step {at.step}")
    run.ack(cmd, at.step, True, change=f"checkpoint at step {at.step}")


def stop(run: RunControl, cmd: dict[str, Any], at: At) -> None:
    src = str(cmd.get("source") or "")
    run.stop_reason = src if src == "sigterm" or src.startswith("guard:") else "command"
    at.control.should_save = True
    at.control.should_training_stop = True
    run.rank_log(f"applied stop at step {at.step}")
    run.ack(cmd, at.step, True, change="saving and stopping")
    run.state("stopping", at.step, reason=run.stop_reason)


def sample(run: RunControl, cmd: dict[str, Any], at: At) -> None:  # noqa: ARG001
    run.sample_requests.append(cmd)  # generated (and acked) at the step end, by the samples callback


def merge(run: RunControl, cmd: dict[str, Any], at: At) -> None:
    at.control.should_save = True
    run.merge_requests.append(cmd)  # spawned once the checkpoint exists, by the merge-on-save callback
    run.ack(cmd, at.step, True, change="saving a checkpoint, then merging it in a separate process")


HANDLERS: dict[str, Callable[[RunControl, dict[str, Any], At], None]] = {
    "pause": pause,
    "resume": resume,
    "set_lr": change_lr,
    "scale_lr": change_lr,
    "save": save,
    "stop": stop,
    "sample": sample,
    "merge": merge,
}
"""Every command of `cockpit.rundir.COMMANDS`, by name."""


class CommandsCallback(TrainerCallback):
    """Reads new commands at each optimizer step and applies them, acking each one.

    Usage:
    ```python
    >>> commands = CommandsCallback(run)
    >>> trainer = SFTTrainer(..., callbacks=[commands, PauseCallback(run, commands)])
    ```

    Args:
        run: the shared `RunControl` (its reader, pause and stop state, the requests it leaves for others).
    """

    def __init__(self, run: RunControl):
        self.run = run

    def poll(self) -> list[dict[str, Any]]:
        """New commands on world zero, the trainer's own (a SIGTERM, a guard's decision) first; the same
        list on every rank."""
        run = self.run
        cmds = run.reader.poll() if run.reader is not None else []
        cmds, run.injected = run.injected + cmds, []
        if run.sigterm and run.stop_reason is None:
            cmds.append({"id": "", "cmd": "stop", "source": "sigterm", "internal": True})
        return dist.broadcast(cmds)

    def refusal(self, cmd: dict[str, Any]) -> str | None:
        """Why `cmd` is not applied: malformed or expired, or a command this run does not take."""
        return validate(cmd) or self.run.refused_commands.get(cmd.get("cmd"))

    def apply(self, cmds: list[dict[str, Any]], at: At) -> None:
        for cmd in cmds:
            reason = self.refusal(cmd)
            if reason is None and self.run.stop_reason is not None and cmd.get("cmd") != "stop":
                reason = "the run is stopping"
            if reason is not None:
                self.run.ack(cmd, at.step, False, reason=reason)
                continue
            HANDLERS[cmd["cmd"]](self.run, cmd, at)

    def on_optimizer_step(self, args, state, control, optimizer=None, lr_scheduler=None, **kwargs):
        cmds = self.poll()
        if not cmds:
            return
        self.apply(cmds, At(state.global_step + 1, control, optimizer, lr_scheduler))
