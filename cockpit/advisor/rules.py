"""Every rule the advisor evaluates, in the SOP's order of signals: loss, grad_norm, entropy, the run
around them, the course of the whole run (loss and lr alone), how a step goes, then the method's own
signals (preference and RL trainers), then the causes that read several signals together and fold the
symptoms they explain (causes.py).

The order is the README table's and the tie-break of findings of equal severity, so it is written here
once rather than left to the order modules happen to be imported in.
"""

from __future__ import annotations

from cockpit.advisor import (
    causes,
    course_rules,
    entropy_rules,
    forgetting,
    gradient_rules,
    loss_rules,
    preference_rules,
    rl_rules,
    run_rules,
    step_rules,
)
from cockpit.advisor.registry import Rule

RULES: list[Rule] = [
    *loss_rules.RULES,
    *gradient_rules.RULES,
    *entropy_rules.RULES,
    *run_rules.RULES,
    *course_rules.RULES,
    *step_rules.RULES,
    *forgetting.RULES,
    *preference_rules.RULES,
    *rl_rules.RULES,
    *causes.RULES,
]
