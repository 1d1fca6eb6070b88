"""Rules on RL fine-tuning (GRPO, RLOO, PPO), read from the signals those trainers log. The SOP does not
cover RL; each rule cites what TRL's documentation says the signal is (rules.json: `doc`) and advises in
the method's terms (the reward function, beta, the completion length, the sampling temperature).

A GRPO loss is not an SFT loss: it is 0 at the first step whenever the policy still equals its old copy,
and it goes negative. These rules read the reward and the policy's drift instead.
"""

from __future__ import annotations

from cockpit.advisor import actions
from cockpit.advisor.context import Context, median
from cockpit.advisor.registry import Hit, Rule, fmt, hit_at, registrar
from cockpit.bands import SHARE_BANDS

RULES: list[Rule] = []
rule = registrar(RULES)

RECENT = 10
"""Logged points a rule on the current level reads."""
ZERO_STD_WARN, ZERO_STD_DANGER = SHARE_BANDS["frac_reward_zero_std"]
"""The share of groups with one reward for all their completions (the cockpit's bands on that chart)."""
FLAT_MIN_POINTS = 50
FLAT_SHARE = 0.1
"""The reward moved less than this share of its spread (reward_std) over the run: flat."""
KL_RISE = 2.0
KL_WARN = 0.5
KL_DANGER = 5.0
CLIPPED_WARN, CLIPPED_DANGER = SHARE_BANDS["completions/clipped_ratio"]
ENTROPY_LOW = 0.1
ENTROPY_SHARE = 0.2
LENGTH_GROWTH = 2.0


def _recent(ctx: Context, key: str) -> tuple[list[int], list[float], float] | None:
    st, v = ctx.tail(key, RECENT)
    return (st, v, median(v)) if len(v) >= 3 else None


