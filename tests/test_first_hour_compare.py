"""The compare view in the first hour (#37 item 6): + zooms where the shown runs have data."""

from __future__ import annotations

import pytest
from test_compare_view import compare_app, opened

from cockpit.tui.compare_charts import visible_points
from tuihelpers import write_run


def study_like(tmp_path):
    """Three 60-step trials and a 300-step final run, as a study's compare shows them."""
    paths = [write_run(tmp_path / f"s3-lr-{i}", 60, state="finished", acks=False).path for i in range(3)]
    paths.append(write_run(tmp_path / "s8-final", 300, state="finished", acks=False).path)
    return paths


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_plus_zooms_into_steps_every_shown_run_has(tmp_path, size):
    # Before: + showed steps 150-300, where only the final run has data: the three trials vanished.
    async with compare_app(study_like(tmp_path)).run_test(size=size) as pilot:
        view = await opened(pilot)
        assert view.full_steps() == (1, 300)
        for _ in range(3):
            await pilot.press("plus")
            shown = view.shown_steps()
            assert shown[0] < 60 and shown[1] - shown[0] < 299, shown
            chart = next(c for c in view.report.charts if c.key == "loss")
            for run in view.enabled():
                assert visible_points(chart, run, shown, True), (run, shown)
        assert view.shown_steps()[1] == pytest.approx(60)  # the third + ends at the trials' last step
        assert "steps 23-60 of 1-300 (newest shared)" in str(view.status())
        # Pan right reaches the final run's newest steps still.
        for _ in range(40):
            await pilot.press("right")
        assert view.shown_steps()[1] == 300


async def test_the_trials_switched_off_give_the_zoom_to_the_final_runs_newest_steps(tmp_path):
    async with compare_app(study_like(tmp_path)).run_test(size=(120, 40)) as pilot:
        view = await opened(pilot)
        for _ in range(3):
            await pilot.press("space", "down")  # the three trials off
        assert len(view.enabled()) == 1
        await pilot.press("plus")
        assert view.shown_steps()[1] == 300


async def test_a_log_axis_chart_survives_a_second_render(tmp_path):
    # CI crash: plotext takes a log axis' values to log10 in place as it builds, so the second render of
    # the grad_norm chart (a resize, a slow machine's extra frame) took the log of a log: math domain error.
    from cockpit.tui.widgets.redrawn_plot import RedrawnPlot

    async with compare_app(study_like(tmp_path)).run_test(size=(120, 40)) as pilot:
        view = await opened(pilot)
        assert next(c for c in view.report.charts if c.key == "grad_norm").log_y
        plot = view.query_one("#cmp-grad_norm", RedrawnPlot)
        first = plot.built()
        assert plot.built() == first
        await pilot.resize_terminal(100, 30)
        await pilot.pause(0.1)
        await pilot.resize_terminal(120, 40)
        await pilot.pause(0.1)
        assert plot.built() == first
