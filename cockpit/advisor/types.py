"""What the advisor says: findings with evidence, one next action, the SOP stage."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cockpit.severity import worst


@dataclass(frozen=True)
class Action:
    """One thing to do. `command` the trainer applies live; `config_patch` goes into the next run."""

    id: str
    label: str
    description: str
    command: dict[str, Any] | None = None
    config_patch: dict[str, Any] | None = None

    @property
    def live(self) -> bool:
        return self.command is not None


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: str
    message: str
    evidence: dict[str, Any] = field(default_factory=dict)
    first_step: int | None = None
    last_step: int | None = None
    action: Action | None = None
    folded: tuple[Finding, ...] = ()
    """Findings this one explains (its root cause makes their advice moot): shown under it, not beside it."""

    def to_dict(self) -> dict[str, Any]:
        d = {
            "rule": self.rule,
            "severity": self.severity,
            "message": self.message,
            "evidence": self.evidence,
            "first_step": self.first_step,
            "last_step": self.last_step,
        }
        if self.action is not None:
            d["action"] = {
                "id": self.action.id,
                "label": self.action.label,
                "command": self.action.command,
                "config_patch": self.action.config_patch,
            }
        if self.folded:
            d["folded"] = [f.to_dict() for f in self.folded]
        return d


@dataclass
class Advice:
    stage: int
    stage_name: str
    stage_needs: list[str]
    findings: list[Finding]
    next_action: Action | None
    verdict: str

    @property
    def worst(self) -> str:
        return worst(f.severity for f in self.findings)
