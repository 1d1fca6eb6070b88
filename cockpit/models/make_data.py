"""Generate the SmolLM2 sample task: answer every question as one line of JSON, `{"topic": ..., "answer": ...}`.

    python -m cockpit.models.make_data      # rewrites cockpit/models/data/json-answers{,-eval}.jsonl

SmolLM2-135M-Instruct already knows many of these facts but answers in prose ("The capital of France
is Paris."); it never answers in this JSON shape. So the effect of the fine-tune is plain in the
samples panel within about a hundred steps, and whether an answer parses is checkable by a program.
The eval split asks about countries, numbers and words the training split never mentions.
Deterministic (seeded): rerunning it rewrites the same bytes.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from cockpit.facts import CAPITALS, OPPOSITES

HERE = Path(__file__).resolve().parent / "data"
TRAIN = HERE / "json-answers.jsonl"
EVAL = HERE / "json-answers-eval.jsonl"

COLORS = {
    "the sky on a clear day": "blue",
    "fresh grass": "green",
    "a ripe banana": "yellow",
    "snow": "white",
    "coal": "black",
    "a ripe tomato": "red",
    "an orange": "orange",
    "a lemon": "yellow",
    "milk": "white",
    "a crow": "black",
    "a strawberry": "red",
    "a lime": "green",
    "chocolate": "brown",
    "the sea": "blue",
    "a carrot": "orange",
    "a fire truck": "red",
    "a polar bear": "white",
    "an eggplant": "purple",
}
LEGS = {
    "a spider": 8,
    "a dog": 4,
    "a bird": 2,
    "an ant": 6,
    "a cat": 4,
    "a horse": 4,
    "a chicken": 2,
    "a beetle": 6,
    "an octopus (arms)": 8,
    "a cow": 4,
    "a duck": 2,
    "a bee": 6,
}
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]

# Held out: the eval split and the sample prompts ask about these; training never sees them.
EVAL_COUNTRIES = ["Japan", "Egypt", "Canada", "Portugal", "Sweden", "Argentina", "Vietnam", "Australia"]
EVAL_WORDS = ["hot", "strong", "clean", "push"]
EVAL_COLORS = ["a ripe banana", "coal", "a carrot"]

ASKED = [
    (
        CAPITALS,
        EVAL_COUNTRIES,
        "geography",
        [
            "What is the capital of {}?",
            "Which city is the capital of {}?",
            "Name the capital city of {}.",
            "What city is {}'s capital?",
        ],
    ),
    (
        OPPOSITES,
        EVAL_WORDS,
        "words",
        [
            "What is the opposite of '{}'?",
            "Give the opposite of the word '{}'.",
            "What word means the opposite of '{}'?",
        ],
    ),
    (COLORS, EVAL_COLORS, "colors", ["What color is {}?", "What colour is {}?"]),
]
"""(facts, the subjects held out for the eval split, the answer's topic, the question's phrasings): one
phrasing is drawn per fact."""


def _answer(topic: str, answer) -> str:
    # One fixed key order and separators: the format is the thing being taught, so it never varies.
    return json.dumps({"topic": topic, "answer": answer}, ensure_ascii=False)


def _questions(rng: random.Random, held_out: bool):
    """(question, topic, answer) triples, one per fact and phrasing, for one side of the split."""
    out = []
    for facts, held, topic, phrasings in ASKED:
        for subject, answer in facts.items():
            if (subject in held) != held_out:
                continue
            out.append((rng.choice(phrasings).format(subject), topic, answer))
    if not held_out:
        for animal, n in LEGS.items():
            out.append((f"How many legs does {animal} have?", "animals", n))
        for i, day in enumerate(DAYS):
            out.append((f"What day comes after {day}?", "calendar", DAYS[(i + 1) % 7]))
        for i, month in enumerate(MONTHS):
            out.append((f"Which month comes after {month}?", "calendar", MONTHS[(i + 1) % 12]))
    # Arithmetic: the eval split's sums use numbers from 50 up, the training split's stay below 50.
    lo, hi = (50, 99) if held_out else (1, 49)
    for _ in range(12 if held_out else 150):
        a, b = rng.randint(lo, hi), rng.randint(1, 49)
        op = rng.choice(["plus", "minus", "times"] if not held_out else ["plus", "minus"])
        if op == "times":
            a, b = rng.randint(2, 12), rng.randint(2, 12)
        value = a + b if op == "plus" else a - b if op == "minus" else a * b
        q = rng.choice(["What is {} {} {}?", "Compute {} {} {}.", "How much is {} {} {}?"])
        out.append((q.format(a, op, b), "math", value))
    return out


def rows(held_out: bool, seed: int) -> list[dict]:
    rng = random.Random(seed)
    qs = _questions(rng, held_out)
    rng.shuffle(qs)
    return [
        {"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": _answer(t, a)}]}
        for q, t, a in qs
    ]


def write(path: Path, items: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in items), encoding="utf-8")


def main() -> None:
    train, held = rows(False, seed=16), rows(True, seed=61)
    write(TRAIN, train)
    write(EVAL, held)
    print(f"{TRAIN}: {len(train)} rows; {EVAL}: {len(held)} rows")


if __name__ == "__main__":
    main()
