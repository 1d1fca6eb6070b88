"""Generate the demo's instruction data: small tasks a tiny model can learn in a few hundred steps.

    python -m cockpit.demo.make_data            # rewrites cockpit/demo/data/instructions.jsonl

Deterministic (seeded), so the committed file and the pretraining corpus are reproducible. The same
generator with another seed makes the base model's pretraining text, so the fine-tune sees new
instances of familiar tasks in a new (chat) format.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from cockpit.facts import CAPITALS as WORLD_CAPITALS
from cockpit.facts import OPPOSITES

WORDS = (
    "apple river stone cloud green table light music paper storm tiger ocean plant house bread smile "
    "chair water night dream sugar glass field train honey frost"
).split()
# The tiny model's facts: the first eighteen opposites, and fifteen countries (Chile only here), in the
# order its committed data and its base model's pretraining text were drawn in.
ANTONYMS = dict(list(OPPOSITES.items())[:18])
COUNTRIES = "France Japan Italy Spain Egypt Kenya Peru Chile Greece Norway Poland Canada Cuba Ireland Austria".split()
_CAPITAL_OF = {**WORLD_CAPITALS, "Chile": "Santiago"}
CAPITALS = {country: _CAPITAL_OF[country] for country in COUNTRIES}

FAMILIES = ("reverse", "add", "capital", "count", "opposite", "repeat", "first_last", "upper")


def _tasks(rng: random.Random):
    w = rng.choice(WORDS)
    a, b = rng.randint(0, 30), rng.randint(0, 30)
    word, opp = rng.choice(list(ANTONYMS.items()))
    country = rng.choice(list(CAPITALS))
    letters = "".join(rng.sample("abcdefghij", rng.randint(3, 6)))
    nums = [rng.randint(0, 9) for _ in range(rng.randint(3, 5))]
    w2 = rng.choice(WORDS)
    return {
        "reverse": ("Reverse the word.", w, w[::-1]),
        "upper": ("Write the word in capital letters.", w, w.upper()),
        "add": ("Add the two numbers.", f"{a} {b}", str(a + b)),
        "opposite": ("Give the opposite word.", word, opp),
        "capital": ("Name the capital city.", country, CAPITALS[country]),
        "sort_letters": ("Sort the letters.", letters, "".join(sorted(letters))),
        "sort_numbers": ("Sort the numbers.", " ".join(map(str, nums)), " ".join(map(str, sorted(nums)))),
        "count": ("Count the letters.", w, str(len(w))),
        "repeat": ("Repeat the word twice.", w, f"{w} {w}"),
        "first_last": ("Give the first and the last word.", f"{w} {rng.choice(WORDS)} {w2}", f"{w} {w2}"),
    }


def rows(n: int, seed: int, families: tuple[str, ...] = FAMILIES) -> list[dict[str, str]]:
    rng = random.Random(seed)
    out = []
    while len(out) < n:
        ins, inp, outp = _tasks(rng)[rng.choice(families)]
        out.append({"instruction": ins, "input": inp, "output": outp})
    return out


def pretraining_text(n: int, seed: int = 1234) -> list[str]:
    """Plain-text instances ("Q: ...\nA:...") for the base model, spelled as the fine-tune renders the
    question and the answer, in a format the chat template does not use."""
    return [f"Q: {r['instruction']}\n{r['input']}\nA:{r['output']}\n" for r in rows(n, seed)]


def pretraining_conversations(n: int, seed: int = 4321) -> list[list[dict[str, str]]]:
    """A few chat conversations, so the chat markers' embeddings are not random at the start of the
    fine-tune (a random marker makes the first predictions confidently wrong: loss ~10, entropy ~0)."""
    return [
        [
            {"role": "user", "content": f"{r['instruction']}\n{r['input']}"},
            {"role": "assistant", "content": r["output"]},
        ]
        for r in rows(n, seed)
    ]


def finetune_rows(n: int = 600, seed: int = 7) -> list[dict[str, str]]:
    """The fine-tune's data: the base's tasks on new instances, asked in the chat format."""
    return rows(n, seed)


def main() -> None:
    path = Path(__file__).parent / "data" / "instructions.jsonl"
    path.parent.mkdir(exist_ok=True)
    with open(path, "w") as f:
        for r in finetune_rows():
            f.write(json.dumps(r) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
