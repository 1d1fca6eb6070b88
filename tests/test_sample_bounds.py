"""One enormous sample completion in a log (a runaway generation, a hostile file) costs what a screenful
costs: the scorers read a sample's first READ_CHARS characters, as a person does, and the panels and the
advisor's evidence show that much and say how much more there was."""

from __future__ import annotations

import json
import time

from cockpit.sample_signals import READ_CHARS, SampleScore, garbage, repetition, score, score_all, shown
from runhelpers import cockpit
from tuihelpers import write_run

HUGE = 50_000_000
# Digits without a space: one 50 MB "word" that loops with period 10, the spaceless scorer's worst case
# (40 periods tried over every character), and a drift measured against another such answer.
LOOPING = "0123456789" * (HUGE // 10)
NORMAL = "The capital of France is Paris. I am a pirate I am a pirate I am a pirate."


def test_a_normal_sample_scores_as_its_whole_text_does():
    full = SampleScore(repetition(NORMAL), garbage(NORMAL), False, None)
    assert score({"completion": NORMAL}) == full and 0 < full.repetition < 0.5
    assert shown({"completion": f"  {NORMAL}\n"}) == f"  {NORMAL}\n"  # as it is: the evidence keeps it whole


def test_a_50_mb_completion_is_scored_in_a_moment():
    samples = [{"prompt": "p", "completion": LOOPING}, {"prompt": "p", "completion": LOOPING[1:] + "x"}]
    started = time.monotonic()
    (_, first), (_, second) = score_all(samples)
    took = time.monotonic() - started
    assert took < 5, f"{took:.1f}s"  # minutes before the scorers were bounded
    assert first.repetition > 0.9 and first.bad and second.drift is not None
    text = shown(samples[0])
    assert len(text) < READ_CHARS + 100 and text.endswith(f"[first {READ_CHARS:,} of {HUGE:,} characters]")


def test_a_log_with_a_50_mb_completion_is_diagnosed_in_seconds(tmp_path):
    rd = write_run(tmp_path / "run", state="finished")
    with open(rd.events, "a", encoding="utf-8") as f:
        for step, completion in ((10, NORMAL), (30, LOOPING)):
            f.write(
                json.dumps(
                    {
                        "v": 1,
                        "t": 1.7e9 + step,
                        "kind": "sample",
                        "step": step,
                        "prompt": "Say hi",
                        "completion": completion,
                    }
                )
                + "\n"
            )
    started = time.monotonic()
    r = cockpit("diagnose", str(rd.path), "--json", timeout=120)
    took = time.monotonic() - started
    assert r.returncode in (0, 1, 3), r.stderr
    found = {f["rule"]: f for f in json.loads(r.stdout)["standing"]}
    sample = found["samples_degenerate"]["evidence"]
    assert "repeats itself" in sample["what"] and sample["completion"].endswith(f"of {HUGE:,} characters]")
    assert len(r.stdout) < 100_000  # the evidence is a screenful, not the 50 MB answer
    assert sample["prompt"] == "Say hi"
    assert took < 60, f"diagnose took {took:.1f}s"


def test_the_run_state_is_found_behind_a_50_mb_line(tmp_path):
    # The attached cockpit and replay read the run's state backwards from the end of events.jsonl; a 50 MB
    # line re-joined to every 64 KiB block read took minutes there before the window opened.
    from cockpit.rundir.reading import last_event

    rd = write_run(tmp_path / "run", state="finished")
    with open(rd.events, "a", encoding="utf-8") as f:
        for ev in (
            {"kind": "sample", "step": 60, "prompt": "p", "completion": LOOPING},
            {"kind": "metrics", "step": 61},
        ):
            f.write(json.dumps({"v": 1, "t": 1.7e9, **ev}, separators=(",", ":")) + "\n")  # as the trainer writes
    started = time.monotonic()
    assert last_event(rd.events, "state")["state"] == "finished"
    assert last_event(rd.events, "sample")["completion"] == LOOPING
    took = time.monotonic() - started
    assert took < 10, f"{took:.1f}s"
