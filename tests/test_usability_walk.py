"""The first hour with the cockpit, scripted (issue 23): every key in live, replay and sweep mode, in a real
terminal (tmux) at 80x24, 120x40 and 160x48, judged from the screen text alone:

- each key changes something on screen (what it did, or a toast saying why it cannot);
- each dialog lies inside the screen and is centred (its thick border is found in the text);
- no metric's label wraps onto its chart row (the row under a label holds only sparkline cells).

One recorded run directory (tests/tuihelpers.write_run) serves all three modes: attached to as a live run
(its "trainer" is a sleeping process this test owns), replayed, and as both trials of a sweep.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tuihelpers import write_run

pytestmark = [pytest.mark.slow, pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")]
PY = sys.executable
TMUX = ["tmux", "-L", f"cockpit-walk-{os.getpid()}", "-f", "/dev/null"]
SIZES = [(80, 24), (120, 40), (160, 48)]
SPARK = set("▁▂▃▄▅▆▇█┈! ") | set("waiting for data…") | set("not logged")  # bars, a band line, or a word
SPARK |= set("─▔")  # the EMA's cells (tile_ema.py)

# (key as tmux names it, what it opens: a dialog or None). Each key must change the screen.
LIVE_KEYS = [
    ("p", None),
    ("[", None),
    ("]", None),
    ("s", None),
    ("g", None),
    ("f", None),
    ("e", None),
    ("Right", None),
    ("a", "any"),
    ("t", None),
    ("Tab", None),
    ("l", "dialog"),
    ("x", "dialog"),
    ("m", "dialog"),
    ("?", "dialog"),
    ("v", "dialog"),
    ("z", "dialog"),
]
REPLAY_KEYS = [
    ("Home", None),
    ("Right", None),
    ("S-Right", None),
    ("Left", None),
    ("S-Left", None),
    ("End", None),
    ("+", None),
    ("-", None),
    ("space", None),
    ("space", None),
    ("p", None),
    ("f", None),
    ("e", None),
    ("t", None),
    ("Tab", None),
    ("?", "dialog"),
    ("v", "dialog"),
    ("z", "dialog"),
]
SWEEP_KEYS = [("t", None), ("Tab", None), ("?", "dialog"), ("Enter", None)]
CLOSE = {"l": "Escape", "x": "n", "m": "n", "?": "Escape", "v": "Escape", "z": "Escape", "a": "Escape"}


class Term:
    def __init__(self, name: str, cmd: str, size: tuple[int, int]):
        self.name, (self.w, self.h) = name, size
        self.run(["kill-session", "-t", name])
        self.run(["new-session", "-d", "-s", name, "-x", str(self.w), "-y", str(self.h), cmd], check=True)
        self.run(["set-option", "-t", name, "window-size", "manual"])
        self.run(["resize-window", "-t", name, "-x", str(self.w), "-y", str(self.h)])

    @staticmethod
    def run(args, check=False):
        return subprocess.run(TMUX + args, capture_output=True, text=True, check=check)

    def screen(self) -> list[str]:
        lines = self.run(["capture-pane", "-p", "-t", self.name]).stdout.split("\n")[: self.h]
        return [ln.ljust(self.w) for ln in lines] + [" " * self.w] * (self.h - len(lines))

    def wait(self, text: str, timeout: float = 30) -> list[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            s = self.screen()
            if any(text in ln for ln in s):
                return s
            time.sleep(0.2)
        raise AssertionError(f"{text!r} never appeared:\n" + "\n".join(self.screen()))

    def send(self, key: str) -> None:
        self.run(["send-keys", "-t", self.name, key], check=True)

    def kill(self) -> None:
        self.run(["kill-session", "-t", self.name])


def ticking_rows(term: Term) -> set[int]:
    """Rows that change with no key pressed (a live run's 'no events for N s' counts every second)."""
    a = term.screen()
    time.sleep(1.1)
    b = term.screen()
    return {i for i, (x, y) in enumerate(zip(a, b)) if x != y}


def press_and_see(term: Term, key: str, tick: set[int], dialog: bool = False) -> list[str]:
    """Press `key`; return the screen once a row that does not tick by itself has changed (and, for a key
    that opens a dialog, once the dialog is drawn)."""
    before = term.screen()
    term.send(key)
    deadline = time.monotonic() + 6  # a loaded CI machine: generous; a passing key takes ~0.2 s
    while time.monotonic() < deadline:
        time.sleep(0.1)
        after = term.screen()
        if dialog:
            try:
                if dialog_box(after) is None:
                    continue
            except AssertionError:  # caught half-drawn (the terminal is written in chunks): look again
                continue
        if any(x != y for i, (x, y) in enumerate(zip(before, after)) if i not in tick):
            return after
    raise AssertionError(f"{term.name}: key {key!r} changed nothing on screen:\n" + "\n".join(term.screen()))


def dialog_box(screen: list[str]) -> tuple[int, int, int, int] | None:
    """(top, left, bottom, right) of a dialog's thick border (█▀▀…▀█ over █▄▄…▄█), or None. A toast
    (its edge is ▌) may lie over the dialog's right side: the right edge is read where it is not."""
    for top, ln in enumerate(screen):
        m = re.search(r"█▀{8,}", ln)
        if not m:
            continue
        left = m.start()
        bottom = next((b for b in range(top + 1, len(screen)) if screen[b][left : left + 2] == "█▄"), None)
        assert bottom is not None, "a dialog's bottom border is off the screen:\n" + "\n".join(screen)
        # The right edge: the column after `left` that is █ on the most rows of the box (a chart's █ on
        # the dimmed screen around the dialog is on one row, the border on every row no toast covers).
        counts = {c: sum(row[c] == "█" for row in screen[top : bottom + 1]) for c in range(left + 9, len(ln))}
        right = max(counts, key=lambda c: (counts[c], c))
        assert counts[right] >= 3, "a dialog's right edge is not on screen:\n" + "\n".join(screen)
        return top, left, bottom, right
    return None


def whole(term: Term, screen: list[str]) -> list[str]:
    """The screen once no dialog on it is half drawn (the terminal is written in chunks)."""
    deadline = time.monotonic() + 6
    while True:
        try:
            dialog_box(screen)
            return screen
        except AssertionError:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.1)
        screen = term.screen()


