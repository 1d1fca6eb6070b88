"""The SOP's stages as pure decision functions: StageInput -> Outcome (see cockpit.study.types)."""

from __future__ import annotations

from collections.abc import Callable

from cockpit.advisor.stage import STAGES
from cockpit.study.stage_sweep import decide_sweep
from cockpit.study.stages_early import decide_baseline, decide_data, decide_structure
from cockpit.study.stages_late import decide_backtrack, decide_final, decide_stability
from cockpit.study.stages_tune import decide_alpha, decide_dropout
from cockpit.study.types import Outcome, StageInput

DECIDERS: dict[int, Callable[[StageInput], Outcome]] = {
    0: decide_data,
    1: decide_structure,
    2: decide_baseline,
    3: decide_sweep,
    4: decide_dropout,
    5: decide_alpha,
    6: decide_stability,
    7: decide_backtrack,
    8: decide_final,
}
assert set(DECIDERS) == set(STAGES)


def decide(inp: StageInput) -> Outcome:
    return DECIDERS[inp.stage](inp)
