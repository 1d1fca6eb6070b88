"""The cockpit in your own training script: one callback for any `transformers.Trainer` (so every TRL trainer).

    from cockpit.callback import CockpitCallback

    trainer = SFTTrainer(..., callbacks=[CockpitCallback()])      # or: trainer.add_callback(CockpitCallback())
    trainer.train()

Then `cockpit attach runs/<name>-<stamp>` (the directory is printed when training begins) shows the run live,
and its keys (or `cockpit ctl RUN ...`) pause, change the lr, save, sample and stop it. `cockpit run -- python
train.py` adds this callback to every Trainer the script builds, without the script changing a line.

Importing this module costs nothing heavy (no torch, transformers or textual): the cockpit's trainer
callbacks (`cockpit.trainer.callbacks`) are built when training begins, inside the process that already
imported the ML stack. The callback is a plain object the Trainer calls hook by hook (its `CallbackHandler`
only looks hooks up by name), forwarding each hook to those callbacks in their order.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ["CockpitCallback"]


class CockpitCallback:
    """Writes the run directory's events and obeys its control file, from inside a user's Trainer.

    Usage:
    ```python
    >>> trainer = Trainer(model=model, args=args, train_dataset=ds, callbacks=[CockpitCallback("runs/mine")])
    >>> trainer.train()
    ```

    Args:
        run_dir: the run directory; default `$COCKPIT_RUN_DIR` (set by `cockpit run -- ...`), else a new
            `RUNS_DIR/NAME-<stamp>`. An existing directory must be empty and yours, as for `cockpit run
            --run-dir` (no links, no one else's files).
        runs_dir: where a new run directory is created (default `runs`).
        name: the new run directory's name (default: the script's file name).
        guards: the stop list's actions, as the config's `guards` section, e.g. `{"on_explosion": "warn",
            "on_loss_jump": "off"}`; `$COCKPIT_GUARDS` (`on_explosion=warn,on_loss_jump=off`) overrides.
        thresholds: the danger bounds the guards judge with, as the config's `thresholds` section.
        samples: as the config's `samples` section (`prompts`, `every`, `max_new_tokens`); without prompts,
            the first prompt of the training data is used; `$COCKPIT_SAMPLE_PROMPTS` (a JSON list) overrides.

    The run's `system` events (CPU, RSS, RAM, disk, and GPU through NVML) come every 15 s of training, as
    from the cockpit's own trainer; `$COCKPIT_SYSTEM_EVERY` sets the seconds (`0`: every log; `off`: none).
    """

    def __init__(
        self,
        run_dir: str | Path | None = None,
        *,
        runs_dir: str | Path = "runs",
        name: str | None = None,
        guards: Mapping[str, Any] | None = None,
        thresholds: Mapping[str, Any] | None = None,
        samples: Mapping[str, Any] | None = None,
        sample_prompts: Sequence[str] | None = None,
    ):
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.runs_dir, self.name = Path(runs_dir), name
        self.guards, self.thresholds = dict(guards or {}), dict(thresholds or {})
        self.samples = dict(samples or {})
        if sample_prompts is not None:
            self.samples["prompts"] = list(sample_prompts)
        self.auto = False
        """Added by the startup hook of `cockpit run -- ...`: steps aside for one the script added itself."""
        self.trainer = None
        """The Trainer it serves (found when training begins): saving while paused goes through it."""
        self.session = None
        """`cockpit.own.session.ScriptSession` once training has begun: the run control and the callbacks."""

    def __getattr__(self, name: str):
        # Every hook, present and future, by name: the Trainer's CallbackHandler calls getattr(cb, event).
        if name.startswith("on_"):
            return functools.partial(self._forward, name)
        raise AttributeError(name)

    def _forward(self, event: str, args, state, control, **kwargs):
        if event == "on_train_begin" and self.session is None:
            from cockpit.own.session import ScriptSession

            self.session = ScriptSession.begin(self, args, state, kwargs)
        session = self.session
        if session is None or session.inert:
            return None
        return session.forward(event, args, state, control, kwargs)

    @property
    def run_path(self) -> Path | None:
        """The run directory this callback writes (on world zero, once training has begun)."""
        s = self.session
        return s.rd.path if s is not None and s.rd is not None else None
