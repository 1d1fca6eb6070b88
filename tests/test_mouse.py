"""The mouse (issue #38 item 3): a click on a chart reads the exact (step, value) of every series it
shows, the wheel zooms the step range around the pointer; `<` `>` read with the keys. On the tiles, the
zoom and the compare view, driven by Pilot mouse events at the columns a user would click."""

from __future__ import annotations

import math
import re

import pytest
from test_compare_view import compare_app, opened, real_sweep
from test_first_hour import live_app, replay_app
from textual import events

from cockpit.logs.downsample import bucket_of
from cockpit.tui.readout import nearest, next_step, plot_frame, step_at_column, tile_point
from cockpit.tui.step_window import StepWindow
from tuihelpers import write_run


async def scroll(pilot, selector, offset, up: bool = True) -> None:
    """The wheel over `selector` at `offset`: Pilot has click and hover but no scroll, so its own mouse
    path (the screen forwards the event to the widget under it, as a terminal's wheel)."""
    await pilot._post_mouse_events([events.MouseScrollUp if up else events.MouseScrollDown], selector, offset)


async def until(pilot, ok, timeout: float = 10.0) -> None:
    for _ in range(int(timeout / 0.05)):
        if ok():
            return
        await pilot.pause(0.05)
    raise AssertionError("timed out")


def frame_of(plot) -> tuple[int, int]:
    frame = plot_frame(plot.built())
    assert frame is not None, plot.built()
    return frame


def toasts(app) -> list[str]:
    return [f"{n.title}: {n.message}" for n in app._notifications]


# ---- where a column lands --------------------------------------------------------------------------------


def test_a_column_maps_back_to_the_step_plotext_drew_there():
    import plotext as plt

    plt.clear_figure()
    plt.plotsize(60, 15)
    plt.plot([0, 50, 100], [1.0, 5.0, 3.0], marker="braille")
    plt.xlim(0, 100)
    plt.vline(50, "red")
    built = plt.build()
    left, right = plot_frame(built)
    assert (left, right) == (4, 59)  # `5.00┤` takes the first four columns
    row = re.sub(r"\x1b\[[0-9;]*m", "", built).splitlines()[3]
    at = [i for i, c in enumerate(row) if c == "│" and left < i < right]
    assert step_at_column(at[0], (left, right), (0, 100)) == pytest.approx(50, abs=1)  # the vline's column
    assert step_at_column(left + 1, (left, right), (0, 100)) == 0
    assert step_at_column(right - 1, (left, right), (0, 100)) == 100
    assert step_at_column(left, (left, right), (0, 100)) is None  # the y axis, not the plot
    assert plot_frame("no frame here") is None


def test_nearest_and_next_logged_step():
    steps = [5, 10, 20, 40]
    assert [steps[nearest(steps, s)] for s in (0, 7.4, 7.6, 31, 99)] == [5, 5, 10, 40, 40]
    assert nearest([], 3) is None
    assert next_step(steps, None, -1) == 40  # the readout starts at the newest step
    assert next_step(steps, 20, -1) == 10 and next_step(steps, 20, 1) == 40
    assert next_step(steps, 5, -1) == 5 and next_step(steps, 40, 1) == 40  # at the ends it stays
    assert next_step(steps, 30, -1) == 20 and next_step(steps, 30, 1) == 40  # between two: the one each way


def test_a_tile_column_reads_the_point_its_bar_draws():
    v = [1.0] * 100
    v[42] = 9.0  # a spike: the bar of its column is the spike's
    v[3] = math.nan
    assert tile_point(v, 10, 4, "loss") == 42
    assert tile_point(v, 10, 0, "loss") == 0  # the NaN is a gap, never the reading
    lr = [1.0 - i / 200 for i in range(100)]
    assert tile_point(lr, 10, 2, "learning_rate") == 29  # the lr's column draws its bucket's lowest
    assert tile_point([1.0, 2.0, 3.0], 10, 1, "loss") == 1  # fewer points than columns: one each
    assert tile_point([1.0, 2.0, 3.0], 10, 5, "loss") is None  # right of the last point
    assert tile_point([math.nan] * 20, 10, 1, "loss") == 2


def test_the_wheel_zooms_around_the_step_under_the_pointer():
    w = StepWindow()
    full = (0, 1000)
    assert w.zoom_at(0.5, 250, full)  # a quarter of the way along: it stays a quarter of the way along
    lo, hi = w.view(full)
    assert (lo, hi) == (pytest.approx(125), pytest.approx(625)) and (250 - lo) / (hi - lo) == pytest.approx(0.25)
    assert w.zoom_at(0.5, 600, full)
    lo2, hi2 = w.view(full)
    assert hi2 - lo2 == pytest.approx(250) and (600 - lo2) / 250 == pytest.approx((600 - lo) / (hi - lo))
    assert w.zoom_at(0.5, 1000, full) and w.view(full)[1] == 1000 and w.end is None  # at the newest: follows
    assert w.view((0, 1200))[1] == 1200
    while w.zoom_at(2.0, 500, (0, 1200)):
        pass
    assert not w.zoomed  # wheeled out to all the steps


