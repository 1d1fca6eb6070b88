"""The SOP across runs: `cockpit study CONFIG` walks stages 0-8, one short trial run at a time.

    runs/<name>-study-<stamp>/
      study.json        the ledger (cockpit.study.ledger): per stage its state, runs, evidence, decision
      study.log         (only when run detached by a shell) the terminal's lines
      s2-baseline/      one ordinary run directory per trial: attach, replay, report, compare work on each
      s3-lr-0.0001/ ...
      s8-final/         the final long run; its adapter/ is the study's result ...
      s8-final-alt/     ... unless a runner-up the short trials tied with it ended lower over the full length

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


def pass_webhook(cfg) -> None:
    """A literal `notify.webhook` is a secret: the ledger and the trials' config.yaml hold `<hidden>`.
    Each trial (and a resumed one) gets the URL as `cockpit run` hands it to its trainer: in its
    environment, from this process's."""
    import os

    from cockpit.config.notify import WEBHOOK_HIDDEN
    from cockpit.launch import WEBHOOK_ENV

    v = cfg.notify.webhook
    if v and not v.startswith("env:") and v != WEBHOOK_HIDDEN:
        os.environ[WEBHOOK_ENV] = v


def webhook_given(config: dict, study_dir: Path) -> None:
    """A continued study whose config had a literal webhook: its URL was not stored, so it must come
    from the environment again, or the trials would alert nobody without a word. ValueError otherwise."""
    import os

    from cockpit.config.notify import WEBHOOK_HIDDEN
    from cockpit.launch import WEBHOOK_ENV

    if (config.get("notify") or {}).get("webhook") == WEBHOOK_HIDDEN and not os.environ.get(WEBHOOK_ENV):
        raise ValueError(
            f"{study_dir / 'study.json'}: notify.webhook was given as a URL, which is a secret and not "
            f"stored: give it again as `{WEBHOOK_ENV}=URL cockpit study {study_dir}`, or use "
            "notify.webhook: env:NAME in the config"
        )


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
    from cockpit.study.answers import check_answers
    from cockpit.study.launcher import TrainerLauncher
    from cockpit.study.ledger import STUDY_FILE, is_study_dir
    from cockpit.study.prompt import Asker
    from cockpit.study.runner import Runner, StudyStopped

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
            answers = check_answers(answers, ledger)
            webhook_given(ledger["config"], study_dir)
            ledger["options"].update(budget.given())
            L.save(study_dir, ledger)
            at = L.current_stage(ledger)
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            err(f"error: {e}" if isinstance(e, ValueError) else f"error: {study_dir / STUDY_FILE}: {e!r}")
            return 2
        except OSError as e:
            err(f"error: {study_dir / STUDY_FILE}: cannot write: {e.strerror or e}")
            return 2
        print(f"study: {study_dir} (continuing at stage {at})")
    else:
        cfg = load_config(target)
        try:
            answers = check_answers(answers, None)
        except ValueError as e:
            err(f"error: {e}")
            return 2
        pass_webhook(cfg)
        try:
            study_dir = create(cfg, str(Path(target).resolve()), Path(runs_dir), budget.new_study_options())
        except OSError as e:
            err(f"error: --runs-dir: cannot create the study directory: {e}")
            return 2
        lock.hold(study_dir)  # a new directory: nobody else can hold it yet
        print(f"study: {study_dir}")
    from cockpit.config import RunConfig

    try:
        cfg = RunConfig.model_validate(L.load(study_dir)["config"])
    except ValueError as e:
        err(f"error: {study_dir / STUDY_FILE}: config: {e}")
        return 2
    if not _fetch_model(cfg, err):
        return 2
    runner = Runner(
        study_dir, auto=auto, launcher=TrainerLauncher(), asker=Asker(accept_defaults=accept_defaults, answers=answers)
    )
    try:
        code = runner.run()
    except StudyStopped as e:
        err(f"error: {e}")
        return 2
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
