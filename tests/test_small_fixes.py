"""Issue 25, item 9: run names, the replay's `e` and a crashed cockpit's exit code, `ls` of a run whose
events.jsonl was moved, `ctl` on a finished run, the merge's stale-temp cleanup. Fast: no trainer."""

from __future__ import annotations

import os

import pytest

from runhelpers import cockpit, demo_yaml
from tuihelpers import append, write_run


def test_bad_run_names_are_clean_config_errors(tmp_path):
    cfg = str(demo_yaml(tmp_path))
    runs = tmp_path / "runs"
    for args, says in (
        (("--name", "../x"), "--name '../x': Value error, must be a plain name"),
        (("--name", "a\nb"), "no control characters: '\\n'"),
        (("--set", "name=a\nb"), "--set name: the value holds a control character ('\\n')"),
        (("--set", 'name="a\\tb"'), "no control characters: '\\t'"),
    ):
        r = cockpit("run", cfg, "--detach", "--runs-dir", str(runs), *args)
        assert r.returncode == 2 and says in r.stderr, (args, r.stderr)
        assert "Traceback" not in r.stderr and len(r.stderr.splitlines()) == 1
    assert not runs.exists()


def test_ctl_on_a_finished_run_does_not_suggest_resume(tmp_path):
    fin = write_run(tmp_path / "fin", state="finished")
    r = cockpit("ctl", str(fin.path), "pause")
    assert r.returncode == 2 and "the run is finished" in r.stderr and "cockpit merge" in r.stderr
    assert "resume" not in r.stderr
    stopped = write_run(tmp_path / "stopped", state="stopped")
    (stopped.checkpoints / "checkpoint-50").mkdir(parents=True)
    r = cockpit("ctl", str(stopped.path), "pause")
    assert r.returncode == 2 and f"cockpit resume {stopped.path}" in r.stderr


def test_ls_shows_a_run_whose_events_file_was_moved(tmp_path):
    runs = tmp_path / "runs"
    live = write_run(runs / "live-run")
    live.lock.write_text(f"{os.getpid()} host\n")  # a live trainer holds it (this test's own pid)
    live.events.rename(tmp_path / "moved.jsonl")
    gone = write_run(runs / "gone-run", state="stopped")
    gone.events.unlink()
    r = cockpit("ls", str(runs))
    assert r.returncode == 0, r.stderr
    rows = {line.split()[0]: line for line in r.stdout.splitlines()[1:]}
    assert f"no events.jsonl, trainer pid {os.getpid()} alive" in rows["live-run"]
    assert "no events.jsonl" in rows["gone-run"] and "alive" not in rows["gone-run"]


async def test_replay_e_shows_a_traceback_that_is_not_a_string(tmp_path):
    from textual.widgets import Static

    from cockpit.logs import load_history
    from cockpit.tui.app import CockpitApp
    from cockpit.tui.modals import TextModal
    from cockpit.tui.sources import ReplaySource

    rd = write_run(tmp_path / "r", state="crashed")
    append(rd, kind="error", step=60, message="[bold]x[/", traceback={"frames": ["a.py:1", "b.py:2"]})
    h, log = load_history(rd.path)
    app = CockpitApp(ReplaySource(h, log.title), run_dir=None)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause(0.3)
        await pilot.press("e")
        await pilot.pause(0.2)
        assert isinstance(app.screen, TextModal)
        assert "b.py:2" in str(app.screen.query_one("#text", Static).render())
    assert not app.return_code


def test_a_crashed_cockpit_exits_non_zero(tmp_path, monkeypatch):
    from textual.app import App

    from cockpit.tui import launch

    class Broken(App):
        def on_mount(self) -> None:
            raise RuntimeError("boom")

    assert launch.run_app(Broken(), headless=True) == 1
    rd = write_run(tmp_path / "r", state="finished")
    monkeypatch.setattr(launch, "run_app", lambda app, **kw: 1)
    with pytest.raises(SystemExit) as e:
        launch.open_replay(rd.path)
    assert e.value.code == 1
    with pytest.raises(SystemExit) as e:
        launch.open_live(rd.path)
    assert e.value.code == 1


def test_merge_cleans_only_its_own_dead_temp_folders(tmp_path):
    from cockpit.merge.run import TEMP_MARKER, _clean_stale_temp, _make_temp

    out = tmp_path / "merged"
    dead = 999_999_999
    ours_dead = tmp_path / f".merged.tmp-{dead}"
    ours_dead.mkdir()
    (ours_dead / TEMP_MARKER).write_text(f"{dead}\n")
    foreign = [
        tmp_path / f".merged.tmp-{dead - 1}",  # right name, no marker: not made by a merge
        tmp_path / f".cache.tmp-{dead}",  # another tool's temp folder
        tmp_path / f".other.tmp-{dead}",
    ]
    for p in foreign:
        p.mkdir()
        (p / "keep").write_text("x")
    (foreign[2] / TEMP_MARKER).write_text(f"{dead}\n")  # a merge to another --out: not this one's to clean
    alive = tmp_path / f".merged.tmp-{os.getppid()}"  # a live merge's folder
    alive.mkdir()
    (alive / TEMP_MARKER).write_text("\n")
    _clean_stale_temp(out)
    assert not ours_dead.exists() and alive.exists() and all((p / "keep").exists() for p in foreign)
    tmp = _make_temp(out)
    assert tmp.name == f".merged.tmp-{os.getpid()}" and (tmp / TEMP_MARKER).is_file()
