"""What kind of training a run is (supervised fine-tuning, preference training, RL, reward modelling) and
which signals its log carries, read from the keys it logs and from its own `run_started`.

    kind = RunKind.of(history)
    kind.method      # "sft" | "preference" | "rl" | "reward"
    kind.signals     # {"loss", "grad_norm", "eval", "entropy", "rewards", "kl", "completions", ...}

A loss means something different in each: an SFT loss is nats per token; a DPO loss starts at ln 2; a
GRPO loss is often 0 at the first step. The advisor's rules declare the kinds and signals they need
(cockpit/advisor/rules.json) and say nothing about a run they cannot read. No Textual, no torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

METHODS = ("sft", "preference", "rl", "reward")
LABEL = {
    "sft": "supervised fine-tuning",
    "preference": "preference training (DPO-style)",
    "rl": "RL (GRPO/PPO-style)",
    "reward": "reward modelling",
}

PREFERENCE_KEYS = ("rewards/chosen", "rewards/rejected", "rewards/margins", "rewards/accuracies")
"""What TRL's DPO, ORPO, CPO, KTO and their kin log (https://huggingface.co/docs/trl/dpo_trainer)."""
RL_KEYS = (
    "reward",
    "reward_std",
    "frac_reward_zero_std",
    "kl",
    "completions/mean_length",
    "completions/clipped_ratio",
    "objective/kl",
    "objective/entropy",
    "objective/rlhf_reward",
)
"""What TRL's GRPO (and RLOO) log, and PPO's `objective/*` (https://huggingface.co/docs/trl/logging)."""
REWARD_MODEL_KEYS = ("accuracy", "margin")
"""What TRL's RewardTrainer logs beside its loss (https://huggingface.co/docs/trl/reward_trainer)."""

METHOD_KEYS = (*PREFERENCE_KEYS, *RL_KEYS, *REWARD_MODEL_KEYS)
"""The method's own metrics a History keeps as columns beside the SFT ones (cockpit.history)."""

ALIASES = {
    "kl": ("kl", "objective/kl"),
    "entropy": ("entropy", "objective/entropy"),
    "reward": ("reward", "objective/rlhf_reward"),
}
"""A signal and the keys that carry it, GRPO's name first, PPO's after."""

DECLARED = {
    "sft": "sft",
    "dpo": "preference",
    "orpo": "preference",
    "cpo": "preference",
    "kto": "preference",
    "simpo": "preference",
    "ipo": "preference",
    "preference": "preference",
    "grpo": "rl",
    "ppo": "rl",
    "rloo": "rl",
    "rl": "rl",
    "reward": "reward",
    "reward_model": "reward",
}
"""A `method` a run_started may declare (ours, or a callback's from the trainer's class) -> its kind."""


def _logged(history: Any, key: str) -> bool:
    """Whether any finite value of `key` was logged (a vectorised scan: a long run has 100,000 rows)."""
    col = history.series.get(key)
    return col is not None and len(col) > 0 and bool(np.isfinite(np.frombuffer(col, dtype=np.float64)).any())


@dataclass(frozen=True)
class RunKind:
    method: str
    signals: frozenset[str]
    declared: bool = False
    """True when the run said what it is (run_started's `method`), False when read from its keys."""

    @property
    def label(self) -> str:
        return LABEL[self.method]

    def has(self, signal: str) -> bool:
        return signal in self.signals

    def key(self, history: Any, signal: str) -> str:
        """The key that carries `signal` in this history (GRPO's name, else PPO's)."""
        for k in ALIASES.get(signal, (signal,)):
            if _logged(history, k):
                return k
        return signal

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "label": self.label, "signals": sorted(self.signals), "declared": self.declared}

    @classmethod
    def of(cls, history: Any) -> RunKind:
        """The kind of the run `history` holds (a History: its series, eval steps and run_started)."""
        logged = {k for k in (*METHOD_KEYS, "loss", "grad_norm", "entropy", "learning_rate") if _logged(history, k)}
        signals = {k for k in ("loss", "grad_norm", "entropy", "learning_rate") if k in logged}
        if logged & {"kl", "objective/kl"}:
            signals.add("kl")
        if "objective/entropy" in logged:
            signals.add("entropy")
        if logged & {"completions/mean_length", "completions/clipped_ratio"}:
            signals.add("completions")
        if logged & {*PREFERENCE_KEYS, "reward", "objective/rlhf_reward", *REWARD_MODEL_KEYS}:
            signals.add("rewards")
        if len(history.eval_steps):
            signals.add("eval")
        if len(history.steps) and _logged(history, "epoch"):
            signals.add("epochs")
        method = _declared(history)
        if method is not None:
            return cls(method, frozenset(signals), True)
        if logged & set(PREFERENCE_KEYS):
            method = "preference"
        elif logged & set(RL_KEYS):
            method = "rl"
        elif logged & set(REWARD_MODEL_KEYS) == set(REWARD_MODEL_KEYS):
            method = "reward"
        else:
            method = "sft"
        return cls(method, frozenset(signals))


def _declared(history: Any) -> str | None:
    """The kind a run's run_started declares: its `method` (top level, as our trainer writes "sft", or in
    its config). A LoRA section says nothing of the kind: a DPO script's run has one too."""
    rs = history.run_started or {}
    cfg = rs.get("config") if isinstance(rs.get("config"), dict) else {}
    for raw in (rs.get("method"), cfg.get("method")):
        if isinstance(raw, str) and raw.strip().lower() in DECLARED:
            return DECLARED[raw.strip().lower()]
    return None
