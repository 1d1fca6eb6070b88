"""What the monitoring notes ask a person to look for in the samples, as numbers.

Each greedy sample is scored for: repetition (the share of its word 3-grams that repeat an earlier one, or
of its characters looping inside a run without spaces),
garbage (replacement or control characters, special tokens leaking through, an empty answer), template
leakage (a role marker or the prompt's own template in the answer) and drift (how far the answer to the
same prompt moved since the previous sample). Pure Python on short strings: the samples panel, replay
and the advisor all read it; logs written before it existed are scored the same way. A sample is read as a
person reads it, its first READ_CHARS characters: one enormous completion in a log (a runaway generation,
a hostile file) costs no more than a screenful (the drift measure is quadratic in the length).
"""

from __future__ import annotations

import difflib
import functools
import operator
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

SPECIAL = re.compile(r"<\|[a-z_]+\|>|</?s>|<unk>|<pad>|\[/?INST\]|<start_of_turn>|<end_of_turn>|<eos>|<bos>")
"""Special tokens of the common chat templates (ChatML, Llama, Gemma, the demo's): in an answer they
mean the tokenizer's special tokens are not being skipped, or the model learnt to write them."""
ROLE_MARKER = re.compile(r"(?im)^\s*(?:#{2,}\s*)?(?:user|assistant|system|instruction|response|human)\s*:")
"""A turn written out as text ("### Instruction:", "User:"): the template leaking into the answer."""

READ_CHARS = 4096
"""Characters of a completion that are scored and shown: about a screenful, far more than the samples the
trainer writes (max_new_tokens, 48 by default); past it a 50 MB completion took minutes to score."""

REPETITION_WARN = 0.5
"""Half of an answer's word 3-grams repeating an earlier one: it is looping."""


@dataclass(frozen=True)
class SampleScore:
    repetition: float
    """Share of word 3-grams that repeat an earlier 3-gram of the same answer, or of characters that loop
    inside a run without spaces, whichever is larger (0 none, ->1 a loop)."""
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
            parts.append(f"repeats itself ({self.repetition:.0%} loops)")
        if self.leakage:
            parts.append("template leaks into the answer")
        return "; ".join(parts)


LOOP_TOKEN = 16
"""A run of characters without a space this long is checked for a loop of its own ("oceanoceanocean")."""
LOOP_PERIOD = 40
"""The longest repeating unit looked for inside such a run, in characters."""


def repetition(text: str) -> float:
    """The larger of the two loops a model falls into: word 3-grams repeating, or characters repeating
    inside a run with no spaces (a tokenizer without spaces, or a model looping on a sub-word)."""
    return max(_word_repetition(text), _spaceless_repetition(text))


def _spaceless_repetition(text: str) -> float:
    """Share of the text's characters that repeat the character one period earlier, inside runs without
    spaces where some period (1..LOOP_PERIOD) makes nine in ten of them repeat; 0 for ordinary text."""
    total = len(text.strip())
    looped = 0
    for token in text.split():
        if len(token) < LOOP_TOKEN:
            continue
        best = 0
        for p in range(1, min(LOOP_PERIOD, len(token) // 3) + 1):
            same = sum(map(operator.eq, token, token[p:]))  # characters equal to the one p earlier
            best = max(best, same if same >= 0.9 * (len(token) - p) else 0)
        looped += best
    return looped / total if total else 0.0


def _word_repetition(text: str) -> float:
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


def completion(sample: dict[str, Any], field: str = "completion") -> str:
    """What of a sample's completion (or prompt) is read: its first READ_CHARS characters."""
    text = sample.get(field) or ""
    return text[:READ_CHARS] if isinstance(text, str) else str(text)[:READ_CHARS]


def shown(sample: dict[str, Any], field: str = "completion") -> str:
    """The completion (or prompt) as the panels and the advisor's evidence show it: what is read, and
    how much more there was when it was cut."""
    text = sample.get(field) or ""
    full = len(text) if isinstance(text, str) else len(str(text))
    head = completion(sample, field)
    return head if full <= READ_CHARS else f"{head} … [first {READ_CHARS:,} of {full:,} characters]"


def score(sample: dict[str, Any], previous: dict[str, Any] | None = None) -> SampleScore:
    return _score(completion(sample), None if previous is None else completion(previous))


@functools.lru_cache(maxsize=512)
def _score(text: str, previous: str | None) -> SampleScore:
    # Cached: the advisor re-reads the same samples at every point of a replay's or diagnose's timeline.
    leak = bool(ROLE_MARKER.search(text))
    drift = None if previous is None else 1.0 - difflib.SequenceMatcher(None, previous, text).ratio()
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
