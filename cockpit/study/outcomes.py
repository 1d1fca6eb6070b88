"""The outcomes several stages reach the same way: a trial chosen, and a person's yes awaited."""

from __future__ import annotations

from typing import Any

from cockpit.study.types import Outcome, Question, StageInput, Trial


def choose(trial: Trial, *, sop: str, evidence: list[dict[str, Any]], reason: str) -> Outcome:
    """The stage decided for `trial`: its patch goes forward and it stands for the carried config."""
    return Outcome("done", sop=sop, patch=trial.patch, candidate=trial.key, evidence=evidence, reason=reason)


def unless_yes(
    inp: StageInput, question: Question, *, sop: str, evidence: list[dict[str, Any]], declined: str
) -> Outcome | None:
    """What stops the stage until a person answers yes to `question`: asking it, or, on any other
    answer, blocking with `declined` as the reason. None once the answer is yes."""
    answer = inp.answers.get(question.id)
    if answer is None:
        return Outcome("ask", sop=sop, question=question, evidence=evidence)
    if answer != "yes":
        return Outcome("blocked", sop=sop, evidence=evidence, reason=declined)
    return None
