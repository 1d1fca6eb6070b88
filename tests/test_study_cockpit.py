"""A run that belongs to a study: the cockpit shows the study's SOP map and stage (from study.json)."""

from __future__ import annotations

import os

from cockpit.advisor.stage import sop_map, study_stage
from cockpit.study.ledger import empty_stage, new_ledger, save, study_of


def test_sop_map_marks_done_skipped_current_and_todo():
    states = ["done", "done", "done", "running", "todo", "todo", "todo", "todo", "todo"]
    marks = [m for _, _, m in sop_map(states)]
    assert marks == ["done", "done", "done", "current", "todo", "todo", "todo", "todo", "todo"]
    assert study_stage(states) == 3
    states = ["done"] * 4 + ["skipped", "blocked"] + ["todo"] * 3
    assert [m for _, _, m in sop_map(states)][4:6] == ["skipped", "blocked"] and study_stage(states) == 5
    assert study_stage(["done"] * 8 + ["skipped"]) is None


def _study_with_run(tmp_path, states):
    from tuihelpers import write_run

    tmp_path.mkdir(parents=True, exist_ok=True)
    led = new_ledger({"name": "t"}, "t.yaml", {})
    led["stages"] = [{**empty_stage(i), "state": s} for i, s in enumerate(states)]
    save(tmp_path, led)
    return write_run(tmp_path / "s3-lr-0.0001", pid=os.getpid(), spike_at=None)


def test_study_of_reads_the_parent_ledger_only_for_a_study_run(tmp_path):
    rd = _study_with_run(tmp_path / "study", ["done"] * 3 + ["running"] + ["todo"] * 5)
    assert study_of(rd.path)["stages"][3]["state"] == "running"
    from tuihelpers import write_run

    assert study_of(write_run(tmp_path / "alone", pid=os.getpid()).path) is None


async def test_the_cockpit_shows_the_study_map_for_a_study_run(tmp_path):
    from cockpit.tui.app import CockpitApp
    from cockpit.tui.sources import LiveSource
    from tuihelpers import T0

    rd = _study_with_run(tmp_path, ["done", "done", "done", "running", "todo", "todo", "todo", "todo", "todo"])
    app = CockpitApp(LiveSource(rd.path, poll=0.02), run_dir=rd.path, clock=lambda: T0 + 100)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause(0.4)
        text = str(app.screen.query_one("#advisor").render())
        assert "study: stage 3 lr sweep" in text and "0✓ 1✓ 2✓ 3▶ 4· 5· 6· 7· 8·" in text
        assert "SOP stage" not in text  # not the guess over the run's config
        assert f"stage 3 lr sweep: `cockpit study {tmp_path} --auto` continues the study" in text.replace("\n", "")


def _hold_lock_in_a_child(study):
    """A separate process holding the study's lock (as a running `cockpit study` does), until killed."""
    import subprocess
    import sys
    import time

    code = f"from cockpit.study.lock import hold; hold({str(study)!r}); print('held', flush=True); import time; time.sleep(60)"
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "held"
    time.sleep(0.05)
    return p


def test_one_study_process_per_study_directory(tmp_path):
    import subprocess

    from cockpit.study.lock import holder
    from runhelpers import COCKPIT, ROOT

    _study_with_run(tmp_path, ["done"] * 3 + ["todo"] * 6)
    assert holder(tmp_path) is None
    child = _hold_lock_in_a_child(tmp_path)
    try:
        assert holder(tmp_path) == child.pid
        r = subprocess.run([*COCKPIT, "study", str(tmp_path), "--auto"], cwd=ROOT, capture_output=True, text=True)
        assert r.returncode == 2 and f"already being run by pid {child.pid}" in r.stderr, r.stderr
    finally:
        child.kill()
        child.wait()
    assert holder(tmp_path) is None  # a killed study leaves no stale lock


