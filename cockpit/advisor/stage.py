"""Which SOP stage a run is at, and what it still needs to move on.

Stages: 0 data check, 1 structure (r, target_modules), 2 baseline config (every value frozen), 3 lr sweep, 4 dropout,
5 alpha, 6 stability check, 7 structure backtrack, 8 final long run and save.
"""

from __future__ import annotations

from cockpit.advisor.context import Context
from cockpit.advisor.registry import SOP
from cockpit.advisor.types import Finding
from cockpit.severity import RANK

STAGES = {
    0: "data check",
    1: "structure",
    2: "baseline config (frozen)",
    3: "lr sweep",
    4: "dropout",
    5: "alpha",
    6: "stability check",
    7: "structure backtrack",
    8: "final long run",
}
STAGE_SOP = {
    0: SOP + "stage-0-data-check",
    1: SOP + "stage-1-structure",
    2: SOP + "stage-2-baseline-config",
    3: SOP + "stage-3-learning-rate-sweep",
    4: SOP + "stage-4-dropout",
    5: SOP + "stage-5-alpha",
    6: SOP + "stage-6-stability-check",
    7: SOP + "stage-7-structure-backtrack",
    8: SOP + "stage-8-final-long-run",
}
"""Each stage's section of docs/SOP.md."""
NEEDS = {
    0: ["run `cockpit check-data` (size, templating, tokens, chat template)"],
    1: ["start with r=8 on q_proj,v_proj, alpha=2r, dropout 0.05"],
    2: [
        "freeze a baseline config: lr 1e-4 (a placeholder), lora_alpha = 2r, lora_dropout 0.05, adamw, constant "
        "or cosine, max_grad_norm 1.0; later stages change one knob at a time against it",
        "extra: the untrained model's eval loss on the data, a reference every run must beat",
    ],
    3: ["sweep lr over 5e-5, 1e-4, 2e-4 for 500-1000 steps (`cockpit sweep`); keep the smooth decline"],
    4: ["raise lora_dropout to 0.1 only if entropy collapses"],
    5: ["tune lora_alpha: up if loss falls slowly, down if grad_norm rises"],
    6: ["loss must not collapse", "grad_norm stable in 0.1-5", "entropy holds (no collapse)"],
    7: ["only when lr <= 5e-5, dropout >= 0.1, alpha <= 2r, grad_norm stable and the task is still not learned"],
    8: ["train the full length and save; merge when the samples look right"],
}


def infer_stage(ctx: Context, findings: list[Finding]) -> int:
    cfg = ctx.config
    if isinstance(cfg.get("sop_stage"), int):
        return cfg["sop_stage"]
    if not ctx.is_ours:
        return 6 if len(ctx.history) else 0  # someone else's log: all we can judge is stability
    if not len(ctx.history):
        return 0
    lora = ctx.lora
    r = lora.get("r", 8)
    alpha = lora.get("lora_alpha") or 2 * r
    targets = lora.get("target_modules") or []
    total = ctx.history.total_steps or 0
    if r > 8 or (
        isinstance(targets, list) and len(set(targets) - {"q_proj", "v_proj"}) > 0 and r >= 8 and "k_proj" in targets
    ):
        return 7
    if alpha != 2 * r:
        return 5
    if (lora.get("lora_dropout") or 0.05) > 0.05:
        return 4
    if 0 < total <= 1000:
        return 3
    worst = max((RANK[f.severity] for f in findings), default=0)
    return 8 if worst == 0 and ctx.history.step > 1000 else 6


SCRIPT_NEEDS = {
    0: ["check the data your script feeds the Trainer (size, templating, tokens, chat template)"],
    3: [
        "sweep learning_rate over 5e-5, 1e-4, 2e-4 for 500-1000 steps: one run of your script per value "
        "(`cockpit run -- ...` each, `cockpit compare` after); keep the smooth decline"
    ],
}
"""The stages whose needs name our config's commands, worded for a user's own script's run: it has no
config of ours for `cockpit sweep` or `cockpit check-data` to read."""


def needs(stage: int, findings: list[Finding], *, script: bool = False) -> list[str]:
    out = list((SCRIPT_NEEDS if script and stage in SCRIPT_NEEDS else NEEDS).get(stage, []))
    blocking = [f for f in findings if RANK[f.severity] >= RANK["warn"]]
    if blocking and stage >= 6:
        out.insert(0, f"clear: {', '.join(sorted({f.rule for f in blocking}))}")
    return out


MAP_MARK = {"done": "✓", "skipped": "–", "current": "▶", "blocked": "✖", "todo": "·"}


def sop_map(stage_states: list[str]) -> list[tuple[int, str, str]]:
    """A study's stages 0-8 as (stage, name, mark): done | skipped | current | blocked | todo, where
    current is the first stage not done or skipped (a study's ledger, `cockpit.study.ledger`, gives the
    states). The stage a study's run is at comes from here, not from a guess over its config."""
    out = []
    current = next((i for i, s in enumerate(stage_states) if s not in ("done", "skipped")), None)
    for i, s in enumerate(stage_states):
        mark = (
            s if s in ("done", "skipped") else ("blocked" if s == "blocked" else "current" if i == current else "todo")
        )
        out.append((i, STAGES.get(i, "?"), mark))
    return out


def study_stage(stage_states: list[str]) -> int | None:
    """The study's current stage (the first not done or skipped), or None when it is complete."""
    return next((i for i, m in enumerate(stage_states) if m not in ("done", "skipped")), None)
