"""The report's samples: for each prompt, its first and its last generation. The README says to judge a
format or style task by its samples, not its loss; the general prompts (what forgetting looks like) are
marked as such."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cockpit.general.questions import SAMPLE_QUESTIONS
from cockpit.history.fields import event_step

SHOWN_CHARS = 400
"""Of each completion: a person reads a sample's start (a 10 MB completion must not make a 10 MB report)."""


@dataclass
class SampleRow:
    prompt: str
    general: bool
    """One of the general prompts asked besides the task's: the model's knowledge, not the task."""
    first: tuple[int, str]
    last: tuple[int, str] | None
    """(step, completion); None when the prompt was asked once."""


def clip(text: Any) -> str:
    text = str(text or "").strip()
    return text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS] + "…"


def sample_rows(samples: list[dict[str, Any]]) -> list[SampleRow]:
    general = set(SAMPLE_QUESTIONS)
    by_prompt: dict[str, list[tuple[int, str]]] = {}
    for ev in samples:
        prompt = str(ev.get("prompt", ""))
        by_prompt.setdefault(prompt, []).append((event_step(ev.get("step")) or 0, clip(ev.get("completion"))))
    rows = []
    for prompt, gens in by_prompt.items():
        gens.sort(key=lambda g: g[0])
        one_line = prompt.replace("\n", " ⏎ ")  # a heading row: the prompt's line breaks shown, not made
        rows.append(SampleRow(clip(one_line), prompt in general, gens[0], gens[-1] if len(gens) > 1 else None))
    return sorted(rows, key=lambda r: r.general)  # the task's prompts first
