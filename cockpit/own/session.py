"""What `CockpitCallback` does once training begins: the run directory, then our trainer's own callbacks.

The callbacks are the ones `python -m cockpit.trainer` trains with (`cockpit.trainer.callbacks`), in the
same order, over one `RunControl`: the event contract, the commands, the pause, the samples and the stop
list are the same code for our runs and a user's. What differs here:
- the run directory is created by the callback (or by `cockpit run -- ...`, whose wrapper holds the lock
  and writes the final state from the command's exit);
- `run_started` is read from the Trainer (`cockpit.own.describe`), with `config` null;
- a stop while paused lets `trainer.train()` return normally (the script's own save logic runs) instead
  of raising out of it, and `merge` is refused (merge the adapter the script saves with `cockpit merge`).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from cockpit.own import RUN_DIR_ENV, WRAPPED_ENV
from cockpit.rundir import (
    FINAL_STATES,
    EventWriter,
    LockHeld,
    RunDir,
    acquire_lock,
    last_event,
    release_lock,
    unused_stamped_path,
)

MERGE_REFUSED = "a script's run is merged from the adapter it saves: cockpit merge ADAPTER_DIR"


class ScriptSession:
    """One training run of a user's Trainer, as the cockpit sees it.

    Usage:
    ```python
    >>> session = ScriptSession.begin(callback, args, state, kwargs)   # at on_train_begin
    >>> session.forward("on_log", args, state, control, kwargs)
    ```

    Args:
        callbacks: our trainer's callbacks, in order.
        run: their shared `RunControl`.
        rd: the run directory (None on every rank but world zero).
        wrapped: under `cockpit run -- ...`'s wrapper (it holds the lock and writes the final state).
    """

    def __init__(self, callbacks: list, run, rd: RunDir | None, wrapped: bool, inert: bool = False):
        self.callbacks, self.run, self.rd, self.wrapped, self.inert = callbacks, run, rd, wrapped, inert
        self.ended = False

    @classmethod
    def inert_session(cls) -> ScriptSession:
        return cls([], None, None, wrapped=False, inert=True)

    @classmethod
    def begin(cls, cb, args, state, kwargs: dict[str, Any]) -> ScriptSession:
        from cockpit.trainer import dist

        trainer = cb.trainer or find_trainer(cb)
        cb.trainer = trainer
        if not _serves(cb, trainer):
            return cls.inert_session()
        from cockpit.own.settings import script_settings

        settings = script_settings(cb.guards, cb.thresholds, cb.samples)
        wrapped = os.environ.get(WRAPPED_ENV) == "1"
        zero = dist.is_world_zero()
        rd = _run_dir(cb, wrapped) if zero else None
        events = EventWriter(rd.events, reserve=rd.path / ".space-reserve") if rd is not None else None
        # A second Trainer in the same run (a script that trains twice) starts reading commands from now.
        again = rd is not None and last_event(rd.events, "run_started") is not None
        offset = rd.control.stat().st_size if again and rd.control.exists() else 0
        return cls._assemble(cb, trainer, args, state, kwargs, settings, rd, events, offset, wrapped)

    @classmethod
    def _assemble(cls, cb, trainer, args, state, kwargs, settings, rd, events, offset, wrapped) -> ScriptSession:
        from cockpit.own.describe import run_started
        from cockpit.own.prompts import first_prompt
        from cockpit.trainer import build
        from cockpit.trainer.callbacks import PauseCallback, RunControl, cockpit_callbacks
        from cockpit.trainer.memory import make_reader

        tokenizer = kwargs.get("processing_class")
        tokenizer = getattr(tokenizer, "tokenizer", tokenizer)  # a multimodal processor holds one
        if not settings.samples.prompts:
            prompt = first_prompt(getattr(trainer, "train_dataset", None), tokenizer)
            settings.samples.prompts = [prompt] if prompt else []
        run = RunControl(rd, settings, events, control_offset=offset)
        run.refused_commands = {"merge": MERGE_REFUSED}
        _install_sigterm(run)
        run.trainer = trainer
        idx = _device_index(args)
        mem_kind, mem_reader = make_reader(idx)
        sampler = build.make_sampler(settings) if settings.samples.prompts else None
        sample_fn = (lambda model, _pc: sampler(model, tokenizer)) if sampler is not None else None
        callbacks = cockpit_callbacks(run, mem_reader, mem_kind, sample_fn=sample_fn, device_index=idx)
        for c in callbacks:
            if isinstance(c, PauseCallback):
                c.raise_on_stop = False  # train() must return: the script's own save logic follows it
        if events is not None:
            events.write("run_started", **run_started(trainer, args, state, kwargs.get("model"), mem_kind, idx))
            events.sync()
            print(f"[cockpit] run directory: {rd.path.absolute()}", file=sys.stderr, flush=True)
        session = cls(callbacks, run, rd, wrapped)
        if not wrapped and events is not None:
            _end_as_crashed_on_exception(session)
        return session

    def forward(self, event: str, args, state, control, kwargs: dict[str, Any]):
        for cb in self.callbacks:
            result = getattr(cb, event)(args, state, control, **kwargs)
            if result is not None:
                control = result
        if event == "on_train_end":
            self.end(state.global_step)
        return control

    def end(self, step: int, crashed: BaseException | None = None, tb: str | None = None) -> None:
        """Training is over. Under the wrapper the command's exit decides the final state; a script
        that added the callback itself ends here: stopped or finished (its adapter is saved after this,
        by the script), or crashed."""
        if self.ended:
            return
        self.ended = True
        run = self.run
        run.close()
        if run.events is None:
            return
        if not self.wrapped:
            if crashed is not None:
                message = f"{type(crashed).__name__}: {crashed}"
                run.emit("error", message=message, traceback=tb, step=step)
                run.emit("state", state="crashed", step=step, reason=message)
            elif _final(self.rd) is None:
                run.emit(
                    "state",
                    state="stopped" if run.stop_reason else "finished",
                    step=step,
                    reason=run.stop_reason,
                    adapter=None,
                    last_good_checkpoint=run.last_good_checkpoint,
                )
            release_lock(self.rd)
        run.events.sync()
        run.events.close()


def _serves(cb, trainer) -> bool:
    """Of several CockpitCallbacks in one Trainer, one serves: the first the script added itself, else the
    hook's."""
    if trainer is None:
        return True
    from cockpit.callback import CockpitCallback

    mine = [c for c in trainer.callback_handler.callbacks if isinstance(c, CockpitCallback)]
    chosen = next((c for c in mine if not c.auto), mine[0] if mine else cb)
    return chosen is cb


