"""The trainer process, top to bottom: `python -m cockpit.trainer RUN_DIR [--resume]`.

1. Take the run's writer lock (one trainer per run directory).
2. Read config.yaml; build tokenizer, model, LoRA, data, SFTTrainer with the cockpit's callbacks.
3. Train. A `stop` (command, SIGTERM or guard) saves and ends `stopped`; the end of the schedule saves
   the adapter and ends `finished`; any exception writes an `error` event and ends `crashed`.
"""

from __future__ import annotations

import os
import signal
import sys
import traceback
from pathlib import Path

from cockpit.config import ConfigError, load_config
from cockpit.resume_check import lora_changes
from cockpit.rundir import (
    EventWriter,
    LockHeld,
    RunDir,
    RunDirError,
    acquire_lock,
    control_file_problem,
    relabel_lock,
    release_lock,
)


class TerminatedWhileLoading(BaseException):
    """SIGTERM before the run control's own handler (which stops at a step boundary) was installed."""


def _terminate_while_loading(signum, frame) -> None:  # noqa: ARG001
    raise TerminatedWhileLoading()


def run(run_dir: Path, resume: bool = False) -> int:
    rd = RunDir(run_dir)
    # Commands already in the control file were meant for an earlier trainer of this run: a resume acts
    # only on what is written from now on (loading the model takes a while; a key pressed meanwhile counts).
    control_offset = _size(rd.control) if resume else 0
    # Until the run control takes over SIGTERM, loading the model can take minutes: a SIGTERM then must
    # still end in a final state and a released lock, not a silent death.
    signal.signal(signal.SIGTERM, _terminate_while_loading)
    from cockpit.trainer import dist

    zero = dist.is_world_zero()
    events = None
    try:
        problem = rd.symlink_problem()
        if problem:
            raise RunDirError(problem)
        events = EventWriter(rd.events, reserve=rd.path / ".space-reserve") if zero else None
        if zero and os.environ.get("COCKPIT_SUPERVISED") != "1":
            # "resuming" until training runs: a second `cockpit resume` meanwhile is told so, by name
            note = acquire_lock(rd, role="resuming" if resume else "")
            if note:
                print(f"[cockpit] {note}", file=sys.stderr, flush=True)
        problem = control_file_problem(rd.control)
        if problem:
            raise PermissionError(f"refusing to read commands: {problem}")
        cfg = load_config(rd.config, check_paths=True)
        if resume and rd.latest_checkpoint() is not None:
            changed = lora_changes(rd, rd.latest_checkpoint())
            if changed:
                raise ConfigError(
                    f"edited since {rd.latest_checkpoint().name} was saved: {changed}; put the "
                    "value(s) back, or start a new run",
                    file=str(rd.config),
                    field="lora",
                )
    except TerminatedWhileLoading:
        return _stopped_while_loading(rd, events, step=0)
    except (LockHeld, ConfigError, PermissionError, OSError) as e:
        print(f"[cockpit] cannot start: {e}", file=sys.stderr, flush=True)
        if events is not None and not isinstance(e, LockHeld):
            events.write("error", message=str(e), traceback=None, step=0)
            events.write("state", state="crashed", step=0, reason=str(e))
        if not isinstance(e, LockHeld):
            release_lock(rd)
        return 2

    notifier = _notifier(cfg, rd, events) if events is not None else None
    step = 0
    run_control = trainer = None
    try:
        from cockpit.rundir import last_event

        last_metrics = last_event(rd.events, "metrics") if resume else None
        logged_upto = int(last_metrics.get("step", 0)) if last_metrics else 0
        ckpt_path = rd.latest_checkpoint() if resume else None
        if events is not None:
            if resume:
                events.write(
                    "state",
                    state="resumed",
                    step=logged_upto,
                    reason=f"from {ckpt_path.name if ckpt_path else 'scratch'}; steps up to "
                    f"{logged_upto} are re-trained but not logged twice",
                )
            else:
                events.write("state", state="starting", step=0, reason=_starting_note(cfg))
        from cockpit.trainer.assemble import assemble

        trainer, run_control, info = assemble(rd, cfg, events, resume, control_offset)
        run_control.logged_upto = logged_upto
        if events is not None:
            events.write("run_started", **info)
            events.sync()
            relabel_lock(rd)
        ckpt = str(rd.latest_checkpoint()) if resume and rd.latest_checkpoint() else None
        from cockpit.trainer.adapter import write_final_adapter
        from cockpit.trainer.callbacks import StopWhilePaused

        try:
            trainer.train(resume_from_checkpoint=ckpt)
        except StopWhilePaused:
            run_control.save_now()
        step = trainer.state.global_step
        adapter, reason = str(rd.adapter), run_control.stop_reason
        if zero:
            adapter, reason = write_final_adapter(trainer, run_control, rd)
        outcome = "stopped" if run_control.stop_reason else "finished"
        if events is not None:
            events.write(
                "state",
                state=outcome,
                step=step,
                reason=reason,
                adapter=adapter,
                last_good_checkpoint=run_control.last_good_checkpoint,
            )
            events.sync()
        # A clean stop is a success for the process: under torchrun a non-zero exit from one rank would
        # make the launcher SIGTERM the others, possibly while rank 0 is still writing the adapter.
        return 0
    except TerminatedWhileLoading:
        return _stopped_while_loading(rd, events, step=trainer.state.global_step if trainer is not None else step)
    except BaseException as e:  # noqa: BLE001 - everything must end as an event, even KeyboardInterrupt
        tb = traceback.format_exc()
        print(tb, file=sys.stderr, flush=True)
        if trainer is not None:
            step = trainer.state.global_step
        if events is not None:
            events.write("error", message=f"{type(e).__name__}: {e}", traceback=tb, step=step)
            if os.environ.get("COCKPIT_SUPERVISED") != "1":
                events.write("state", state="crashed", step=step, reason=f"{type(e).__name__}: {e}")
            # Under the supervisor, rank 0's exception is often only the echo of another rank's death
            # ("connection reset"); the supervisor writes `crashed` once it knows which rank failed.
            events.sync()
        return 3
    finally:
        if run_control is not None:
            run_control.close()
        if zero and os.environ.get("COCKPIT_SUPERVISED") != "1":
            release_lock(rd)
        if notifier is not None:
            notifier.close()  # the run's end goes out (bounded by notify.timeout) before the process ends
        if events is not None:
            events.close()


