"""What the trainer's callbacks share: the run directory, its event writer, and the run's control state.

One `RunControl` per trainer process; every callback is given it. It holds only what more than one job
needs: whether the run is paused or stopping (commands, the pause hold and the guards all change that),
the requests a command leaves for another job (a sample, a merge), the checkpoint a guard can point
back to, and the time since the last step end that was not training (pauses, generation).
"""

from __future__ import annotations

import signal
import sys
from typing import Any

from cockpit.config import RunConfig
from cockpit.rundir import EventWriter, RunDir
from cockpit.trainer import dist
from cockpit.trainer.commands import CommandReader


class StopWhilePaused(Exception):
    """Raised from the pause hold to leave `trainer.train()` without running one more step."""


class RunControl:
    """The run's shared state and the few ways the callbacks write to the run directory.

    Usage:
    ```python
    >>> run = RunControl(rd, cfg, events, control_offset=0)
    >>> trainer = SFTTrainer(..., callbacks=cockpit_callbacks(run, mem_reader, mem_kind))
    >>> run.trainer = trainer          # saving while paused needs it
    >>> trainer.train(); run.stop_reason
    ```

    Args:
        rd: the run directory.
        cfg: the run's config.
        events: the event writer; None on every rank but world zero (they write nothing).
        control_offset: where this trainer's commands begin in control.jsonl (a resume skips older ones).
    """

    def __init__(self, rd: RunDir, cfg: RunConfig, events: EventWriter | None, control_offset: int = 0):
        self.rd, self.cfg, self.events = rd, cfg, events
        self.is_zero = dist.is_world_zero()
        self.rank = dist.rank()
        self.reader = CommandReader(rd.control, offset=control_offset) if self.is_zero else None
        self.trainer = None
        """Set once the Trainer exists: saving while paused goes through it."""
        self.paused = False
        self.stop_reason: str | None = None
        """Why the run is stopping ("command", "sigterm", "guard:<rule>"), None while it is not."""
        self.sigterm = False
        self.injected: list[dict[str, Any]] = []
        """Rank-0 decisions (a guard's stop or pause) that every rank must apply: sent with the next commands."""
        self.sample_requests: list[dict[str, Any]] = []
        """`sample` commands waiting for the next step end."""
        self.merge_requests: list[dict[str, Any]] = []
        """`merge` commands waiting for the next checkpoint."""
        self.logged_upto = 0
        """On resume: steps already in events.jsonl are re-trained but not logged twice."""
        self.metrics: dict[str, Any] | None = None
        """The metrics event written at this logging step (None when none was), for the guards that judge it."""
        self.untimed = 0.0
        """Seconds since the last step end that were not training (a pause, generation): kept out of step_time."""
        self.guarded_steps: set[int] = set()
        self.last_good_checkpoint: str | None = None
        self.best_checkpoint: str | None = None
        """The best evaluation's checkpoint (eval guards)."""
        self.restore_best = False
        """An eval guard stopped the run: the best checkpoint becomes the adapter."""
        self.save_note: str | None = None
        """"Saving works again", said with the next checkpoint event."""
        self.refused_commands: dict[str, str] = {}
        """Commands this run cannot take, with the reason its ack gives (a user's script: no `merge`)."""

    # ---- writing to the run directory ------------------------------------------------------------

    def emit(self, kind: str, **fields: Any) -> None:
        if self.events is not None:
            self.events.write(kind, **fields)

    def state(self, state: str, step: int, reason: str | None = None) -> None:
        if self.events is None:
            return
        fields: dict[str, Any] = {"state": state, "step": step}
        if reason:
            fields["reason"] = reason
        self.events.write("state", **fields)
        self.events.sync()  # state changes are rare and must survive a crash

    def ack(
        self, cmd: dict[str, Any], step: int, ok: bool, reason: str | None = None, change: str | None = None
    ) -> None:
        if cmd.get("internal"):
            return  # the trainer's own commands (SIGTERM, guards) have no sender waiting for an ack
        cid = cmd.get("id")
        fields: dict[str, Any] = {
            "id": cid if isinstance(cid, str) else "",
            "cmd": cmd.get("cmd"),
            "ok": ok,
            "step": step,
        }
        if cmd.get("source"):
            fields["source"] = cmd["source"]  # who sent it (tui / cli / advisor): the log says who acted
        if reason:
            fields["reason"] = reason
        if change:
            fields["change"] = change
        self.emit("ack", **fields)

    def rank_log(self, msg: str) -> None:
        # Every rank says what it applied, so a multi-process run can be checked rank by rank.
        print(f"[cockpit rank {self.rank}] {msg}", flush=True)

    def save_failed(self, step: int, message: str) -> None:
        self.emit("error", message=message, traceback=None, step=step, kind_detail="save_failed")
        print(f"[cockpit] {message}", file=sys.stderr, flush=True)

    def save_recovered(self, step: int, message: str) -> None:  # noqa: ARG002 - the trainer's hook signature
        """Said with the checkpoint event that follows: the save that worked again."""
        self.save_note = message
        print(f"[cockpit] {message}", file=sys.stderr, flush=True)

    # ---- acting ----------------------------------------------------------------------------------

    def install_sigterm(self) -> None:
        """A SIGTERM becomes a `stop` at the next step boundary (read with the commands)."""

        def on_term(signum, frame):  # noqa: ARG001
            self.sigterm = True

        signal.signal(signal.SIGTERM, on_term)

    def guard(self, step: int, d: dict[str, Any], control) -> None:
        """Act on a guard decision: a `guard` event, then stop, pause or only warn. Runs on world zero for
        logged metrics; the resulting stop/pause reaches the other ranks as a broadcast command at the
        next boundary."""
        self.guarded_steps.add(step)
        action = d.get("action", "stop")
        did = {"stop": "stopped", "pause": "paused", "warn": "warned"}.get(action, action)
        self.emit(
            "guard",
            step=step,
            rule=d.get("rule"),
            severity=d.get("severity"),
            message=d.get("message"),
            action=did,
            evidence=d.get("evidence"),
            last_good_checkpoint=self.last_good_checkpoint,
        )
        print(f"[cockpit guard] step {step}: {d.get('message')} -> {did}", file=sys.stderr, flush=True)
        if action in ("stop", "pause") and dist.world_size() > 1 and d.get("rule") != "nonfinite_grad":
            # Only rank 0 saw this logged value: hand the decision to every rank through the next
            # broadcast, so all of them stop or pause at the same step.
            self.injected.append({"id": "", "cmd": action, "source": f"guard:{d.get('rule')}", "internal": True})
            return
        if action == "stop":
            self.stop_reason = f"guard:{d.get('rule')}"
            control.should_training_stop = True
            self.state("stopping", step, reason=f"guard {d.get('rule')}: {d.get('message')}")
        elif action == "pause" and not self.paused:
            self.paused = True
            self.state("paused", step, reason=f"guard {d.get('rule')}")

    def save_now(self) -> None:
        """A checkpoint outside the Trainer's own step loop (while paused, or after leaving it), followed by
        every callback's on_save, as the Trainer does after its own saves."""
        t = self.trainer
        t._save_checkpoint(t.model, trial=None)
        t.control = t.callback_handler.on_save(t.args, t.state, t.control)

    def close(self) -> None:
        if self.reader is not None:
            self.reader.close()


def as_dict(decision: Any) -> dict[str, Any]:
    """A guard decision (GuardDecision or dict) as the dict `RunControl.guard` reads."""
    if isinstance(decision, dict):
        return decision
    return {k: getattr(decision, k, None) for k in ("rule", "severity", "message", "action", "evidence")}
