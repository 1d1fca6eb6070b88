"""The general set: everyday questions with true answers, shipped in the package, used two ways.

- measured: at each evaluation the trainer computes the loss on `general-eval.jsonl`
  (`general_eval_loss` in the `eval` event), read against the base model's value: what the fine-tune
  costs the model outside its task (catastrophic forgetting);
- mixed in: `data.general_mix` interleaves a share of general rows (`general.jsonl`, or the user's own
  `data.general_path`) into the training data, the tuning notes' remedy for forgetting (general replay).

The two files are disjoint, so a run that mixes general rows in is still measured on rows it never saw.
Nothing heavy is imported here.
"""

from __future__ import annotations

from pathlib import Path

from cockpit.general.questions import SAMPLE_QUESTIONS

HERE = Path(__file__).resolve().parent
REPLAY_PATH = HERE / "data" / "general.jsonl"
"""General rows for replay (the default of data.general_path)."""
EVAL_PATH = HERE / "data" / "general-eval.jsonl"
"""General rows held out for general_eval_loss; never trained on by the shipped replay."""


def eval_rows(n: int) -> list[dict]:
    """n rows of the shipped general eval set as TRL prompt/completion rows, evenly spread over it (the
    file runs family by family: fewer rows still cover facts, definitions, how-tos and arithmetic)."""
    from cockpit.data.load import load_file

    rows, _, _, _ = load_file(str(EVAL_PATH), "messages", None, False)
    if n >= len(rows):
        return rows
    return [rows[i * len(rows) // n] for i in range(max(0, n))]


def sample_prompts(n: int, besides: list[str] | tuple[str, ...] = ()) -> list[str]:
    """The first n of SAMPLE_QUESTIONS that are not already among `besides` (the task's own prompts)."""
    return [q for q in SAMPLE_QUESTIONS if q not in set(besides)][: max(0, n)]
