"""The run browser (issue #38, item 4): a folder holding our runs and other tools' logs listed with state,
kind, step, lr/r/alpha and the advisor's verdict; the filter; space + c compares; enter opens."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from test_compare_view import until

from cockpit.browse_rows import read_row
from cockpit.runlist import entries
from tuihelpers import write_run

FIX = Path(__file__).parent / "fixtures"


def runs_folder(root: Path) -> Path:
    """Two runs of ours (one training: this process is its trainer; one finished), a real HF
    trainer_state.json in a checkpoint folder with its adapter_config.json, a real LLaMA-Factory log, a
    real console log, a W&B history export, and a file that is no log."""
    write_run(root / "ours-live", 40, state="running", pid=os.getpid())
    write_run(root / "ours-done", 60, state="finished")
    ckpt = root / "kiko" / "checkpoint-6"
    ckpt.mkdir(parents=True)
    shutil.copy(FIX / "real-logs" / "21_kiko-lora-gradnorm237.json", ckpt / "trainer_state.json")
    (ckpt / "adapter_config.json").write_text(json.dumps({"r": 16, "lora_alpha": 32, "peft_type": "LORA"}))
    shutil.copy(FIX / "formats" / "lf_qwen25-medical-eval.jsonl", root / "trainer_log.jsonl")
    shutil.copy(FIX / "formats" / "console_lora-alpaca-logging.log", root / "alpaca.log")
    shutil.copy(FIX / "trackers" / "generated" / "wandb_export" / "history.csv", root / "wandb-history.csv")
    (root / "NOTES.md").write_text("# not a log\n")
    return root


def rows_of(root: Path):
    return {r.name: r for e in entries(root) if (r := read_row(e)) is not None}


def test_rows_of_every_format_with_kind_config_and_verdict(tmp_path):
    rows = rows_of(runs_folder(tmp_path / "runs"))
    assert set(rows) == {"ours-live", "ours-done", "kiko", "trainer_log.jsonl", "alpaca.log", "wandb-history.csv"}
    live, done, kiko = rows["ours-live"], rows["ours-done"], rows["kiko"]
    assert (live.state, live.live, live.step, live.total) == ("running", True, 40, 100)
    assert (done.state, done.live, done.step) == ("finished", False, 60)
    assert done.kind == "sft" and (done.r, done.alpha, done.lr) == (8, 16, 2e-4)  # alpha unset: 2r
    assert done.verdict != "-" and done.problem is None
    assert not kiko.ours and kiko.path.name == "trainer_state.json" and (kiko.r, kiko.alpha) == (16, 32)
    assert all(r.verdict != "-" for r in rows.values()), {n: (r.verdict, r.problem) for n, r in rows.items()}


def test_another_tools_log_is_read_once_per_row(tmp_path, monkeypatch):
    """The row's `ls` cells and its kind and verdict came from two whole reads of the same log."""
    from cockpit.logs.loaded import LoadedLog

    reads: list[str] = []
    real = LoadedLog.history
    monkeypatch.setattr(LoadedLog, "history", lambda self: reads.append(str(self.source)) or real(self))
    rows = rows_of(runs_folder(tmp_path / "runs"))
    foreign = [r for r in rows.values() if not r.ours]
    assert len(foreign) == 4 and all(r.verdict != "-" for r in foreign)
    assert all(reads.count(str(r.path)) == 1 for r in foreign), reads  # (ours: its head and tail, then whole)


def test_tracker_logs_are_rows_too(tmp_path):
    """A TensorBoard run folder, a W&B offline run folder, an MLflow store and a trackio database, as
    `cockpit ls` finds them, each with its kind and the advisor's verdict."""
    pytest.importorskip("tensorboard")
    gen, root = FIX / "trackers" / "generated", tmp_path / "runs"
    shutil.copytree(gen / "tensorboard" / "demo-tiny", root / "tb-run")
    shutil.copytree(gen / "wandb", root / "wandb-run")
    shutil.copy(gen / "mlflow" / "mlflow.db", root / "mlflow.db")
    shutil.copy(gen / "trackio" / "cockpit-fixture.db", root / "trackio.db")
    rows = rows_of(root)
    assert set(rows) == {"tb-run", "wandb-run", "mlflow.db", "trackio.db"}
    for r in rows.values():
        assert (r.state, r.step, r.kind, r.problem) == ("finished", 30, "sft", None) and r.verdict.startswith("danger")


def test_filter_words_and_key_values(tmp_path):
    rows = rows_of(runs_folder(tmp_path / "runs"))
    assert {n for n, r in rows.items() if r.matches("ours")} == {"ours-live", "ours-done"}
    assert {n for n, r in rows.items() if r.matches("state=run")} == {"ours-live"}
    assert {n for n, r in rows.items() if r.matches("r=16 alpha=32")} == {"kiko"}
    assert not any(r.matches("ours nosuchword") for r in rows.values())


