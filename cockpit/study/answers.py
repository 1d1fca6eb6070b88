"""`cockpit study --answer ID=VALUE`: checked against the questions a study asks, before it goes on.

A value is read as the terminal prompt reads one (case and surrounding space ignored, a unique prefix
taken: `Yes`, `y` -> yes); an empty or unknown value, or an id no stage asks, is refused instead of
being recorded as a "no" for good. A new answer may replace one a stage has not yet acted on."""

from __future__ import annotations

from typing import Any

QUESTION_IDS = ("sweep_fallback", "dropout_unresolved", "outputs_rigid", "unstable_go_on", "samples_right", "merge")
"""Every question a stage asks (cockpit/study/stage*.py, merge_offer.py); a test keeps this list whole."""
OPTIONS = ("yes", "no")


def pick(got: str, options: tuple[str, ...] | list[str]) -> str | None:
    """The option `got` names (case-insensitive, a unique prefix), or None."""
    got = got.strip().lower()
    match = [o for o in options if o.startswith(got)] if got else []
    return match[0] if len(match) == 1 else None


def _open_questions(ledger: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    if ledger is None:
        return {}
    return {st["question"]["id"]: st["question"] for st in ledger["stages"] if st.get("question")}


def check_answers(given: dict[str, str], ledger: dict[str, Any] | None) -> dict[str, str]:
    """The answers with their values normalised; ValueError naming the first that cannot be taken."""
    asked = _open_questions(ledger)
    waiting = f" (the study waits for: {', '.join(asked)})" if asked else ""
    out = {}
    for qid, value in given.items():
        qid = qid.strip()
        if qid not in QUESTION_IDS:
            raise ValueError(
                f"--answer {qid}={value}: no stage asks '{qid}'{waiting}; the questions are: {', '.join(QUESTION_IDS)}"
            )
        options = tuple((asked.get(qid) or {}).get("options") or OPTIONS)
        got = pick(value, options)
        if got is None:
            raise ValueError(f"--answer {qid}={value!r}: expected one of {', '.join(options)}")
        done = settled(ledger, qid) if ledger is not None else None
        if done is not None and done[1] != got:
            raise ValueError(
                f"--answer {qid}={got}: stage {done[0]} went on with {qid}={done[1]} already; "
                "a new answer cannot change what it decided (start a new study to decide again)"
            )
        out[qid] = got
    return out


def settled(ledger: dict[str, Any], qid: str) -> tuple[int, str] | None:
    """(stage, recorded answer) when a stage that is over already acted on an answer to `qid`."""
    for st in ledger["stages"]:
        if qid in (st.get("answers") or {}) and st["state"] in ("done", "skipped"):
            return st["stage"], st["answers"][qid]
    return None
