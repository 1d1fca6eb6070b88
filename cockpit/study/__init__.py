"""The SOP across runs: `cockpit study CONFIG` walks stages 0-8, one short trial run at a time.

    runs/<name>-study-<stamp>/
      study.json        the ledger (cockpit.study.ledger): per stage its state, runs, evidence, decision
      study.log         (only when run detached by a shell) the terminal's lines
      s2-baseline/      one ordinary run directory per trial: attach, replay, report, compare work on each
      s3-lr-0.0001/ ...
      s8-final/         the final long run; its adapter/ is the study's result

The decisions are pure functions (cockpit.study.decide) over the trials' histories; the runner
(cockpit.study.runner) starts the trials and keeps the ledger.
"""

from __future__ import annotations

import sys
from pathlib import Path

from cockpit.study.budget import Budget

__all__ = ["create", "main"]


def create(cfg, source: str, runs_dir: Path, options: dict) -> Path:
    from cockpit.rundir import unused_stamped_path
    from cockpit.study.ledger import new_ledger, save

    study_dir = unused_stamped_path(runs_dir, f"{cfg.name}-study")
    study_dir.mkdir(parents=True)
    save(study_dir, new_ledger(cfg.model_dump(mode="json"), source, options))
    return study_dir


def _fetch_model(cfg, err) -> bool:
    """A known real model is fetched before stage 0 reads its tokenizer; False when that failed."""
    from cockpit.models import resolve_model_path
    from cockpit.models.download import FetchError

    try:
        resolve_model_path(cfg.model.name_or_path, log=err)
        return True
    except FetchError as e:
        err(f"error: model.name_or_path: {e}")
        return False


def main(
    target: str,
    *,
    load_config,
    runs_dir: str,
    auto: bool,
    accept_defaults: bool,
    budget: Budget,
    answers: dict[str, str],
) -> int:
    """`cockpit study`: exit 0 done, 1 paused (budget, or stopped between stages), 2 blocked (refused
    data, a failed run), 3 waiting for a person's answer, 130 interrupted (the study continues later)."""
    from cockpit.study import ledger as L
    from cockpit.study import lock
    from cockpit.study.launcher import TrainerLauncher
    from cockpit.study.ledger import STUDY_FILE, is_study_dir
    from cockpit.study.prompt import Asker
    from cockpit.study.runner import Runner

    def err(line: str) -> None:
        print(line, file=sys.stderr)

    problem = budget.problem()
    if problem:
        err(f"error: {problem}")
        return 2
    path = Path(target)
    if path.is_dir():
        if not is_study_dir(path):
            err(f"error: {path}: not a study directory (no {STUDY_FILE}); give a config file to start one")
            return 2
        study_dir = path
        try:
            lock.hold(study_dir)
        except lock.StudyBusy as e:
            err(f"error: {e}: one `cockpit study` at a time per study (it takes each next step itself)")
            return 2
        try:
            ledger = L.load(study_dir)
        except ValueError as e:
            err(f"error: {e}")
            return 2
        ledger["options"].update(budget.given())
        L.save(study_dir, ledger)
        print(f"study: {study_dir} (continuing at stage {L.current_stage(ledger)})")
    else:
        cfg = load_config(target)
        try:
            study_dir = create(cfg, str(Path(target).resolve()), Path(runs_dir), budget.new_study_options())
        except OSError as e:
            err(f"error: --runs-dir: cannot create the study directory: {e}")
            return 2
        lock.hold(study_dir)  # a new directory: nobody else can hold it yet
        print(f"study: {study_dir}")
    cfg = L.load(study_dir)["config"]
    from cockpit.config import RunConfig

    if not _fetch_model(RunConfig.model_validate(cfg), err):
        return 2
    runner = Runner(
        study_dir, auto=auto, launcher=TrainerLauncher(), asker=Asker(accept_defaults=accept_defaults, answers=answers)
    )
    try:
        code = runner.run()
    except KeyboardInterrupt:
        runner.save()
        running = [
            t["run_dir"] for st in runner.ledger["stages"] for t in st["trials"].values() if t.get("state") == "running"
        ]
        print(
            f"\ninterrupted: `cockpit study {study_dir}` continues where it stopped"
            + (
                f"; the trial {running[0]} goes on (`cockpit ctl {study_dir / running[0]} stop` stops it)"
                if running
                else ""
            )
        )
        return 130
    print(f"study {runner.ledger['state']}: {study_dir / STUDY_FILE}")
    return code
