"""The metrics the cockpit and the report chart, in the order they show them, for each kind of run."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Metric:
    key: str
    """The field of a `metrics` event."""
    title: str
    """Its name on a chart."""
    short: str
    """Its name where room is short (a cockpit panel's title)."""


CHARTED = (
    Metric("loss", "loss", "loss"),
    Metric("grad_norm", "grad_norm", "grad_norm"),
    Metric("update_ratio", "update size", "update"),
    Metric("entropy", "entropy", "entropy"),
    Metric("mem_used", "memory", "memory"),
    Metric("learning_rate", "learning rate", "lr"),
    Metric("tokens_per_s", "tokens/s", "tokens/s"),
)
"""The stability signals first (loss, grad_norm, the update size, entropy: the SOP reads them); then what the
run costs and how fast it goes."""

_BY_KEY = {m.key: m for m in CHARTED}

PREFERENCE_CHARTED = (
    Metric("rewards/margins", "reward margin (chosen - rejected)", "margin"),
    Metric("rewards/accuracies", "reward accuracy (pairs ranked right)", "accuracy"),
    Metric("loss", "preference loss", "loss"),
    Metric("rewards/chosen", "reward of the chosen answers", "chosen"),
    Metric("rewards/rejected", "reward of the rejected answers", "rejected"),
    _BY_KEY["grad_norm"],
    _BY_KEY["learning_rate"],
)
"""A DPO-style run: its rewards in place of the update size, entropy and throughput it does not log."""

RL_CHARTED = (
    Metric("reward", "reward", "reward"),
    Metric("reward_std", "reward std (within groups)", "reward std"),
    Metric("kl", "KL to the reference", "KL"),
    Metric("completions/mean_length", "completion length (tokens)", "length"),
    Metric("completions/clipped_ratio", "completions cut at max length", "clipped"),
    _BY_KEY["entropy"],
    _BY_KEY["grad_norm"],
)
"""A GRPO/PPO-style run: the reward, its spread, the drift from the reference and the completions; its loss
(0 at the first step, negative at times) says little and is left out."""

REWARD_CHARTED = (
    _BY_KEY["loss"],
    Metric("accuracy", "accuracy (pairs ranked right)", "accuracy"),
    Metric("margin", "reward margin", "margin"),
    _BY_KEY["grad_norm"],
    _BY_KEY["mem_used"],
    _BY_KEY["learning_rate"],
    _BY_KEY["tokens_per_s"],
)

BY_METHOD = {"sft": CHARTED, "preference": PREFERENCE_CHARTED, "rl": RL_CHARTED, "reward": REWARD_CHARTED}
"""Each kind of run (cockpit.run_kind) -> the metrics charted for it, the headline one first."""

ALL_CHARTED = tuple({m.key: m for ms in BY_METHOD.values() for m in ms}.values())
"""Every metric any kind charts, once: the cockpit builds a panel for each and shows its kind's."""


def charted(method: str) -> tuple[Metric, ...]:
    """The metrics charted for a run of this kind (SFT's for an unknown one)."""
    return BY_METHOD.get(method, CHARTED)


def panel_id(key: str) -> str:
    """The widget id of a metric's panel (`m-loss`, `m-rewards-margins`): ids take no slash."""
    return "m-" + key.replace("/", "-")