def _quarters(ctx: Context, key: str, n_min: int) -> tuple[list[int], float, float] | None:
    """(steps, first, last): medians of the first and last quarter of `key`'s logged points."""
    st, v = ctx.arrays(key)
    if len(v) < n_min:
        return None
    k = max(2, len(v) // 4)
    return st.tolist(), median(v[:k]), median(v[-k:])


@rule
def rl_no_reward_signal(ctx: Context) -> Hit | None:
    """Every group's completions get the same reward (frac_reward_zero_std near 1, or reward_std 0): the
    advantages are all 0 and nothing is learned, whatever the lr."""
    got = _recent(ctx, "frac_reward_zero_std")
    if got is not None:
        steps, v, share = got
        if share < ZERO_STD_WARN:
            return None
        severity = "danger" if share >= ZERO_STD_DANGER else "warn"
        what = f"frac_reward_zero_std {fmt(share)} over the last {len(v)} logged steps"
    else:
        got = _recent(ctx, "reward_std")
        if got is None or got[2] > 1e-6:
            return None
        steps, v, _ = got
        severity, what = "danger", f"reward_std 0 over the last {len(v)} logged steps"
    _, r = ctx.tail(ctx.kind.key(ctx.history, "reward"), RECENT)
    at = f" (reward ~{fmt(median(r))})" if r else ""
    message = f"{what}{at}: every completion in a group gets the same reward, so no advantage and no learning signal"
    action = actions.advice(
        "reward_signal",
        "make the reward tell completions apart",
        "Give partial credit (a graded reward, not pass/fail), pick prompts neither all solved nor all failed, "
        "or sample more completions per prompt (num_generations) at a higher temperature.",
    )
    return hit_at(message, action, [steps[0], steps[-1]], [v[0], v[-1]], severity=severity)


@rule
def rl_reward_flat(ctx: Context) -> Hit | None:
    """The mean reward has not moved over the run, measured against its own spread."""
    key = ctx.kind.key(ctx.history, "reward")
    got = _quarters(ctx, key, FLAT_MIN_POINTS)
    if got is None:
        return None
    steps, first, last = got
    _, spread = ctx.arrays("reward_std")
    _, r = ctx.arrays(key)
    scale = median(spread) if len(spread) else float(r.std())
    if not (scale > 0 and abs(last - first) < FLAT_SHARE * scale):
        return None
    message = (
        f"{key} {fmt(first)} -> {fmt(last)} (first and last quarter) against a spread of {fmt(scale)}: "
        f"the reward has not moved in {len(r)} logged steps"
    )
    action = actions.advice(
        "reward_check",
        "check the reward on samples",
        "Read a few completions with their rewards: a reward that cannot be earned, or is earned by "
        "chance, does not rise. If it is sound and the KL hardly moves, the lr is too low.",
    )
    return hit_at(message, action, [steps[0], steps[-1]], [first, last], spread=scale)


@rule
def rl_kl_runaway(ctx: Context) -> Hit | None:
    """The KL to the reference keeps rising, to a large value: the policy drifts away without bound."""
    key = ctx.kind.key(ctx.history, "kl")
    st, v = ctx.arrays(key)
    if len(v) < 10:
        return None
    k = len(v) // 3
    a, b, c = median(v[:k]), median(v[k : 2 * k]), median(v[-k:])
    if not (c >= KL_WARN and b >= a and c >= KL_RISE * max(b, 1e-12)):
        return None
    severity = "danger" if c >= KL_DANGER else "warn"
    message = f"{key} rising {fmt(a)} -> {fmt(b)} -> {fmt(c)} (thirds of the run): the policy drifts from the reference without bound"
    action = actions.beta_up("the KL penalty")
    return hit_at(message, action, [int(st[0]), int(st[-1])], [a, c], severity=severity)


@rule
def rl_completions_clipped(ctx: Context) -> Hit | None:
    """Many completions are cut at the maximum length: their ending (and usually their reward) is lost."""
    got = _recent(ctx, "completions/clipped_ratio")
    if got is None or got[2] < CLIPPED_WARN:
        return None
    steps, v, share = got
    severity = "danger" if share >= CLIPPED_DANGER and len(v) >= 5 else "warn"  # 3-4 points: a warning
    message = f"{share:.0%} of completions cut at the maximum length (last {len(v)} logged steps)"
    action = actions.advice(
        "longer_completions",
        "raise max_completion_length",
        "Raise max_completion_length, or reward shorter answers; a cut answer rarely earns its reward.",
    )
    return hit_at(message, action, [steps[0], steps[-1]], [v[0], v[-1]], severity=severity)


@rule
def rl_entropy_collapse(ctx: Context) -> Hit | None:
    """The policy's entropy fell to near 0: it samples one answer and no longer explores."""
    key = ctx.kind.key(ctx.history, "entropy")
    st, v = ctx.arrays(key)
    if len(v) < 10:
        return None
    start, now = median(v[:3]), median(v[-5:])
    if not (start > 0 and now < ENTROPY_SHARE * start and now < ENTROPY_LOW):
        return None
    severity = "danger" if now < ENTROPY_LOW / 5 else "warn"
    message = f"{key} {fmt(start)} -> {fmt(now)}: the policy has collapsed onto few answers and stops exploring"
    return hit_at(
        message,
        actions.lr_lower(ctx.is_ours and not ctx.history.finished, ctx.config),
        [int(st[0]), int(st[-1])],
        [start, now],
        severity=severity,
    )


@rule
def rl_length_hacking(ctx: Context) -> Hit | None:
    """The reward rises while the completions grow several-fold: the reward may be paying for length."""
    reward = _quarters(ctx, ctx.kind.key(ctx.history, "reward"), 20)
    length = _quarters(ctx, "completions/mean_length", 20)
    if reward is None or length is None:
        return None
    _, r0, r1 = reward
    steps, l0, l1 = length
    _, spread = ctx.arrays("reward_std")
    scale = median(spread) if len(spread) else abs(r0) or 1.0
    if not (r1 - r0 > 0.5 * scale and l0 > 0 and l1 >= LENGTH_GROWTH * l0):
        return None
    message = (
        f"reward {fmt(r0)} -> {fmt(r1)} while completions grew {fmt(l0)} -> {fmt(l1)} tokens: "
        "the reward may be paying for length"
    )
    action = actions.advice(
        "length_penalty",
        "check samples; penalise length",
        "Read the longest completions: if length earns the reward, penalise it (or cap max_completion_length).",
    )
    return hit_at(message, action, [steps[0], steps[-1]], [l0, l1], reward=[r0, r1])