def check_dialog(term: Term, screen: list[str], key: str) -> None:
    box = dialog_box(screen)
    assert box is not None, f"{term.name}: {key!r} opened no dialog:\n" + "\n".join(screen)
    top, left, bottom, right = box
    assert 0 <= left and right < term.w and 0 <= top and bottom < term.h
    # Centred: the margins either side differ by at most 2 columns / 2 rows (odd sizes round).
    assert abs(left - (term.w - 1 - right)) <= 2, (key, term.name, box)
    assert abs(top - (term.h - 1 - bottom)) <= 2, (key, term.name, box)


def check_labels(term: Term, screen: list[str]) -> None:
    """Under each metric panel's label row, the chart row holds sparkline cells only."""
    for i, ln in enumerate(screen[:-1]):
        for m in re.finditer(r"[│║┃] (loss|grad_norm|update|entropy|memory|lr|tokens/s) ", ln):
            if i == 0 or screen[i - 1][m.start()] not in "╭╔┏":  # a metric panel's first row, not the run panel
                continue
            col = m.start() + 2
            row = screen[i + 1]  # its own right border: the label row's may lie under a toast (top right)
            end = min((p for p in (row.find(c, col) for c in "│║┃") if p > 0), default=-1)
            chart = row[col : end if end > 0 else None].split("▌")[0]  # a toast may lie over it
            chart = chart.split("┤")[-1]  # right of the y axis's top label (where the tile has one)
            assert set(chart) <= SPARK, (
                f"{term.name}: the {m.group(1)} label wraps onto its chart row: {chart!r}\n" + "\n".join(screen)
            )


def walk(term: Term, keys, ready: str) -> None:
    term.wait(ready)
    time.sleep(2)  # the history drawn and the log filled: from here on, only the keys change the screen
    check_labels(term, term.screen())
    tick = ticking_rows(term)
    for key, opens in keys:
        after = press_and_see(term, key, tick, dialog=opens == "dialog")
        if opens == "any":
            after = whole(term, after)
        if opens == "dialog" or (opens == "any" and dialog_box(after) is not None):
            check_dialog(term, after, key)
        if key in CLOSE and dialog_box(term.screen()) is not None:
            term.send(CLOSE[key])
            deadline = time.monotonic() + 6  # a loaded CI machine: generous; a passing key takes ~0.2 s
            while dialog_box(term.screen()) is not None and time.monotonic() < deadline:
                time.sleep(0.1)
            assert dialog_box(term.screen()) is None, f"{key!r}'s dialog did not close"
        check_labels(term, term.screen())


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    root = tmp_path_factory.mktemp("walk")
    trainer = subprocess.Popen(["sleep", "600"])  # the live run's trainer: alive, writing nothing
    write_run(root / "run", pid=trainer.pid)
    sweep = root / "sweep"
    sweep.mkdir()
    trials = []
    for lr in (1e-4, 2e-4):
        shutil.copytree(root / "run", sweep / f"lr-{lr:g}")
        trials.append({"lr": lr, "run_dir": str(sweep / f"lr-{lr:g}"), "state": "running", "verdict": None})
    (sweep / "sweep.json").write_text(
        json.dumps({"lrs": [1e-4, 2e-4], "steps": 100, "trials": trials, "recommended_lr": None, "done": False})
    )
    # A session that outlives the walk's: killing the last session stops the tmux server, and the next
    # new-session raced the exiting server ("server exited unexpectedly", 1 run in 10).
    Term.run(["new-session", "-d", "-s", "keep", "sleep 900"], check=True)
    yield root
    Term.run(["kill-server"])
    trainer.kill()
    trainer.wait()


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_every_key_in_live_replay_and_sweep(recorded, size):
    cli = f"cd {Path.cwd()} && {PY} -m cockpit.cli"
    live = Term("live", f"{cli} attach {recorded / 'run'}; sleep 60", size)
    try:
        walk(live, LIVE_KEYS, "events:")
    finally:
        live.kill()
    replay = Term("replay", f"{cli} replay {recorded / 'run'}; sleep 60", size)
    try:
        walk(replay, REPLAY_KEYS, "REPLAY")
    finally:
        replay.kill()
    sweep = Term("sweep", f"{cli} replay {recorded / 'sweep'}; sleep 60", size)
    try:
        walk(sweep, SWEEP_KEYS, "lr sweep")
        sweep.wait("events:")  # Enter opened the focused trial's cockpit
        press_and_see(sweep, "q", set())
        sweep.wait("lr sweep")  # and q came back to the sweep
    finally:
        sweep.kill()
