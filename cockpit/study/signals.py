"""What the study reads off a trial's history: the sweep's verdict, the advisor's findings, eval losses.

Every reading keeps where it came from (trial, rule id, steps), so a decision's evidence can be checked.
"""

from __future__ import annotations

import math
import statistics
from typing import Any

from cockpit.advisor import evaluate
from cockpit.history import History
from cockpit.study.types import Trial
from cockpit.sweep.verdict import TOO_HIGH_GUARDS, absorbed_spikes, is_absorbed, trial_verdict

# The SOP's gradient trouble: what its ladder (lr x0.5, then clipping, then alpha down) answers.
GRADIENT_RULES = (
    "grad_norm_explosion",
    "grad_norm_precursor",
    "grad_norm_nonfinite",
    "grad_norm_sawtooth",
    "grad_norm_rising_alpha",
    "loss_nonfinite",
    "loss_jump",
    "divergence",
    "update_large",
)
ENTROPY_RULES = ("entropy_collapse", "fake_learning")


def _finite(xs) -> list[float]:
    return [float(x) for x in xs if isinstance(x, (int, float)) and math.isfinite(x)]


def findings(trial: Trial) -> list[dict[str, Any]]:
    """The advisor's findings on the trial, folded symptoms included, as evidence rows."""
    _, found = evaluate(trial.history, trial.config)
    rows = []
    for f in found:
        for g in (f, *f.folded):
            rows.append(
                {
                    "trial": trial.key,
                    "rule": g.rule,
                    "severity": g.severity,
                    "message": g.message,
                    "first_step": g.first_step,
                    "last_step": g.last_step,
                }
            )
    return rows


def guard_stops(trial: Trial) -> list[dict[str, Any]]:
    """The trainer's own guards that acted on the SOP's stop list (they count however short the trial)."""
    out = []
    for m in trial.history.marks:
        ev = m.event
        if m.kind == "guard" and ev.get("rule") in TOO_HIGH_GUARDS:
            out.append(
                {
                    "trial": trial.key,
                    "rule": ev.get("rule"),
                    "severity": ev.get("severity"),
                    "message": ev.get("message"),
                    "first_step": ev.get("step"),
                    "last_step": ev.get("step"),
                }
            )
    return out


def gradient_trouble(trial: Trial) -> list[dict[str, Any]]:
    """Evidence of gradient trouble (warn or worse), or [] when the gradients behaved."""
    spikes = absorbed_spikes(trial.history)  # one clipped spike the guard let pass is no trouble
    rows = [
        f
        for f in findings(trial)
        if f["rule"] in GRADIENT_RULES
        and f["severity"] != "ok"
        and not is_absorbed(f["rule"], f["first_step"], f["last_step"], spikes)
    ]
    return rows + guard_stops(trial)


def rule_rows(trial: Trial, rules: tuple[str, ...]) -> list[dict[str, Any]]:
    return [f for f in findings(trial) if f["rule"] in rules]


def evals(hist: History, key: str = "eval_loss") -> list[tuple[int, float]]:
    col = hist.eval_series.get(key)
    if col is None:
        return []
    return [(int(s), float(v)) for s, v in zip(hist.eval_steps, col) if math.isfinite(v)]


def reference_eval_loss(hist: History) -> tuple[int, float] | None:
    """The eval loss before the first optimizer step (eval_on_start): the untrained model's."""
    pts = [p for p in evals(hist) if p[0] == 0]
    return pts[0] if pts else None


def final_eval_loss(hist: History) -> tuple[int, float] | None:
    pts = [p for p in evals(hist) if p[0] > 0]
    return pts[-1] if pts else None


def series_ends(hist: History, key: str) -> tuple[float, float] | None:
    """(start, end) medians of the first and last fifth of a metric, or None when too few points."""
    xs = _finite(hist.series.get(key, []))
    if len(xs) < 4:
        return None
    k = max(2, len(xs) // 5)
    return statistics.median(xs[:k]), statistics.median(xs[-k:])


def summary(trial: Trial) -> dict[str, Any]:
    """The numbers a stage compares trials on, with the steps they came from."""
    v = trial_verdict(trial.history, trial.config)
    out: dict[str, Any] = {
        "trial": trial.key,
        "run_dir": trial.run_dir,
        "verdict": v["verdict"],
        "reason": v.get("reason"),
        "loss_start": v.get("loss_start"),
        "loss_end": v.get("loss_end"),
        "steps": trial.history.step,
        "state": trial.history.state,
    }
    ref = reference_eval_loss(trial.history)
    fin = final_eval_loss(trial.history)
    if ref:
        out["eval_loss_start"], out["eval_loss_start_step"] = ref[1], ref[0]
    if fin:
        out["eval_loss_end"], out["eval_loss_end_step"] = fin[1], fin[0]
    ent = series_ends(trial.history, "entropy")
    if ent:
        out["entropy_start"], out["entropy_end"] = ent
    g = _finite(trial.history.series.get("grad_norm", []))
    if g:
        out["grad_norm_max"] = max(g)
        out["grad_norm_tail_median"] = statistics.median(g[-max(3, len(g) // 3) :])
    return out


def score(s: dict[str, Any]) -> float:
    """Lower is better: the final eval loss when the trial evaluated, else its final train loss."""
    for key in ("eval_loss_end", "loss_end"):
        v = s.get(key)
        if isinstance(v, (int, float)) and math.isfinite(v):
            return float(v)
    return math.inf
