"""What the step-0 audit returns: `AuditReport` (written as the trainer's `audit` event) and its findings."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from cockpit import severity


@dataclass
class DataFinding:
    severity: str
    """ok | warn | danger."""
    code: str
    """Stable id: templated_small, truncation, template_mismatch, ..."""
    message: str


@dataclass
class AuditReport:
    source: str
    format: str
    rows: int
    """Training rows (after skipping malformed ones)."""
    eval_rows: int
    skipped_rows: int
    bad_rows: list[str]
    """The first 20 malformed rows as `file:line: what` (only with --skip-bad / data.skip_bad)."""
    size_bucket: str
    duplicate_ratio: float
    near_duplicate_ratio: float
    shared_prefix_ratio: float
    top_prefix: str
    templated: bool
    tokens: dict[str, Any]
    """mean, p50, p95, max, truncated_share, dropped, max_length, answer_mean, prompt_mean, sampled_rows,
    tokenizer; empty when no tokenizer could be loaded."""
    style: dict[str, Any]
    """families (share per family), top_family, length_cv, top_first_word, top_first_word_share."""
    one_style: bool
    reasoning_need: str
    recommended: dict[str, Any]
    """learning_rate, lora_dropout, r, lora_alpha, target_modules."""
    config_patch: dict[str, Any]
    """Dotted config keys whose value differs from the recommended start (for a next-config action)."""
    template: dict[str, Any]
    """`TemplateCheck.to_dict()`: prompt_match, mismatch_rows, loss_share, masked_ok, sample (diff...)."""
    findings: list[DataFinding] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    """The messages of the warn and danger findings, most severe first."""
    worst: str = "ok"
    elapsed_s: float = 0.0
    general_mix: str = ""
    """What general replay (data.general_mix) adds to the training rows, in a line."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def exit_code(self) -> int:
        return severity.RANK.get(self.worst, 0)