def _notifier(cfg, rd: RunDir, events: EventWriter):
    """Alerts for the run's guards, end and danger-band crossings (cockpit.notify), when any channel is on."""
    n = cfg.notify
    if not (n.command or n.webhook or n.desktop):
        return None
    from cockpit.notify import Notifier

    notifier = Notifier(n, rd.name, cfg.thresholds.grad_norm_danger, report=lambda **f: events.write("notify", **f))
    events.listen(notifier.offer)
    return notifier


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _stopped_while_loading(rd: RunDir, events, step: int) -> int:
    """A SIGTERM before training began is a stop, as one during training is: say so, free the run."""
    print("[cockpit] stopped by SIGTERM while loading (before training began)", file=sys.stderr, flush=True)
    if events is not None:
        events.write("state", state="stopped", step=step, reason="SIGTERM while loading, before training began")
        events.sync()
        events.close()
    if os.environ.get("COCKPIT_SUPERVISED") != "1":
        release_lock(rd)
    return 0


def _starting_note(cfg) -> str:
    from cockpit.config import DEMO_MODEL

    if cfg.model.name_or_path == DEMO_MODEL:
        from cockpit.demo.model import model_dir

        if not (model_dir() / "config.json").exists():
            return "building the demo model (first use only, about a minute)"
    from cockpit.models import starting_note

    return starting_note(cfg.model.name_or_path) or f"loading {cfg.model.name_or_path}"
