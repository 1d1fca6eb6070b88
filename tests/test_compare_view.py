"""The compare view (issue #18, item 3): runs overlaid in the terminal, live, with keys. On run
directories made from real public logs (tests/fixtures/real-logs) laid out as an lr sweep."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from cockpit.compare.feed import CompareFeed
from cockpit.logs import trainer_state_events
from cockpit.rundir import RunDir, dumps
from cockpit.tui.run_table import run_table
from cockpit.tui.step_window import StepWindow
from tuihelpers import T0, write_run

FIX = Path(__file__).parent / "fixtures" / "real-logs"
README = Path(__file__).parent.parent / "README.md"
TRIALS = (
    # (real log, lr, the sweep's verdict; None: still running, no final state written)
    ("05_phi3-sft-entropy-flat.json", 5e-5, "too_low"),
    ("21_kiko-lora-gradnorm237.json", 2e-4, "too_high"),
    ("07_tfm-lora-20epochs-constlr.json", 1e-4, None),
)


def real_run(path: Path, log: str, lr: float, running: bool = False) -> RunDir:
    """A run directory whose events are a real trainer_state.json's, its config saying `lr`. `running`:
    without the summary and the final state, as a run still training writes it."""
    rd = RunDir(path).create()
    lines = []
    for i, ev in enumerate(trainer_state_events(FIX / log)):
        if running and ev["kind"] in ("summary", "state"):
            continue
        ev["t"] = T0 + i
        if ev["kind"] == "run_started":
            ev["config"]["training"]["learning_rate"] = lr
        lines.append(dumps(ev))
        if ev["kind"] == "run_started":
            lines.append(dumps({"v": 1, "t": T0 + i, "kind": "state", "state": "running", "step": 0}))
    rd.events.write_text("\n".join(lines) + "\n")
    return rd


def real_sweep(tmp_path: Path) -> Path:
    sweep = tmp_path / "demo-sweep-1"
    trials = []
    for log, lr, verdict in TRIALS:
        rd = real_run(sweep / f"lr-{lr:g}", log, lr, running=verdict is None)
        state = "running" if verdict is None else "finished"
        trials.append({"lr": lr, "run_dir": str(rd.path), "state": state, "verdict": verdict, "reason": log[:2]})
    (sweep / "sweep.json").write_text(json.dumps({"lrs": [t[1] for t in TRIALS], "steps": 700, "trials": trials}))
    return sweep


def text_of(renderable) -> str:
    from rich.console import Console

    console = Console(width=118, record=True, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


async def until(pilot, ok, timeout: float = 15.0) -> None:
    for _ in range(int(timeout / 0.05)):
        if ok():
            return
        await pilot.pause(0.05)
    raise AssertionError("timed out")


def compare_app(paths):
    from cockpit.tui.compare_app import CompareApp

    return CompareApp(CompareFeed([str(p) for p in paths]))


async def opened(pilot):
    await until(pilot, lambda: getattr(pilot.app.screen, "polls", 0) >= 1)
    await pilot.pause(0.2)
    return pilot.app.screen.view


# ---- keys ------------------------------------------------------------------------------------------------


async def test_keys_move_toggle_runs_and_metrics(tmp_path):
    sweep = real_sweep(tmp_path)
    app = compare_app([sweep])
    async with app.run_test(size=(120, 40)) as pilot:
        view = await opened(pilot)
        assert [r.label for r in view.report.runs] == ["lr-5e-05", "lr-0.0002", "lr-0.0001"]
        everyone = view.drawn["loss"]
        assert everyone > 0 and view.enabled() == [0, 1, 2]
        await pilot.press("down")
        assert view.highlighted().label == "lr-0.0002"
        await pilot.press("space")  # lr-0.0002 (real log 21: 6 logged losses) off the charts
        assert view.enabled() == [0, 2] and view.drawn["loss"] == everyone - 6
        await pilot.press("space")
        assert view.enabled() == [0, 1, 2] and view.drawn["loss"] == everyone
        await pilot.press("3")  # grad_norm off
        plots = {m: app.screen.query_one(f"#cmp-{m}").display for m in ("loss", "eval_loss", "grad_norm", "entropy")}
        assert plots == {"loss": True, "eval_loss": True, "grad_norm": False, "entropy": True}
        span = {m: app.screen.query_one(f"#cmp-{m}").styles.column_span for m in ("loss", "eval_loss", "entropy")}
        assert span == {"loss": 1, "eval_loss": 1, "entropy": 2}  # three charts: the last takes the whole row
        await pilot.press("m")  # one chart large: the first that is on
        assert view.shown_metrics() == [0] and not app.screen.query_one("#cmp-entropy").display
        await pilot.press("m", "m")  # eval loss, then entropy (grad_norm is off: skipped)
        assert view.shown_metrics() == [3]
        await pilot.press("m")
        assert view.shown_metrics() == [0, 1, 3]
        await pilot.press("s")
        assert not view.smoothed and "EMA off" in str(view.status())


async def test_keys_zoom_pan_and_reset(tmp_path):
    app = compare_app([real_sweep(tmp_path)])
    async with app.run_test(size=(120, 40)) as pilot:
        view = await opened(pilot)
        full = view.full_steps()
        everyone = view.drawn["loss"]
        assert full == (5, 680)  # the three real logs' first and last logged steps
        assert view.common_newest() == 60  # 21_kiko ends at step 60: + zooms where all three have data
        await pilot.press("plus")  # half the steps, ending where every shown run still has data
        assert view.shown_steps() == (5, pytest.approx(5 + (680 - 5) / 2))
        zoomed = view.drawn["loss"]
        assert 0 < zoomed < everyone
        await pilot.press("z")  # z zooms in too
        lo, hi = view.shown_steps()
        assert hi - lo == pytest.approx((680 - 5) / 4)
        await pilot.press("right")  # a quarter of the window on, towards the newest steps: panned
        lo2, hi2 = view.shown_steps()
        assert hi2 == pytest.approx(hi + (680 - 5) / 16) and "panned" in str(view.status())
        await pilot.press("minus", "minus")
        assert not view.window.zoomed
        await pilot.press("plus", "down", "space", "4", "0")  # reset: all steps, runs and charts
        assert not view.window.zoomed and view.enabled() == [0, 1, 2] and view.shown_metrics() == [0, 1, 2, 3]
        assert "steps 5-680 (all)" in str(view.status())


async def test_enter_opens_the_run_replay_or_live_and_q_comes_back(tmp_path):
    from cockpit.tui.live_screen import LiveScreen
    from cockpit.tui.replay_screen import ReplayScreen

    app = compare_app([real_sweep(tmp_path)])
    async with app.run_test(size=(120, 40)) as pilot:
        await opened(pilot)
        compare = app.screen
        await pilot.press("enter")  # lr-5e-05 finished: its replay, at the end
        assert isinstance(app.screen, ReplayScreen) and app.screen.run_dir.name == "lr-5e-05"
        await pilot.press("q")
        assert app.screen is compare
        await pilot.press("down", "down", "enter")  # lr-0.0001 still running: its live cockpit
        assert isinstance(app.screen, LiveScreen) and app.screen.run_dir.name == "lr-0.0001"
        await pilot.press("q")
        assert app.screen is compare
        await pilot.press("q")  # the view's own app: q closes it
        await pilot.pause(0.2)
    assert app.return_code in (0, None)


async def test_the_view_follows_running_runs_and_says_when_one_cannot_be_read(tmp_path):
    sweep = real_sweep(tmp_path)
    running = RunDir(sweep / "lr-0.0001")
    app = compare_app([sweep])
    async with app.run_test(size=(120, 40)) as pilot:
        view = await opened(pilot)
        assert "1 not finished (following)" in str(view.status())
        before = view.drawn["loss"]
        with open(running.events, "a") as f:
            f.write(dumps({"v": 1, "t": T0 + 900, "kind": "metrics", "step": 900, "loss": 0.5, "grad_norm": 1.0}))
            f.write("\n")
        await until(pilot, lambda: view.full_steps() == (5, 900))
        assert view.drawn["loss"] == before + 1
        # The log becomes unreadable (a directory where the file was): said, not taken for a quiet run.
        running.events.unlink()
        running.events.mkdir()
        await until(pilot, lambda: "lr-0.0001" in view.errors)
        status = str(view.status())
        assert "1 run(s) unreadable" in status and "events.jsonl" in status
        listed = text_of(run_table(view.report, set(view.enabled()), view.cursor, view.errors))
        assert re.search(r"lr-0\.0001 +read error", listed), listed


def test_step_window_zooms_at_the_newest_steps_and_pans_within_the_run():
    w = StepWindow()
    full = (0, 100)
    assert w.view(full) == (0, 100) and not w.pan(-1, full)
    assert w.zoom(0.5, full) and w.view(full) == (50, 100)
    assert w.view((0, 200)) == (150, 200)  # following: the window moves with new steps
    assert w.pan(-1, full) and w.view(full) == (37.5, 87.5)
    assert w.view((0, 200)) == (37.5, 87.5)  # panned back: it stays
    for _ in range(10):
        w.pan(-1, full)
    assert w.view(full) == (0, 50)  # never before the first step
    assert w.zoom(0.01, full) and w.view(full)[1] - w.view(full)[0] == 4  # MIN_SPAN
    assert w.zoom(1000, full) and not w.zoomed and w.view(full) == (0, 100)


# ---- how users reach it ----------------------------------------------------------------------------------


async def test_c_in_a_sweeps_run_opens_its_siblings_and_is_refused_elsewhere(tmp_path):
    from cockpit.tui.app import CockpitApp
    from cockpit.tui.compare_screen import CompareScreen
    from cockpit.tui.help import rows
    from cockpit.tui.palette import cockpit_commands
    from cockpit.tui.sources import LiveSource

    sweep = real_sweep(tmp_path)
    rd = sweep / "lr-0.0002"
    app = CockpitApp(LiveSource(rd, poll=0.02), run_dir=rd)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.3)
        assert any("Compare with the other runs" in c.title for c in cockpit_commands(app.screen))
        cockpit = app.screen
        await pilot.press("c")
        assert isinstance(app.screen, CompareScreen)
        view = await opened(pilot)
        assert view.highlighted().label == "lr-0.0002" and len(view.report.runs) == 3
        await pilot.press("enter")  # the highlighted run's own cockpit, over the view
        await pilot.press("q")  # back to the view, not out of the app
        assert app.screen is not cockpit and isinstance(app.screen, CompareScreen)
        await pilot.press("escape")
        assert app.screen is cockpit
    lone = write_run(tmp_path / "alone", state="finished")
    app = CockpitApp(LiveSource(lone.path, poll=0.02), run_dir=lone.path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.3)
        await pilot.press("c")
        assert not isinstance(app.screen, CompareScreen)
        said = [str(n.message) for n in app._notifications]
        assert any("belongs to no study or sweep" in s for s in said), said
        note = {w: n for _, _, w, n in rows(app.screen)}["compare this run with the other runs of its study or sweep"]
        assert "cockpit compare RUN RUN --view" in note
        assert not any("Compare" in c.title for c in cockpit_commands(app.screen))


async def test_c_in_the_sweep_view_toggles_the_overlay(tmp_path):
    from cockpit.tui.compare_screen import CompareScreen
    from cockpit.tui.sweep_app import SweepApp, TrialColumn

    app = SweepApp(real_sweep(tmp_path))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.3)
        list(app.query(TrialColumn))[2].focus()
        await pilot.press("c")
        assert isinstance(app.screen, CompareScreen)
        view = await opened(pilot)
        assert view.highlighted().label == "lr-0.0001"  # the trial that had the focus
        await pilot.press("c")
        assert not isinstance(app.screen, CompareScreen) and list(app.query(TrialColumn))


def test_compare_view_snapshot(snap_compare, tmp_path):
    async def ready(pilot):
        await opened(pilot)

    assert snap_compare(compare_app([real_sweep(tmp_path)]), terminal_size=(120, 40), run_before=ready)


# ---- the command line ------------------------------------------------------------------------------------


def cockpit(*args):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, "-m", "cockpit.cli", *args], capture_output=True, text=True, env=env, timeout=60
    )


def test_view_refuses_without_a_terminal_or_with_one_run(tmp_path):
    sweep = real_sweep(tmp_path)
    r = cockpit("compare", str(sweep), "--view")  # capture_output: no terminal
    assert r.returncode == 2 and "--view needs a terminal" in r.stderr and not r.stdout
    r = cockpit("compare", str(sweep / "lr-5e-05"), "--view")
    assert r.returncode == 2 and "1 run with a log to compare; --view needs at least 2" in r.stderr
    r = cockpit("compare", str(sweep), "--view", "--html", str(tmp_path / "x.html"))
    assert r.returncode == 2 and "--view and --html" in r.stderr
    r = cockpit("compare", str(sweep))  # printing stays the default
    assert r.returncode == 0 and "Runs (3)" in r.stdout


def test_help_lists_every_compare_key_and_the_readme_table_matches():
    from cockpit.tui import compare_keys
    from cockpit.tui.help import human_key

    listed = {a for _, items in compare_keys.HELP_GROUPS for actions, _ in items for a in actions}
    assert {b.action for b in compare_keys.BINDINGS} == listed
    text = README.read_text()
    table = text[text.index("### The compare view") : text.index("## The config")]
    readme = dict(re.findall(r"^\| `([^`]+)` \| (.+?) \|$", table, re.M))
    for _, items in compare_keys.HELP_GROUPS:
        for actions, what in items:
            keys = [human_key(k) for b in compare_keys.BINDINGS if b.action in actions for k in b.key.split(",")]
            assert readme.get(" / ".join(dict.fromkeys(keys))) == what, (keys, what)


def test_a_trial_that_has_not_written_its_config_yet_adds_no_difference(tmp_path):
    """A trial just starting (no run_started yet) has no config to tell: every key used to 'differ'."""
    a = real_run(tmp_path / "a", TRIALS[0][0], 5e-5)
    b = real_run(tmp_path / "b", TRIALS[0][0], 1e-4)
    starting = RunDir(tmp_path / "c").create()
    starting.events.write_text(dumps({"v": 1, "t": T0, "kind": "state", "state": "starting", "step": 0}) + "\n")
    feed = CompareFeed([a.path, b.path, starting.path])
    feed.poll()
    assert feed.report().diff == [("training.learning_rate", ["5e-05", "0.0001", "?"])]


def test_the_keys_a_study_tunes_come_before_its_bookkeeping():
    """A study's trials differ in lr and in their stage, eval and save steps: at 80 columns the row was
    `lr 5e-05  sop_sta…`, the dropout cut off behind the stage number."""
    from types import SimpleNamespace

    from cockpit.tui.run_table import differences

    diff = [
        ("sop_stage", ["2", "4"]),
        ("training.eval_steps", ["12", "4"]),
        ("training.max_steps", ["12", "20"]),
        ("lora.lora_dropout", ["0.05", "0.1"]),
        ("training.learning_rate", ["5e-05", "0.0002"]),
    ]
    assert (
        differences(SimpleNamespace(diff=diff), 1) == "lr 0.0002  dropout 0.1  max_steps 20  sop_stage 4  eval_steps 4"
    )