# ---- the tiles -------------------------------------------------------------------------------------------


TILE_GUTTER = 2
"""A tile's border and left padding: its content starts 2 cells in."""


def chart_at(panel, column: int) -> tuple[int, int]:
    """The offset of a tile's chart column: right of its border, padding and y labels (tile_axes.py)."""
    return TILE_GUTTER + panel.plot_columns()[0] + column, 2


async def test_a_click_on_a_tile_reads_the_step_and_value_its_column_draws(tmp_path):
    rd = write_run(tmp_path / "r", steps=60, state="finished", spike_at=40)
    app = replay_app(rd)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause(0.5)
        await pilot.press("end")
        await pilot.pause(0.3)
        loss = app.screen.query_one("#m-loss")
        assert len(loss.values) == 60 and loss.plot_columns()[1] >= 60  # a column per step here
        await pilot.click("#m-loss", offset=chart_at(loss, 0))
        said = toasts(app)[-1]
        assert said.startswith("loss: step 1: ") and f"{3.0 * math.exp(-1 / 30) + 0.5:.6g}" in said, said
        await pilot.click("#m-loss", offset=chart_at(loss, 59))
        assert f"step 60: {3.0 * math.exp(-2) + 0.5:.6g}" in toasts(app)[-1]
        gn = app.screen.query_one("#m-grad_norm")
        spike = bucket_of(40, 60, gn.plot_columns()[1])  # the column holding step 41, in the spike (40-42)
        await pilot.click("#m-grad_norm", offset=chart_at(gn, spike))
        assert re.search(r"grad_norm: step 4[0-2]: 12\b", toasts(app)[-1]), toasts(app)
        await pilot.click("#m-loss", offset=chart_at(loss, 64))  # right of the last point
        assert "nothing drawn there" in toasts(app)[-1]
        said = len(toasts(app))
        await pilot.click("#m-loss", offset=chart_at(loss, -1))  # the y axis's labels: no reading
        assert len(toasts(app)) == said
        # The keys: `<` reads the focused tile's newest column, then one column back at a time.
        app.screen.query_one("#m-loss").focus()
        app.screen._readout_columns.clear()
        await pilot.press("less_than_sign")
        assert "step 60:" in toasts(app)[-1]
        await pilot.press("less_than_sign", "less_than_sign", "greater_than_sign")
        assert "step 59:" in toasts(app)[-1]


