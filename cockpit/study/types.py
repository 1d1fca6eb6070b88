"""What a stage's decision function sees and what it answers: pure data, no processes, no files."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cockpit.config import RunConfig
from cockpit.history import History

STAGE_STATES = ("todo", "running", "done", "skipped", "blocked")


@dataclass(frozen=True)
class TrialSpec:
    """A short run a stage asks for: the carried config with `patch` applied."""

    key: str
    """Stable within the stage (`lr-0.0002`, `dropout-0.2`, `grad-1-lr`): the ledger finds it again by it."""
    patch: dict[str, Any]
    """Dotted config keys (`training.learning_rate`) set on top of the carried config."""
    why: str
    """One line for the ledger and the terminal: what this trial is for."""
    final: bool = False
    """The final long run (final_steps, checkpoints, the adapter kept) instead of a short trial."""
    reuse: str | None = None
    """The key of an earlier trial (`stage:key`) run with exactly this config: read it instead of running."""


@dataclass
class Trial:
    """A trial that ended, as the decisions read it."""

    key: str
    patch: dict[str, Any]
    config: RunConfig
    history: History
    run_dir: str | None = None


@dataclass(frozen=True)
class Question:
    """What only a person can judge (are the samples rigid?). `default` is what --accept-defaults takes."""

    id: str
    text: str
    options: tuple[str, ...] = ("yes", "no")
    default: str = "yes"


@dataclass
class StageInput:
    """Everything a stage's decision may read."""

    stage: int
    config: RunConfig
    """The carried config: the study's config with every earlier decision applied."""
    trials: dict[str, Trial] = field(default_factory=dict)
    """This stage's ended trials, by key."""
    candidate: Trial | None = None
    """The trial that stands for the carried config (the chosen lr trial, then the chosen dropout...)."""
    answers: dict[str, str] = field(default_factory=dict)
    """A person's answers to this stage's questions, by question id."""
    reference_eval_loss: float | None = None
    """The untrained model's eval loss (stage 2): what a fine-tune must beat."""
    audit: dict[str, Any] | None = None
    """`cockpit check-data`'s report (stage 0), as a dict."""
    backtracked: tuple[dict[str, Any], ...] = ()
    """Structure changes stage 7 already made, in order."""
    model_width: int | None = None
    """The base model's hidden size (stage 3 scales the notes' lr range by it); None when unknown."""
    runs_left: int | None = None
    """Runs the study may still start (--max-runs); None when unlimited. Exploratory trials need room."""
    measured: tuple[Trial, ...] = ()
    """Every short trial of this round that ended, from every stage (stage 8 takes the best measured)."""


@dataclass
class Outcome:
    """A stage's answer. `kind`:

    - run:      run `trials` (those not yet run), then ask again;
    - done:     the stage decided: `patch` goes forward, `candidate` (a trial key) stands for it;
    - skipped:  nothing to do here, `reason` says why;
    - ask:      a person must answer `question` first;
    - blocked:  the study cannot go on by itself (`reason`): a refused data check, a run that failed;
    - back:     stage 7 changed the structure: `patch` goes forward and the study returns to `next_stage`.
    """

    kind: str
    reason: str = ""
    sop: str = ""
    """The SOP line the decision came from."""
    patch: dict[str, Any] = field(default_factory=dict)
    trials: list[TrialSpec] = field(default_factory=list)
    evidence: list[dict[str, Any]] = field(default_factory=list)
    """Metrics and rule ids with the trial and steps they came from."""
    candidate: str | None = None
    question: Question | None = None
    next_stage: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    """Stage-specific numbers worth keeping (the reference eval loss, the merge command)."""
