"""The study's last step: offer to merge the final adapter into its base.

The SOP merges only when the samples look right, and that is a person's call: the study shows the final
run's last samples and asks. `--answer merge=yes` merges unattended; `--accept-defaults` keeps the
adapter unmerged (the default), since a merge writes a full model the person may not want. Without a
terminal and without an answer the study prints the command and leaves the question open, so a later
`cockpit study DIR --answer merge=yes` still merges."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from cockpit.history import History
from cockpit.study.prompt import Asker
from cockpit.study.types import Question

SHOWN_SAMPLES = 3
SAMPLE_CHARS = 160


def last_samples(history: History) -> list[str]:
    """The final run's last sampling round, one line per prompt: what the person judges by."""
    if not history.samples:
        return []
    step = history.samples[-1].get("step")
    round_ = [s for s in history.samples if s.get("step") == step][:SHOWN_SAMPLES]
    lines = []
    for s in round_:
        prompt = " ".join(str(s.get("prompt", "")).split())[:60]
        answer = " ".join(str(s.get("completion", "")).split())[:SAMPLE_CHARS]
        lines.append(f"    {prompt!r} -> {answer!r}")
    return lines


def merge_question(run_dir: Path, history: History) -> Question:
    shown = last_samples(history)
    step = history.samples[-1].get("step") if shown else None
    when = (
        "before training (step 0: it sampled no later step; `cockpit replay` shows its curves)"
        if step == 0
        else f"at step {step}"
    )
    samples = (
        f"\n  the final run's samples {when}:\n" + "\n".join(shown)
        if shown
        else "\n  (the final run logged no samples: `cockpit replay` shows its curves)"
    )
    return Question(
        "merge",
        f"Merge the final adapter into its base model now (writes {run_dir / 'merged'})?{samples}\n ",
        default="no",
    )


def offer_merge(
    run_dir: Path, history: History, asker: Asker, merge: Callable[[Path], int], out: Callable[[str], None]
) -> dict[str, Any] | None:
    """Ask, and merge on yes. Returns what the ledger keeps (`merge`: merged / failed / declined), or None
    when nobody could be asked (the question stays open)."""
    command = f"cockpit merge {run_dir}"
    answer = asker.answer(merge_question(run_dir, history))
    if answer is None:
        out(f"  merge offered: {command} (or `--answer merge=yes`)")
        return None
    if answer != "yes":
        out(f"  not merged; when the samples look right: {command}")
        return {"merge": "declined"}
    out(f"  merging {run_dir} ...")
    code = merge(run_dir)
    if code != 0:
        out(f"  the merge failed (exit {code}); its reason is in {run_dir / 'events.jsonl'}; retry: {command}")
        return {"merge": "failed", "merge_exit": code}
    out(f"  merged: {run_dir / 'merged'}")
    return {"merge": "merged", "merged_dir": str(run_dir / "merged")}