def find_trainer(cb):
    """The Trainer whose hook is calling: the `self` of a frame up the stack whose callback handler lists
    this callback (`callbacks=[...]` and `add_callback` give the callback no way back to its Trainer)."""
    frame = sys._getframe(1)
    while frame is not None:
        owner = frame.f_locals.get("self")
        handler = getattr(owner, "callback_handler", None)
        if handler is not None and any(c is cb for c in getattr(handler, "callbacks", ())):
            return owner
        frame = frame.f_back
    return None


def _run_dir(cb, wrapped: bool) -> RunDir:
    given = cb.run_dir or (Path(os.environ[RUN_DIR_ENV]) if os.environ.get(RUN_DIR_ENV) else None)
    if wrapped and given is not None:
        rd = RunDir(given)  # made, checked and locked by the wrapper
        problem = rd.symlink_problem()
        if problem:
            raise RuntimeError(f"cockpit: {problem}")
        return rd
    if given is None:
        name = cb.name or Path(sys.argv[0] or "script").stem or "script"
        given = unused_stamped_path(cb.runs_dir, name)
    rd = RunDir(given).create()  # the same refusals as `cockpit run --run-dir`: new, or empty and yours
    try:
        acquire_lock(rd)
    except LockHeld as e:
        raise RuntimeError(f"cockpit: {e}") from None
    return rd


def _final(rd: RunDir | None) -> str | None:
    ev = last_event(rd.events, "state") if rd is not None else None
    return ev.get("state") if ev and ev.get("state") in FINAL_STATES else None


def _device_index(args) -> int | None:
    try:
        device = args.device
    except Exception:
        return None
    return (device.index or 0) if getattr(device, "type", "") == "cuda" else None


def _install_sigterm(run) -> None:
    """A SIGTERM stops at the next step boundary, as for our runs (only the main thread may set it)."""
    try:
        run.install_sigterm()
    except ValueError:
        pass


def _end_as_crashed_on_exception(session: ScriptSession) -> None:
    """A script that added the callback itself and raises out of training ends as crashed, with the
    traceback (under the wrapper, the wrapper reads it from trainer.log)."""
    previous = sys.excepthook

    def hook(kind, value, tb):
        if not session.ended:
            import traceback

            text = "".join(traceback.format_exception(kind, value, tb))
            trainer = session.run.trainer
            session.end(trainer.state.global_step if trainer is not None else 0, crashed=value, tb=text)
        previous(kind, value, tb)

    sys.excepthook = hook
