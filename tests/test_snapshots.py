"""Snapshot tests guard the look: live and replay screens, each theme, 80x24 and 160x48."""

from __future__ import annotations

import pytest

from cockpit.logs import load_history
from cockpit.tui.app import CockpitApp
from cockpit.tui.sources import LiveSource, ReplaySource
from tuihelpers import T0, write_run

SIZES = [(80, 24), (160, 48)]
THEMES = ["cockpit-dark", "cockpit-light", "cockpit-contrast"]


def replay_app(tmp_path, theme: str, cursor: int | None = 45):
    rd = write_run(tmp_path / "run-a", state="stopped")
    h, _ = load_history(rd.path)
    src = ReplaySource(h, "run-a", speed=10)
    if cursor is not None:
        src.seek(cursor)
    return CockpitApp(src, run_dir=None, theme=theme)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("theme", THEMES)
def test_replay_screen_at_fixed_cursor(snap_compare, tmp_path, theme, size):
    assert snap_compare(replay_app(tmp_path, theme), terminal_size=size)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_live_screen(snap_compare, tmp_path, size):
    rd = write_run(tmp_path / "run-b", state="finished")
    app = CockpitApp(LiveSource(rd.path, poll=0.02), run_dir=rd.path, clock=lambda: T0 + 100)

    async def settle(pilot):
        await pilot.pause(0.8)

    assert snap_compare(app, terminal_size=size, run_before=settle)
