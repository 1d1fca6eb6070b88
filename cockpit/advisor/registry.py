"""What a rule is: a small pure function of the run's series, config and thresholds, with the SOP section
it encodes. Each rules module keeps its own list; `cockpit.advisor.rules` joins them in the SOP's order.

A rule returns zero or more findings with evidence (steps and values). Rules reason in *logged points*
(an HF log may log every 500 steps) and use steps only where the SOP speaks in steps (collapse within
200 steps).

    RULES: list[Rule] = []
    rule = registrar(RULES)

    @rule("loss_flat", "loss", sop=SOP + "signal-loss", sop_line="...", severity="warn", action="lr x2")
    def loss_flat(ctx: Context) -> list[Finding]: ...
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from cockpit.advisor import actions
from cockpit.advisor.context import Context
from cockpit.advisor.types import Action, Finding

SOP = "docs/SOP.md#"
"""Where the procedure is written down: a rule's `sop` is this and the anchor of its section."""


@dataclass(frozen=True)
class Rule:
    id: str
    signal: str
    doc: str
    check: Callable[[Context], list[Finding]]
    sop: str = ""
    """The section of docs/SOP.md the rule encodes, as a link: `docs/SOP.md#stage-6-stability-check`."""
    sop_line: str = ""
    """The line of that section (or of the notes it comes from) the rule encodes, in a few words."""
    severity: str = ""
    """The severities it can give, as the README table shows them."""
    action: str = ""
    """What it advises, as the README table shows it."""


def registrar(rules: list[Rule]):
    """A decorator that appends each rule it wraps to `rules` and returns the function unchanged."""

    def rule(id: str, signal: str, *, sop: str, sop_line: str, severity: str, action: str):
        def deco(fn: Callable[[Context], list[Finding]]) -> Callable[[Context], list[Finding]]:
            rules.append(Rule(id, signal, (fn.__doc__ or "").strip(), fn, sop, sop_line, severity, action))
            return fn

        return deco

    return rule


def nonfinite(ctx: Context, key: str) -> list[Finding]:
    """A finding for the logged steps where `key` was NaN or inf: the SOP stops the run at once."""
    bad = ctx.history.nonfinite.get(key, [])
    if not bad:
        return []
    return [
        Finding(
            f"{key}_nonfinite",
            "critical",
            f"{key} is NaN/inf at {len(bad)} logged step(s)",
            {"steps": bad[:20]},
            bad[0],
            bad[-1],
            actions.stop(),
        )
    ]


def nonfinite_rule(key: str, sop_line: str) -> Rule:
    """The stop list's rule for NaN or inf `key`: the same check and advice for every signal it names
    (a NaN update would poison the adapter)."""
    return Rule(
        f"{key}_nonfinite",
        key,
        f"NaN or inf {key}: stop (SOP).",
        partial(nonfinite, key=key),
        SOP + "the-stop-list",
        sop_line,
        "critical",
        "stop (live); next run lr x0.5",
    )


def over_window(
    rule: str, severity: str, message: str, steps: list[int], w: int, action: Action | None, **evidence: Any
) -> list[Finding]:
    """A finding about the last `w` logged steps: the window's first and last step lead its evidence."""
    return [
        Finding(rule, severity, message, {"steps": [steps[-w], steps[-1]], **evidence}, steps[-w], steps[-1], action)
    ]


def fmt(x: float) -> str:
    """A value in a finding's message: three significant digits."""
    return f"{x:.3g}"
