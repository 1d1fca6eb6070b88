"""The startup hook of `cockpit run -- COMMAND`: CockpitCallback in every Trainer the command builds.

How it works: `cockpit run` puts this file's directory first on the command's PYTHONPATH (inherited by
torchrun's and accelerate's worker processes). Python imports `sitecustomize` at start-up, so every Python
process of the command runs this file, which only registers an import watcher: nothing is imported until
the script imports `transformers.trainer` (directly, or through `transformers.Trainer` or TRL). Once that
module has loaded, `Trainer.__init__` is wrapped: after the Trainer is built, a `CockpitCallback` is
added to it unless the script added one itself. The patch is per process and changes nothing else.

Off: `COCKPIT_AUTOHOOK=0` in the environment (the script may still add `CockpitCallback` itself; it
then writes the run directory `cockpit run` made, `$COCKPIT_RUN_DIR`). An environment's own
`sitecustomize` (the one this file shadows) is still run, after this.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TARGET = "transformers.trainer"


def _add_cockpit(trainer) -> None:
    from cockpit.callback import CockpitCallback

    if any(isinstance(c, CockpitCallback) for c in trainer.callback_handler.callbacks):
        return
    cb = CockpitCallback()
    cb.auto, cb.trainer = True, trainer
    trainer.add_callback(cb)


def _patch(module) -> None:
    trainer_cls = getattr(module, "Trainer", None)
    if trainer_cls is None or getattr(trainer_cls.__init__, "_cockpit_hooked", False):
        return
    original = trainer_cls.__init__

    def __init__(self, *args, **kwargs):
        original(self, *args, **kwargs)
        _add_cockpit(self)

    __init__._cockpit_hooked = True
    __init__.__wrapped__ = original
    __init__.__doc__ = original.__doc__
    trainer_cls.__init__ = __init__


class _TrainerWatcher(importlib.abc.MetaPathFinder):
    """Finds nothing itself: when `transformers.trainer` is looked up, it lets the other finders find it
    and patches the module right after the module has run."""

    def find_spec(self, name, path, target=None):
        if name != TARGET:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None and spec.loader is not None and hasattr(spec.loader, "exec_module"):
                run = spec.loader.exec_module

                def exec_module(module, run=run):
                    run(module)
                    _patch(module)

                spec.loader.exec_module = exec_module
                return spec
        return None


class _CockpitFinder(importlib.abc.MetaPathFinder):
    """`cockpit` itself, from where `cockpit run` found it, when the command's Python does not have it
    installed (another virtual environment); last in line, so an installed cockpit wins."""

    def find_spec(self, name, path, target=None):
        parent = os.environ.get("COCKPIT_PACKAGE_PARENT")
        if name != "cockpit" or not parent:
            return None
        return importlib.machinery.PathFinder.find_spec(name, [parent])


def _chain() -> None:
    """Run the sitecustomize this one shadows, if the environment has one."""
    others = [p for p in sys.path if os.path.abspath(p or os.curdir) != HERE]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", others)
    if spec is None or spec.loader is None:
        return
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as e:  # the environment's hook failing must not stop the command
        print(f"[cockpit] the environment's sitecustomize failed: {e}", file=sys.stderr)


if os.environ.get("COCKPIT_AUTOHOOK", "1") != "0":
    if TARGET in sys.modules:
        _patch(sys.modules[TARGET])
    else:
        sys.meta_path.insert(0, _TrainerWatcher())
    sys.meta_path.append(_CockpitFinder())
_chain()