# ---- the app ---------------------------------------------------------------------------------------------


def browser(root: Path):
    from cockpit.tui.browser_app import BrowserApp

    return BrowserApp(root)


async def read(pilot):
    from cockpit.tui.browser_screen import BrowserScreen

    await until(pilot, lambda: isinstance(pilot.app.screen, BrowserScreen) and pilot.app.screen.read_all)
    await pilot.pause(0.1)
    return pilot.app.screen


def shown_names(screen) -> list[str]:
    return [r.name for _, r in screen.shown()]


async def test_lists_filters_compares_and_opens(tmp_path):
    from cockpit.tui.compare_screen import CompareScreen
    from cockpit.tui.replay_screen import ReplayScreen

    root = runs_folder(tmp_path / "runs")
    app = browser(root)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await read(pilot)
        assert sorted(shown_names(screen)) == sorted(
            ["ours-live", "ours-done", "kiko", "trainer_log.jsonl", "alpaca.log", "wandb-history.csv"]
        )
        assert screen.table.row_count == 6
        await pilot.press("slash", *"ours")
        assert sorted(shown_names(screen)) == ["ours-done", "ours-live"] and screen.table.row_count == 2
        await pilot.press("enter")  # back to the table, the filter kept
        assert screen.table.has_focus and screen.table.row_count == 2
        await pilot.press("space", "space", "c")
        assert isinstance(app.screen, CompareScreen)
        await until(pilot, lambda: app.screen.polls >= 1)
        assert sorted(r.label for r in app.screen.view.report.runs) == ["ours-done", "ours-live"]
        await pilot.press("q")
        assert app.screen is screen
        await pilot.press("slash", *"=done", "enter")  # 'ours=done': no column 'ours': a word: nothing
        assert screen.table.row_count == 0
        await pilot.press("slash", "ctrl+u", *"ours state=finished", "enter")
        assert shown_names(screen) == ["ours-done"]
        await pilot.press("enter")
        assert isinstance(app.screen, ReplayScreen)
        await pilot.press("q")
        assert app.screen is screen


async def test_enter_attaches_to_a_training_run_and_replays_another_tools_log(tmp_path):
    from cockpit.tui.live_screen import LiveScreen
    from cockpit.tui.replay_screen import ReplayScreen

    root = runs_folder(tmp_path / "runs")
    app = browser(root)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await read(pilot)
        await pilot.press("slash", *"ours-live", "enter", "enter")
        assert isinstance(app.screen, LiveScreen)
        await pilot.press("q")
        await pilot.press("slash", "ctrl+u", *"kiko", "enter", "enter")
        assert isinstance(app.screen, ReplayScreen) and app.screen is not screen


async def test_a_folder_of_many_runs_opens_before_they_are_read(tmp_path, monkeypatch):
    """The table lists every entry by name at once; rows fill in as the worker reads them."""
    import threading

    import cockpit.tui.browser_screen as bs

    gate = threading.Event()
    real = bs.read_row

    def slow(entry):
        gate.wait(10)
        return real(entry)

    monkeypatch.setattr(bs, "read_row", slow)
    root = tmp_path / "runs"
    for i in range(5):
        write_run(root / f"run-{i}", 10, state="finished")
    app = browser(root)
    async with app.run_test(size=(120, 30)) as pilot:
        await until(pilot, lambda: app.screen.table.row_count == 5)
        assert not app.screen.read_all and "reading 0/5" in str(app.screen.query_one("#browse-status").render())
        gate.set()
        await read(pilot)
        assert {r.state for _, r in app.screen.shown()} == {"finished"}


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
def test_browser_snapshot(snap_compare, tmp_path, monkeypatch, size):
    monkeypatch.chdir(tmp_path)
    runs_folder(Path("runs"))

    async def ready(pilot):
        await read(pilot)

    assert snap_compare(browser(Path("runs")), terminal_size=size, run_before=ready)


# ---- the command line ------------------------------------------------------------------------------------


def test_cockpit_dir_without_a_terminal_says_so_and_help_still_works(tmp_path):
    from runhelpers import cockpit

    root = runs_folder(tmp_path / "runs")
    r = cockpit(str(root))  # `cockpit DIR` is `cockpit browse DIR`
    assert r.returncode == 2 and f"`cockpit ls {root}` prints the runs" in r.stderr
    r = cockpit("browse", str(root / "alpaca.log"))
    assert r.returncode == 2 and "is not a directory (to open one run: cockpit replay" in r.stderr
    r = cockpit("browse", str(tmp_path / "nothere"))
    assert r.returncode == 0 and "no runs yet" in r.stdout
    r = cockpit("--help")
    assert r.returncode == 0 and "cockpit [DIR]" in r.stdout and "browse" in r.stdout
