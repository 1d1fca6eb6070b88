"""Words that fit the screen (#37 item 4): event-log lines keep their end, toasts leave the log alone,
the samples panel's header stays on one line. At 80x24 and 120x40."""

from __future__ import annotations

import os

import pytest

from tuihelpers import append, write_run

SIZES = [(80, 24), (120, 40)]


def _lines(log) -> list[str]:
    return ["".join(seg.text for seg in strip).rstrip() for strip in log.lines]


async def _settled(pilot, app, ok) -> None:
    for _ in range(100):  # the first events are read asynchronously (slow on a busy box)
        await pilot.pause(0.05)
        if ok():
            return
    await pilot.pause(0.2)


@pytest.mark.parametrize("size", SIZES)
async def test_a_long_event_line_wraps_and_keeps_its_end(tmp_path, size):
    from test_first_hour import live_app

    rd = write_run(tmp_path / "r", pid=os.getpid())
    reason = "grad_norm over 10 for 3 logged steps in a row (steps 40-42, max 12): explosion precursor"
    append(rd, kind="guard", step=61, rule="grad_norm_precursor", message=reason, action="lr_half")
    app = live_app(rd)
    async with app.run_test(size=size) as pilot:
        log = app.screen.query_one("#log")
        await _settled(pilot, app, lambda: any("precursor" in x for x in _lines(log)))
        text = " ".join(x.strip() for x in _lines(log))
        assert "explosion precursor" in text, _lines(log)
        assert all(len(x) <= log.content_size.width for x in _lines(log)), (log.content_size, _lines(log))


@pytest.mark.parametrize("size", SIZES)
async def test_a_toast_leaves_the_event_logs_last_lines_visible(tmp_path, size):
    from test_first_hour import live_app
    from textual.widgets._toast import Toast

    rd = write_run(tmp_path / "r", pid=os.getpid())
    app = live_app(rd)
    async with app.run_test(size=size, notifications=True) as pilot:
        log = app.screen.query_one("#log")
        await _settled(pilot, app, lambda: bool(log.lines))
        app.notify("lr x0.5 sent: the trainer applies it at its next step", timeout=30)
        await pilot.pause(0.5)
        toasts = list(app.screen.query(Toast))
        assert toasts
        for toast in toasts:
            assert not toast.region.overlaps(log.region), (toast.region, log.region)


async def test_the_samples_header_stays_on_one_line(tmp_path):
    from test_first_hour import live_app

    rd = write_run(tmp_path / "r", 100, pid=os.getpid())
    for i in range(12):  # step 100, 12 samples: "samples @ step 100  (13 in all, v shows them)" is 46 wide
        append(rd, kind="sample", step=100, prompt=f"Reverse the word.\nw{i}", completion="x", max_new_tokens=12)
    app = live_app(rd)
    async with app.run_test(size=(120, 40)) as pilot:
        panel = app.screen.query_one("#samples")
        await _settled(pilot, app, lambda: "step 100" in str(panel._renderable))
        lines = list(panel.render_lines(panel.content_region.reset_offset))
        first, second = ("".join(seg.text for seg in lines[i]).strip("│ ") for i in (1, 2))  # under the border
        assert first.startswith("samples @ step 100") and first.endswith(")"), (first, second)
        assert second.startswith("›"), second


@pytest.mark.parametrize("size", SIZES)
async def test_the_help_wraps_its_rows_inside_the_dialog(tmp_path, size):
    from test_first_hour import live_app
    from textual.geometry import Region
    from textual.widgets import Static

    rd = write_run(tmp_path / "r", pid=os.getpid())
    app = live_app(rd)
    async with app.run_test(size=size) as pilot:
        await _settled(pilot, app, lambda: bool(app.screen.query("#log").first().lines))
        await pilot.press("question_mark")
        await pilot.pause(0.5)
        text = app.screen.query_one("#text", Static)
        dialog = app.screen.query_one("#dialog")
        assert text.region.right <= dialog.content_region.right, (text.region, dialog.content_region)
        w, h = text.size
        shown = " ".join("".join(s.text for s in strip).strip() for strip in text.render_lines(Region(0, 0, w, h)))
        # The end of the longest row: cut at the dialog's edge at 80 columns before.
        assert "compares any runs)" in " ".join(shown.split()), shown


@pytest.mark.parametrize("size", SIZES)
async def test_the_advisor_panel_shows_the_findings_end_and_the_next_action(tmp_path, size):
    from test_first_hour import live_app

    from cockpit.tui.widgets.advisor_panel import AdvisorPanel

    rd = write_run(tmp_path / "r", pid=os.getpid())
    app = live_app(rd)
    async with app.run_test(size=size) as pilot:
        panel = app.screen.query_one(AdvisorPanel)
        await _settled(pilot, app, lambda: "precursor" in str(panel._renderable))
        await pilot.pause(0.2)
        r = panel.region  # what the screen shows there, border included
        screen = ["".join(s.text for s in strip) for strip in app.screen._compositor.render_strips()]
        rows = [line[r.x : r.right] for line in screen[r.y : r.bottom]]
        shown = " ".join(" ".join(rows).split())
        # Before, at 80x24: the stage line and "+1 more" took two of four rows and the next action was cut.
        assert "explosion precursor" in shown, rows
        assert "lora_alpha 16 -> 8 [a] write" in shown and "config" in shown, rows
        assert "SOP stage 3" in shown + str(panel.border_title or ""), rows
