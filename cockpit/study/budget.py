"""What a study may spend, as `cockpit study` was given it: steps per trial and for the final run, runs, hours."""

from __future__ import annotations

from dataclasses import asdict, dataclass

DEFAULT_TRIAL_STEPS = 500
DEFAULT_FINAL_STEPS = 2000
MIN_STEPS = 10
"""Fewer steps than this show no trend: a trial or final run that short is refused."""


@dataclass(frozen=True)
class Budget:
    """The budget options given on the command line; None where one was not given."""

    trial_steps: int | None = None
    """Steps of each short trial (a new study: DEFAULT_TRIAL_STEPS)."""
    final_steps: int | None = None
    """Steps of the final long run (a new study: DEFAULT_FINAL_STEPS)."""
    max_runs: int | None = None
    """Start at most this many runs."""
    max_hours: float | None = None
    """Wall-time budget."""

    def problem(self) -> str | None:
        """What is wrong with the budget, naming the option; None when nothing is."""
        for flag, v in (("--trial-steps", self.trial_steps), ("--final-steps", self.final_steps)):
            if v is not None and v < MIN_STEPS:
                return f"{flag}: a run needs at least {MIN_STEPS} steps to show a trend (got {v})"
        return None

    def given(self) -> dict:
        """The options given: a continued study's ledger takes them over its own."""
        return {k: v for k, v in asdict(self).items() if v is not None}

    def new_study_options(self) -> dict:
        """A new study's ledger options: what was given, the default steps where they were not."""
        return {
            **asdict(self),
            "trial_steps": self.trial_steps or DEFAULT_TRIAL_STEPS,
            "final_steps": self.final_steps or DEFAULT_FINAL_STEPS,
        }
