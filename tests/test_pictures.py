"""The README's pictures: every one is made by `make pictures` (bench/pictures.py) and is in docs/pictures/.

The fast path makes the four Textual pictures that need neither the trainer nor chromium and checks they
show what their captions say; the sweep, report and serve pictures are made by the same script."""

from __future__ import annotations

import re
import subprocess
import sys
from html import unescape

from runhelpers import ROOT

sys.path.insert(0, str(ROOT / "bench"))
import pictures  # noqa: E402

PICTURES = ROOT / "docs" / "pictures"


def readme_pictures() -> set[str]:
    return set(re.findall(r"\(docs/pictures/([^)\s]+)\)", (ROOT / "README.md").read_text()))


def test_every_readme_picture_is_made_by_the_script_and_committed():
    named = readme_pictures()
    assert named == set(pictures.ALL), named ^ set(pictures.ALL)
    assert {p.name for p in PICTURES.iterdir()} == named  # none missing, none left over
    for name in named:
        assert (PICTURES / name).stat().st_size > 20_000, name


def svg_text(path) -> str:
    """The terminal text of a Textual SVG screenshot (its spaces are written as &#160;)."""
    return unescape(" ".join(re.findall(r">([^<]+)</text>", path.read_text()))).replace("\xa0", " ")


def test_the_fast_path_makes_the_textual_pictures(tmp_path):
    r = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "pictures.py"), "--out", str(tmp_path), "--textual-only"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    assert {p.name for p in tmp_path.iterdir()} == set(pictures.FAST)
    live, zoom, replay, script, tiles, picker, browser = (svg_text(tmp_path / name) for name in pictures.FAST)
    assert "RUNNING" in live and "grad_norm" in live and "DANGER" in live
    assert "esc" in zoom and "closes)" in zoom  # the zoom is open over the cockpit
    assert "REPLAY" in replay and "CRITICAL" in replay and "04_vendor-comp-classifier.json" in replay
    assert "sft_trl.py" in script and "FINISHED" in script and "loss" in script  # a user's own TRL script
    # The tiles' axes (the y range, the first and last step), the EMA and grad_norm's log scale.
    assert "1.64┤" in tiles and " 1,000 " in tiles and "ema " in tiles and re.search(r"grad_norm\s+log", tiles)
    assert "Chart a metric in place of" in picker and "eval_accuracy" in picker  # k: every logged key offered
    assert "runs in runs/browse" in browser and "ours-live" in browser
    assert "running" in browser and "wandb-history.csv" in browser
    assert "entropy" in live  # the SOP's charts, whatever this user picked with k
    assert "/tmp" not in live + zoom + replay + script + tiles + picker + browser  # runs/..., not where made