async def test_a_long_runs_tile_column_reads_its_bucket_and_says_which_steps(tmp_path):
    rd = write_run(tmp_path / "r", steps=400, state="finished", spike_at=200)
    app = replay_app(rd)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.5)
        await pilot.press("end")
        await pilot.pause(0.3)
        gn = app.screen.query_one("#m-grad_norm")
        width = gn.plot_columns()[1]
        assert width < 400
        column = 200 * width // 400  # the column holding step 201, the spike's first
        await pilot.click("#m-grad_norm", offset=chart_at(gn, column))
        said = toasts(app)[-1]
        assert re.search(r"step 20[0-2]: 12, the highest of steps \d+-\d+", said), said
        first, last = map(int, re.search(r"steps (\d+)-(\d+)", said).groups())
        assert first <= 201 <= last and last - first + 1 in (400 // width, 400 // width + 1)


async def test_the_wheel_over_a_tile_opens_its_zoom_around_that_step(tmp_path):
    rd = write_run(tmp_path / "r", steps=60, state="finished")
    app = replay_app(rd)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause(0.5)
        await pilot.press("end")
        await pilot.pause(0.3)
        await scroll(pilot, "#m-loss", chart_at(app.screen.query_one("#m-loss"), 19))  # step 20
        await until(pilot, lambda: type(app.screen).__name__ == "ZoomModal")
        await pilot.pause(0.2)
        lo, hi = app.screen.shown
        assert hi - lo == pytest.approx((60 - 1) / 2) and lo <= 20 <= hi


# ---- the zoom --------------------------------------------------------------------------------------------


async def test_the_zoom_reads_a_click_and_zooms_with_the_wheel_and_the_keys(tmp_path):
    rd = write_run(tmp_path / "r", steps=60, state="finished")
    app = live_app(rd)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause(0.5)
        await pilot.press("z")
        await until(pilot, lambda: type(app.screen).__name__ == "ZoomModal")
        await pilot.pause(0.3)
        zoom = app.screen
        plot = zoom.query_one("#zoom")
        readout = zoom.query_one("#zoom-readout")
        assert "click or < > reads a value" in str(readout.render())
        left, right = frame_of(plot)
        await pilot.click("#zoom", offset=(right - 1, 5))  # the plot's last column: the newest step
        assert zoom.readout_step == 60
        assert f"step 60: loss {3.0 * math.exp(-2) + 0.5:.6g}" in str(readout.render())
        await pilot.click("#zoom", offset=(left + 1, 5))
        assert zoom.readout_step == 1
        await pilot.click("#zoom", offset=(left, 5))  # the y axis: no reading, the last one stays
        assert zoom.readout_step == 1
        # The wheel: in around the step under the pointer (a third of the way along stays there).
        third = left + 1 + (right - left - 2) // 3
        under = plot.step_at(third, zoom.shown)
        await scroll(pilot, "#zoom", (third, 5))
        lo, hi = zoom.shown
        assert hi - lo == pytest.approx((60 - 1) / 2)
        assert (under - lo) / (hi - lo) == pytest.approx((under - 1) / (60 - 1))
        assert len(zoom._steps) == 60  # the readout still reads every logged step
        await scroll(pilot, "#zoom", (third, 5), up=False)
        assert zoom.shown == (1, 60) and not zoom.window.zoomed
        # The keys: + - zoom, ← → pan, < > read, 0 back to all the steps and no readout.
        await pilot.press("plus")
        assert zoom.shown == (pytest.approx(1 + 59 / 2), 60)
        await pilot.press("left")
        assert zoom.shown[1] < 60
        await pilot.press("greater_than_sign")  # the readout outside the window: starts at its newest
        assert zoom.readout_step == math.floor(zoom.shown[1])
        await pilot.press("less_than_sign")
        assert zoom.readout_step == math.floor(zoom.shown[1]) - 1
        assert f"step {zoom.readout_step}: loss" in str(readout.render())
        await pilot.press("0")
        assert zoom.shown == (1, 60) and zoom.readout_step is None
        await pilot.press("escape")
        assert type(app.screen).__name__ != "ZoomModal"


# ---- the compare view ------------------------------------------------------------------------------------


async def test_a_click_on_a_compare_chart_reads_every_run_at_that_step(tmp_path):
    app = compare_app([real_sweep(tmp_path)])
    async with app.run_test(size=(120, 40)) as pilot:
        view = await opened(pilot)
        plot = app.screen.query_one("#cmp-loss")
        line = app.screen.query_one("#cmp-readout")
        assert not line.display  # no readout until asked
        left, right = frame_of(plot)
        await pilot.click("#cmp-loss", offset=(left + 1, 4))  # the first column: step 5, the first logged
        assert view.readout_step == 5 and line.display
        text = str(line.render())
        chart = next(c for c in view.report.charts if c.key == "loss")
        labels = [r.label for r in view.report.runs]
        for ln in chart.lines:  # each run's own first logged loss, exactly, at its own step
            assert f"{labels[ln.run]} {ln.values[0]:.6g}" in text, text
            if ln.steps[0] != 5:
                assert f"@{ln.steps[0]}" in text
        await pilot.click("#cmp-loss", offset=(right - 1, 4))  # the last column: step 680
        assert view.readout_step == 680 and "loss at step 680:" in str(line.render())
        # `<` moves it one logged step back, over every run's steps; `0` clears it.
        steps = sorted({s for ln in chart.lines for s in ln.steps})
        await pilot.press("less_than_sign")
        assert view.readout_step == steps[steps.index(680) - 1]
        await pilot.press("0")
        assert view.readout_step is None and not line.display


async def test_the_wheel_on_a_compare_chart_zooms_around_the_pointer(tmp_path):
    app = compare_app([real_sweep(tmp_path)])
    async with app.run_test(size=(120, 40)) as pilot:
        view = await opened(pilot)
        everyone = view.drawn["loss"]
        plot = app.screen.query_one("#cmp-loss")
        left, right = frame_of(plot)
        column = left + 1 + (right - left - 2) // 4
        under = plot.step_at(column, view.shown_steps())
        await scroll(pilot, "#cmp-loss", (column, 4))
        lo, hi = view.shown_steps()
        assert hi - lo == pytest.approx((680 - 5) / 2) and 0 < view.drawn["loss"] < everyone
        assert (under - lo) / (hi - lo) == pytest.approx((under - 5) / (680 - 5))
        assert "panned" in str(view.status())
        await scroll(pilot, "#cmp-loss", (column, 4), up=False)
        assert not view.window.zoomed and view.drawn["loss"] == everyone


def test_compare_readout_snapshot(snap_compare, tmp_path):
    """The readout line under the charts and the grey line at its step, as a click leaves them."""

    async def clicked(pilot):
        await opened(pilot)
        left, right = frame_of(pilot.app.screen.query_one("#cmp-loss"))
        await pilot.click("#cmp-loss", offset=((left + right) // 2, 4))
        await pilot.pause(0.2)

    assert snap_compare(compare_app([real_sweep(tmp_path)]), terminal_size=(120, 40), run_before=clicked)
