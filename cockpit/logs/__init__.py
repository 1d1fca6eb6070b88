"""How any training log becomes a History: one folder for the reading side.

    formats.py        the registry: which formats exist, in the order they are tried, and the contract
                      a format module keeps (read it first to add one)
    events.py         our own events.jsonl (a run directory)
    trainer_state.py  Hugging Face `trainer_state.json` (or a checkpoint folder holding one)
    state_stream.py   a long trainer_state.json read a few MB at a time
    llamafactory.py   LLaMA-Factory's `trainer_log.jsonl`
    llamafactory_columns.py  its runs of training lines made columns straight from the parsed lines
    durations.py      many '3 days, 21:03:44' elapsed times in seconds at once
    console.py        a Trainer / TRL / axolotl / Unsloth run's saved console output
    foreign.py        what the readers of other tools' logs share (run_started, numbers as text, ...)
    loaded.py         `resolve(PATH)`: find the log behind a path, whatever its format -> LoadedLog
    errors.py         LogError, what every reader raises for a path it cannot read
    jsonline.py       parsing one JSON line the way every reader must (fast, only ValueError)
    preload.py        reading a long log in a forked child while the command imports its UI
    columns.py        logged values into float columns in bulk
    cache.py          long logs' folded histories kept on disk for the next read
    tensorboard.py, wandb_offline.py, wandb_export.py, trackio.py, mlflow.py
                      other trackers' logs; tracker_rows.py, what they share (names, row shapes);
                      sqlite_store.py, opening a tracker's database; optional.py, an extra's import
    downsample.py     a long series fitted into a chart's points, spikes kept

The public names below are loaded on first use (PEP 562), not at import: `cockpit.rundir` imports
`cockpit.logs.jsonline`, and `loaded` imports `cockpit.rundir`, so importing them here eagerly would
make a cycle.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_PUBLIC = {
    "LogError": "cockpit.logs.errors",
    "LoadedLog": "cockpit.logs.loaded",
    "resolve": "cockpit.logs.loaded",
    "load_history": "cockpit.logs.loaded",
    "trainer_state_events": "cockpit.logs.trainer_state",
    "FORMATS": "cockpit.logs.formats",
}

__all__ = ["FORMATS", "LoadedLog", "LogError", "load_history", "resolve", "trainer_state_events"]


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'cockpit.logs' has no attribute {name!r}")
    return getattr(import_module(module), name)
