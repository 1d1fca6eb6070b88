"""Rules on preference training (DPO and its kin: ORPO, CPO, KTO, IPO), read from the signals the trainer
logs for it. The SOP is a LoRA SFT procedure and says nothing of these; each rule cites what TRL's
documentation says the signal is (rules.json: `doc`) and advises in the method's terms (beta, the pairs).

TRL's rewards are beta x (log-prob under the policy - log-prob under the reference): rewards/chosen and
rewards/rejected, their gap rewards/margins, and rewards/accuracies, the share of pairs ranked right.
"""

from __future__ import annotations

from cockpit.advisor import actions
from cockpit.advisor.context import Context, median
from cockpit.advisor.registry import Hit, Rule, fmt, hit_at, registrar

RULES: list[Rule] = []
rule = registrar(RULES)

MIN_POINTS = 10
"""Fewest logged points a preference rule reads: accuracies over a batch of 8 pairs are noisy."""
SATURATED = 0.98
EARLY = 0.2
"""Saturated within this share of the run's logged points: early."""
CHOSEN_FALL = 1.0
"""rewards/chosen this far under zero and under its start: the chosen answers lost likelihood."""
MARGIN_WARN = 10.0
MARGIN_DANGER = 25.0
LOSS_COLLAPSED = 0.05


def _ends(ctx: Context, key: str) -> tuple[list[int], list[float], float, float] | None:
    """(steps, values, start, now): medians of the first and last tenth (at least 3 points) of `key`."""
    st, v = ctx.arrays(key)
    if len(v) < MIN_POINTS:
        return None
    k = max(3, len(v) // 10)
    return st.tolist(), v.tolist(), median(v[:k]), median(v[-k:])


@rule
def preference_accuracy_saturated(ctx: Context) -> Hit | None:
    """rewards/accuracies at ~1 early in the run: every pair is separated at once."""
    got = _ends(ctx, "rewards/accuracies")
    if got is None:
        return None
    steps, acc, _, _ = got
    for i in range(2, len(acc)):
        if median(acc[i - 2 : i + 1]) >= SATURATED:
            if i + 1 > EARLY * len(acc):
                return None
            message = (
                f"rewards/accuracies {fmt(acc[i])} by step {steps[i]} ({(i + 1) / len(acc):.0%} into the run): "
                "every pair is ranked right almost at once: the pairs are easy to tell apart, or the lr is high"
            )
            action = actions.advice(
                "pairs_harder",
                "next run: lr x0.5; harder pairs",
                "Halve the learning rate for the next run, and check the pairs: chosen and rejected answers that "
                "differ in something trivial (length, a template) teach that and nothing else.",
            )
            return hit_at(message, action, [steps[0], steps[i]], [acc[0], acc[i]])
    return None


@rule
def preference_chosen_falling(ctx: Context) -> Hit | None:
    """rewards/chosen falls well under zero: the policy lowers the chosen answers' likelihood too, and wins
    the margin by pushing the rejected ones down faster."""
    got = _ends(ctx, "rewards/chosen")
    if got is None:
        return None
    steps, v, start, now = got
    if not (now < -CHOSEN_FALL and now < start - CHOSEN_FALL):
        return None
    message = (
        f"rewards/chosen fell from {fmt(start)} to {fmt(now)}: the chosen answers lose likelihood against the "
        "reference; the margin comes from pushing both down"
    )
    action = actions.advice(
        "chosen_anchor",
        "next run: lr x0.5; an SFT term (rpo_alpha)",
        "Halve the learning rate, or add a supervised term on the chosen answers (TRL's rpo_alpha) so that "
        "their likelihood is kept while the margin grows.",
    )
    return hit_at(message, action, [steps[0], steps[-1]], [start, now])


@rule
def preference_margin_exploding(ctx: Context) -> Hit | None:
    """rewards/margins far beyond a few nats x beta: the policy runs away from the reference."""
    got = _ends(ctx, "rewards/margins")
    if got is None:
        return None
    steps, v, start, now = got
    if now < MARGIN_WARN:
        return None
    severity = "danger" if now >= MARGIN_DANGER else "warn"
    message = f"rewards/margins {fmt(start)} -> {fmt(now)}: the policy runs far from the reference (margins explode)"
    action = actions.beta_up("the pull toward the reference model")
    return hit_at(message, action, [steps[0], steps[-1]], [start, now], severity=severity)


@rule
def preference_loss_collapse(ctx: Context) -> Hit | None:
    """The preference loss near 0: every pair separated by a wide margin; the pairs are being memorised."""
    got = _ends(ctx, "loss")
    if got is None:
        return None
    steps, v, start, now = got
    if not (now < LOSS_COLLAPSED and start > 4 * LOSS_COLLAPSED):
        return None
    message = f"preference loss {fmt(start)} -> {fmt(now)} (it starts at ln 2 = 0.693 for DPO): the pairs are memorised"
    return hit_at(
        message,
        actions.lr_lower(ctx.is_ours and not ctx.history.finished, ctx.config),
        [steps[0], steps[-1]],
        [start, now],
    )
