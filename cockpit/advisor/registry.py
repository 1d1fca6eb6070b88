"""What a rule is: a small pure function of the run's series, config and thresholds, with the SOP section
it encodes. Each rules module keeps its own list; `cockpit.advisor.rules` joins them in the SOP's order.

What a rule cites and advises (the README table's row: its signal, its SOP section and line, the
severities it gives, its action) is data, in rules.json beside this file, keyed by the rule's id: the id
is the name of the function that checks it. A row also says where the rule means something: `kinds`, the
kinds of run it reads (cockpit.run_kind: sft, preference, rl, reward; every kind when absent), `needs`,
the signals the log must carry, and `without`, the signals whose presence makes it moot (a loss-only
rule stands aside where grad_norm is logged and its own rules judge). A rule that cannot apply says
nothing. Where the SOP has nothing on a method (DPO, GRPO), the row cites the trainer's documentation in
`doc` instead of an SOP anchor.

A check returns what it saw, a `Hit`, or None; `Rule.check` makes the `Finding` from it and the rule's
row (its id, and its severity where it gives only one). Rules reason in *logged points* (an HF log may
log every 500 steps) and use steps only where the SOP speaks in steps (collapse within 200 steps).

    RULES: list[Rule] = []
    rule = registrar(RULES)

    @rule
    def loss_flat(ctx: Context) -> Hit | None: ...
"""

from __future__ import annotations

import json
import operator
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from cockpit.advisor import actions
from cockpit.advisor.context import Context
from cockpit.advisor.types import Action, Finding
from cockpit.severity import RANK

SOP = "docs/SOP.md#"
"""Where the procedure is written down: a rule's `sop` is this and the anchor of its section."""
TRAINER_DOCS = "https://huggingface.co/docs/trl/"
"""Where a rule the SOP does not cover (preference and RL signals) cites what its signal means."""

ROWS: dict[str, dict[str, str]] = json.loads(Path(__file__).with_name("rules.json").read_text(encoding="utf-8"))
"""Rule id -> what it cites and advises: signal, sop (the anchor), sop_line, severity, action."""


@dataclass(frozen=True)
class Hit:
    """What a rule's check saw: a finding less what the rule's row declares."""

    message: str
    evidence: dict[str, Any]
    first_step: int | None
    last_step: int | None
    action: Action | None
    severity: str = ""
    """Empty for the rule's own, where its row names one; a rule that gives several names it here."""


@dataclass(frozen=True)
class Rule:
    id: str
    signal: str
    """The signal (or part of the run) it reads: loss, grad_norm, eval, config..."""
    doc: str
    see: Callable[[Context], Hit | None]
    """The check: what it saw on a run, or None."""
    sop: str
    """The section of docs/SOP.md the rule encodes, as a link: `docs/SOP.md#stage-6-stability-check`."""
    sop_line: str
    """The line of that section (or of the notes it comes from) the rule encodes, in a few words."""
    severity: str
    """The severities it can give, as the README table shows them."""
    action: str
    """What it advises, as the README table shows it."""
    kinds: tuple[str, ...] = ()
    """The kinds of run it reads (every kind when empty)."""
    needs: tuple[str, ...] = ()
    """The signals the log must carry for it to apply."""
    without: tuple[str, ...] = ()
    """The signals whose presence makes it moot."""
    at_end: bool = False
    """It judges the run as a whole (its epochs, whether its warm-up ended): a replay's earlier cursor,
    which cuts the run short, would read every run as incomplete."""

    @classmethod
    def declared(cls, id: str, doc: str, see: Callable[[Context], Hit | None]) -> Rule:
        """The rule `id` with its row from rules.json."""
        if id not in ROWS:
            raise LookupError(f"rule {id!r} has no row in cockpit/advisor/rules.json")
        row = ROWS[id]
        cite = row["doc"] if "doc" in row else SOP + row["sop"]
        scope = (tuple(row.get(k, ())) for k in ("kinds", "needs", "without"))
        at_end = bool(row.get("at_end"))
        return cls(id, row["signal"], doc, see, cite, row["sop_line"], row["severity"], row["action"], *scope, at_end)

    def applies(self, ctx: Context) -> bool:
        """Whether the run is of a kind it reads and carries the signals it needs."""
        kind = ctx.kind
        return (
            (not self.kinds or kind.method in self.kinds)
            and all(kind.has(s) for s in self.needs)
            and not any(kind.has(s) for s in self.without)
        )

    def check(self, ctx: Context) -> list[Finding]:
        """The rule's findings on ctx: none (also where it does not apply), or the one its hit makes."""
        if not self.applies(ctx):
            return []
        hit = self.see(ctx)
        if hit is None:
            return []
        severity = hit.severity or self.severity
        if severity not in RANK:
            raise ValueError(f"rule {self.id} gives {self.severity!r}: each hit must name its severity")
        evidence = hit.evidence
        if self.sop.startswith(TRAINER_DOCS):  # no SOP line to point at: what the signal is, and where it is defined
            evidence = {**evidence, "signal": self.sop_line, "doc": self.sop}
        return [Finding(self.id, severity, hit.message, evidence, hit.first_step, hit.last_step, hit.action)]


def registrar(rules: list[Rule]):
    """A decorator that appends the rule each function checks (named by the function) to `rules` and
    returns the function unchanged."""

    def rule(fn: Callable[[Context], Hit | None]) -> Callable[[Context], Hit | None]:
        rules.append(Rule.declared(fn.__name__, (fn.__doc__ or "").strip(), fn))
        return fn

    return rule


def nonfinite(ctx: Context, key: str) -> Hit | None:
    """The logged steps where `key` was NaN or inf: the SOP stops the run at once."""
    bad = ctx.history.nonfinite.get(key, [])
    if not bad:
        return None
    return hit_at(f"{key} is NaN/inf at {len(bad)} logged step(s)", actions.stop(), bad)


def nonfinite_rule(key: str) -> Rule:
    """The stop list's rule for NaN or inf `key`: the same check and advice for every signal it names
    (a NaN update would poison the adapter)."""
    return Rule.declared(f"{key}_nonfinite", f"NaN or inf {key}: stop (SOP).", partial(nonfinite, key=key))


def hit_at(
    message: str,
    action: Action | None,
    steps: list[int],
    values: list[float] | None = None,
    *,
    severity: str = "",
    **evidence: Any,
) -> Hit:
    """A hit on these logged points: it spans the first to the last of them, and its evidence keeps the
    first 20 of them (with their values, where given) ahead of the rest."""
    shown: dict[str, Any] = {"steps": steps[:20]}
    if values is not None:
        shown["values"] = values[:20]
    return Hit(message, {**shown, **evidence}, steps[0], steps[-1], action, severity)


def over_window(message: str, action: Action | None, steps: list[int], w: int, **evidence: Any) -> Hit:
    """A hit on the last `w` logged steps: the window's first and last step lead its evidence."""
    return hit_at(message, action, [steps[-w], steps[-1]], **evidence)


def graded(
    value: float, warn: float, danger: float, reached: Callable[[float, float], bool] = operator.ge
) -> str | None:
    """The severity of `value` against a warn and a danger bound (`reached`: at or over, by default),
    None under both."""
    if reached(value, danger):
        return "danger"
    if reached(value, warn):
        return "warn"
    return None


def fmt(x: float) -> str:
    """A value in a finding's message: three significant digits."""
    return f"{x:.3g}"
