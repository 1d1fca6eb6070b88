"""What the monitoring notes ask a person to look for in the samples, as numbers.

Each greedy sample is scored for: repetition (the share of its word 3-grams that repeat an earlier one),
garbage (replacement or control characters, special tokens leaking through, an empty answer), template
leakage (a role marker or the prompt's own template in the answer) and drift (how far the answer to the
same prompt moved since the previous sample). Pure Python on short strings: the samples panel, replay
and the advisor all read it; logs written before it existed are scored the same way.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

SPECIAL = re.compile(r"<\|[a-z_]+\|>|</?s>|<unk>|<pad>|\[/?INST\]|<start_of_turn>|<end_of_turn>|<eos>|<bos>")
"""Special tokens of the common chat templates (ChatML, Llama, Gemma, the demo's): in an answer they
mean the tokenizer's special tokens are not being skipped, or the model learnt to write them."""
ROLE_MARKER = re.compile(r"(?im)^\s*(?:#{2,}\s*)?(?:user|assistant|system|instruction|response|human)\s*:")
"""A turn written out as text ("### Instruction:", "User:"): the template leaking into the answer."""

REPETITION_WARN = 0.5
"""Half of an answer's word 3-grams repeating an earlier one: it is looping."""


@dataclass(frozen=True)
class SampleScore:
    repetition: float
    """Share of word 3-grams that repeat an earlier 3-gram of the same answer (0 none, ->1 a loop)."""
    garbage: list[str]
    """What is wrong with the text itself: empty, replacement characters, control characters, special tokens."""
    leakage: bool
    """A role marker, or the template, in the answer."""
    drift: float | None
    """1 - similarity to the previous answer to the same prompt (None for the first)."""

    @property
    def bad(self) -> bool:
        return bool(self.garbage) or self.leakage or self.repetition >= REPETITION_WARN

    def summary(self) -> str:
        """A few words for the samples panel; empty when nothing is wrong."""
        parts = list(self.garbage)
        if self.repetition >= REPETITION_WARN:
            parts.append(f"repeats itself ({self.repetition:.0%} of 3-grams)")
        if self.leakage:
            parts.append("template leaks into the answer")
        return "; ".join(parts)


def repetition(text: str) -> float:
    words = text.split()
    grams = [tuple(words[i : i + 3]) for i in range(len(words) - 2)]
    if len(grams) < 2:
        # Too short for word 3-grams: a run of one character ("aaaaaaa") still counts.
        chars = text.strip()
        return 1.0 if len(chars) >= 8 and len(set(chars)) <= 2 else 0.0
    seen: set[tuple[str, ...]] = set()
    repeats = 0
    for g in grams:
        if g in seen:
            repeats += 1
        seen.add(g)
    return repeats / len(grams)


def garbage(text: str) -> list[str]:
    out = []
    if not text.strip():
        out.append("empty answer")
    if "\ufffd" in text:
        out.append("replacement characters (broken bytes)")
    if any(unicodedata.category(c) == "Cc" and c not in "\n\t\r" for c in text):
        out.append("control characters")
    leaked = SPECIAL.findall(text)
    if leaked:
        out.append(f"special tokens in the text ({', '.join(sorted(set(leaked))[:3])})")
    return out


def score(sample: dict[str, Any], previous: dict[str, Any] | None = None) -> SampleScore:
    text = str(sample.get("completion") or "")
    leak = bool(ROLE_MARKER.search(text))
    drift = None
    if previous is not None:
        drift = 1.0 - difflib.SequenceMatcher(None, str(previous.get("completion") or ""), text).ratio()
    return SampleScore(repetition(text), garbage(text), leak, drift)


def score_all(samples: list[dict[str, Any]]) -> list[tuple[dict[str, Any], SampleScore]]:
    """Every sample with its score, drift measured against the previous answer to the same prompt."""
    last: dict[str, dict[str, Any]] = {}
    out = []
    for s in samples:
        key = str(s.get("prompt", ""))
        out.append((s, score(s, last.get(key))))
        last[key] = s
    return out