async def test_a_on_a_study_run_offers_the_studys_next_step(tmp_path, monkeypatch):
    from cockpit.tui import controls
    from cockpit.tui.app import CockpitApp
    from cockpit.tui.modals import ConfirmModal
    from cockpit.tui.sources import LiveSource
    from tuihelpers import T0

    started = []

    class Proc:
        pid = 4242

    monkeypatch.setattr(controls, "continue_study", lambda d: started.append(d) or Proc())
    rd = _study_with_run(tmp_path, ["done", "done", "done", "running", "todo", "todo", "todo", "todo", "todo"])
    app = CockpitApp(LiveSource(rd.path, poll=0.02), run_dir=rd.path, clock=lambda: T0 + 100)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause(0.4)
        await pilot.press("a")
        await pilot.pause(0.2)
        assert isinstance(app.screen, ConfirmModal)
        assert app.screen.body.startswith(f"stage 3 lr sweep: `cockpit study {tmp_path.resolve()} --auto`")
        await pilot.press("y")
        await pilot.pause(0.2)
        assert started == [tmp_path.resolve()]
        child = _hold_lock_in_a_child(tmp_path)  # now a study runs it: `a` says so and starts nothing
        try:
            await pilot.press("a")
            await pilot.pause(0.2)
            assert not isinstance(app.screen, ConfirmModal) and started == [tmp_path.resolve()]
        finally:
            child.kill()
            child.wait()


async def test_a_on_a_blocked_study_says_what_it_needs_and_starts_nothing(tmp_path, monkeypatch):
    from cockpit.study.ledger import load
    from cockpit.tui import controls
    from cockpit.tui.app import CockpitApp
    from cockpit.tui.modals import ConfirmModal
    from cockpit.tui.sources import LiveSource
    from tuihelpers import T0

    started = []
    monkeypatch.setattr(controls, "continue_study", lambda d: started.append(d))
    rd = _study_with_run(tmp_path, ["done", "done", "blocked"] + ["todo"] * 6)
    led = load(tmp_path)
    led["stages"][2]["reason"] = "the baseline run failed"
    save(tmp_path, led)
    app = CockpitApp(LiveSource(rd.path, poll=0.02), run_dir=rd.path, clock=lambda: T0 + 100)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause(0.4)
        await pilot.press("a")
        await pilot.pause(0.2)
        assert not isinstance(app.screen, ConfirmModal) and started == []
        assert any("stage 2 is blocked: the baseline run failed" in str(n.message) for n in app._notifications)


async def test_a_on_a_complete_studys_run_says_the_study_is_complete(tmp_path, monkeypatch):
    """`a` on a run of a study that had walked all its stages fell back to that run's own advice (a
    trial's: sweep lr, say), as if the study had not decided. It now says the study is complete and how
    its final run is merged."""
    from cockpit.study.ledger import load
    from cockpit.tui import controls
    from cockpit.tui.app import CockpitApp
    from cockpit.tui.modals import ConfirmModal
    from cockpit.tui.sources import LiveSource
    from tuihelpers import T0

    started = []
    monkeypatch.setattr(controls, "continue_study", lambda d: started.append(d))
    rd = _study_with_run(tmp_path, ["done"] * 4 + ["skipped", "skipped", "done", "skipped", "done"])
    led = load(tmp_path)
    led["stages"][8]["extra"] = {"merge_command": f"cockpit merge {tmp_path}/s8-final"}
    save(tmp_path, led)
    app = CockpitApp(LiveSource(rd.path, poll=0.02), run_dir=rd.path, clock=lambda: T0 + 100)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause(0.4)
        assert app.screen.check_action("apply_advice", ()) is True
        await pilot.press("a")
        await pilot.pause(0.2)
        assert not isinstance(app.screen, ConfirmModal) and started == []
        said = [str(n.message) for n in app._notifications]
        assert any("the study is complete; merge its final run: `m` in its cockpit" in m for m in said), said
