"""Snapshot tests guard the look: live and replay screens at four terminal sizes, each theme.

At every size each of the seven metrics keeps its chart (test_every_metric_has_its_chart_at_every_size
says so in text, so a snapshot approved by mistake cannot freeze a lost chart)."""

from __future__ import annotations

import pytest
from textual.widgets import Footer

from cockpit.logs import load_history
from cockpit.metrics import CHARTED
from cockpit.tui.app import CockpitApp
from cockpit.tui.chart import BARS, EMA_MARKS
from cockpit.tui.layout import chart_layout
from cockpit.tui.sources import LiveSource, ReplaySource
from tuihelpers import T0, write_run

SIZES = [(80, 24), (120, 40), (160, 48), (200, 60)]
THEMES = ["cockpit-dark", "cockpit-light", "cockpit-contrast"]
size_id = lambda s: f"{s[0]}x{s[1]}"  # noqa: E731


def replay_app(tmp_path, theme: str = "cockpit-dark", cursor: int | None = 45):
    rd = write_run(tmp_path / "run-a", state="stopped")
    h, _ = load_history(rd.path)
    src = ReplaySource(h, "run-a", speed=10)
    if cursor is not None:
        src.seek(cursor)
    return CockpitApp(src, run_dir=None, theme=theme)


def live_app(tmp_path):
    rd = write_run(tmp_path / "run-b", state="finished")
    return CockpitApp(LiveSource(rd.path, poll=0.02), run_dir=rd.path, clock=lambda: T0 + 100)


async def settled(pilot) -> None:
    """Until the history is drawn and the footer holds its keys (a loaded machine takes its time)."""
    app = pilot.app
    for _ in range(60):
        await pilot.pause(0.1)
        scr = app.screen
        if len(scr.history) and scr.query(Footer) and list(scr.query_one(Footer).children):
            break
    await pilot.pause(0.3)


@pytest.mark.parametrize("size", SIZES, ids=size_id)
def test_replay_screen_at_fixed_cursor(snap_compare, tmp_path, size):
    assert snap_compare(replay_app(tmp_path), terminal_size=size, run_before=settled)


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=size_id)
@pytest.mark.parametrize("theme", THEMES[1:])
def test_replay_screen_in_each_theme(snap_compare, tmp_path, theme, size):
    assert snap_compare(replay_app(tmp_path, theme), terminal_size=size, run_before=settled)


@pytest.mark.parametrize("size", SIZES, ids=size_id)
def test_live_screen(snap_compare, tmp_path, size):
    assert snap_compare(live_app(tmp_path), terminal_size=size, run_before=settled)


@pytest.mark.parametrize("size", SIZES, ids=size_id)
async def test_every_metric_has_its_chart_at_every_size(tmp_path, size):
    app = live_app(tmp_path)
    async with app.run_test(size=size) as pilot:
        await settled(pilot)
        rows = chart_layout(*size).chart_rows
        for key, title in ((m.key, m.short) for m in CHARTED):
            panel = app.screen.query_one(f"#m-{key}")
            lines = str(panel.render()).split("\n")
            assert lines[0].startswith(title), (key, lines)  # the value line, never wrapped
            chart = lines[1 : 1 + rows]
            assert len(chart) == rows and any(set(row) & set(BARS) for row in chart), (key, size, lines)
            bottom = chart[-1].split("┤")[-1]  # right of the y axis's bottom label, where the tile has one
            assert set(bottom.strip()) <= set(BARS + EMA_MARKS), (key, size, lines)  # bars and the EMA only
        if size[1] >= 48:
            assert rows >= 4  # the height is used
            gn = str(app.screen.query_one("#m-grad_norm").render())
            assert "┈" in gn  # the danger band drawn in the chart, not only named in the label
