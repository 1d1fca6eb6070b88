"""Issue #38 items 2 and 6: the cockpit's metric tiles have axes where the terminal has the room (the y
range beside the chart, the first and last step under it; in the head line where the chart is one row)
and an EMA drawn bright over the faint raw bars (`S`, on by default as in the compare view)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from test_snapshots import settled

from cockpit.logs import load_history
from cockpit.report.charts import ema, smooth_span
from cockpit.thresholds import Thresholds
from cockpit.tui.app import CockpitApp
from cockpit.tui.chart import BARS, EMA_MARKS, FAINT, draw, draw_scaled
from cockpit.tui.sources import ReplaySource
from cockpit.tui.tile_axes import step_axis, y_gutter
from cockpit.tui.tile_ema import TileEma, column_ends, tile_ema
from cockpit.tui.widgets.metric import axis_label, fmt_value

REAL = Path(__file__).parent / "fixtures" / "real-logs" / "04_vendor-comp-classifier.json"


def real_replay(cursor: int | None = None) -> CockpitApp:
    """A real public trainer_state.json (its grad_norm explodes), at its end or a cursor."""
    h, log = load_history(REAL)
    src = ReplaySource(h, log.title, speed=10)
    src.seek(len(h) if cursor is None else cursor)
    return CockpitApp(src, run_dir=None, theme="cockpit-dark")


def test_the_y_axis_needs_two_rows_and_room_beside_the_chart():
    assert y_gutter("2.41", "0.5", 4, 40) == ["2.41┤", "    │", "    │", " 0.5┤"]
    assert y_gutter("0.59G", "0.59G", 2, 40) == ["     │", "0.59G┤"]  # a flat line: its value once
    assert y_gutter("2.41", "0.5", 1, 40) is None  # one row: the head says the range instead
    assert y_gutter("2.00e-04", "1.00e-04", 3, 24) is None  # 15 columns left for the chart: too few


def test_a_step_label_never_covers_a_mark():
    assert "".join(step_axis([" "] * 20, 17, 1200)) == "17" + " " * 13 + "1,200"
    newest = [" "] * 19 + ["▲"]  # the operator acted at the newest step: the label moves inward
    row = "".join(step_axis(newest, 17, 1200))
    assert row.endswith("1,200 ▲") and row.startswith("17")
    assert "".join(step_axis(["▲"] * 6, 17, 1200)) == "▲" * 6  # no room: the marks, no labels
    assert "".join(step_axis([" "] * 3, 5, 5)) == "5  "  # one step: one label
    # checkpoints at 100, 200 and 300 of a narrow chart: 300 fits nowhere right of the 200 mark, and left
    # of it, it would read as the step of that mark (seen at 120x40: "1    ▲ 300 ▲    ▲")
    marks = list("     ▲    ▲    ▲")
    row = "".join(step_axis(marks, 1, 300))
    assert row == "1    ▲    ▲    ▲", row
    assert "".join(step_axis(list("      ▲      ▲"), 1, 300)) == "1     ▲  300 ▲"
    assert "".join(step_axis(list("▲     ▲    "), 1, 300)) == "▲ 1   ▲ 300"  # past the mark it would cover


def test_the_tile_ema_is_the_reports_at_each_columns_last_point():
    rng = np.random.default_rng(1)
    v = (2.0 + rng.normal(0, 0.3, 1000)).tolist()
    v[10] = math.nan  # a step that did not log it: carried over, as the report does
    got = tile_ema(v, 37)
    want = np.asarray(ema(v, smooth_span(999)))[column_ends(1000, 37)]
    assert len(got) == 37 and np.allclose(got, want)
    flat = tile_ema([2e-4] * 60 + [1e-4] * 60, 120)  # a constant lr, halved: its EMA never above or below
    assert max(flat) == 2e-4 and min(flat) >= 1e-4
    steady = [0.59] * 60  # a steady memory: a flat line of bars, not a wall with its EMA on top
    drawn = draw_scaled(steady, "entropy", 60, 3, Thresholds(), smooth=tile_ema(steady, 60))
    assert ["".join(text for _, text in row).strip() for row in drawn.rows] == ["", "", "▁" * 60]
    assert tile_ema(v[:39], 37) is None  # under 40 points every point is worth seeing: no smoothing


def test_the_kept_ema_adds_new_points_as_the_whole_run_would():
    rng = np.random.default_rng(3)
    v = (1.0 + rng.normal(0, 0.3, 3000)).tolist()
    v[2100] = math.nan
    kept = TileEma()
    for n in (900, 1200, 1210, 2500, 3000, 1500, 1600):  # a live run growing, then a replay moved back
        assert np.allclose(kept.columns(v[:n], 29), tile_ema(v[:n], 29), rtol=1e-12, atol=0), n
        assert kept.last(v[:n]) == pytest.approx(ema(v[:n], smooth_span(n))[-1], rel=1e-12)
    other = [x + 1 for x in v[:1600]]  # another series in the same tile (a metric picked with k)
    assert np.allclose(kept.columns(other, 29), tile_ema(other, 29), rtol=1e-12, atol=0)


def test_the_ema_is_one_bright_cell_per_column_over_faint_raw_bars():
    rng = np.random.default_rng(2)
    v = (3.0 * np.exp(-np.arange(600) / 200) + 0.5 + rng.normal(0, 0.2, 600)).tolist()
    v[300:320] = [math.nan] * 20  # NaN losses, a whole column: the alarm stays an alarm, smoothed or not
    width, rows = 30, 4
    drawn = draw_scaled(v, "loss", width, rows, Thresholds(), smooth=tile_ema(v, width))
    assert drawn.rows and drawn.bottom < drawn.top
    cells = [[(b, ch) for b, text in row for ch in text] for row in drawn.rows]
    alarm = next(c for c in range(width) if cells[-1][c][1] == "!")
    assert cells[-1][alarm][0] == "critical"  # bright, never faint
    for c in range(width):
        if c == alarm:
            continue
        bright = [r for r in range(rows) if not cells[r][c][0].endswith(FAINT) and cells[r][c][1] != " "]
        assert len(bright) == 1, (c, [cells[r][c] for r in range(rows)])
        assert cells[bright[0]][c][1] in BARS + EMA_MARKS
    # Without the EMA the chart is as before: no faint cell.
    plain = draw(v, "loss", width, rows, Thresholds())
    assert not any(b.endswith(FAINT) for row in plain for b, _ in row)


async def test_the_tiles_show_their_axes_at_160x48_and_s_turns_the_ema_off():
    app = real_replay()
    async with app.run_test(size=(160, 48)) as pilot:
        await settled(pilot)
        scr = app.screen
        h = scr.history
        for key in ("loss", "grad_norm", "learning_rate"):
            panel = scr.query_one(f"#m-{key}")
            lines = str(panel.render()).split("\n")
            _, bottom, top = panel._axis
            label = max(len(axis_label(key, top)), len(axis_label(key, bottom)))
            assert lines[1].startswith(axis_label(key, top).rjust(label) + "┤"), (key, lines)
            assert lines[-2].startswith(axis_label(key, bottom).rjust(label) + "┤"), (key, lines)
            assert lines[-1].split()[0] == f"{int(h.steps[0]):,}", (key, lines)  # the first step, an integer
            assert lines[-1].split()[-1] in (f"{int(h.steps[-1]):,}", "▲"), (key, lines)
            assert f"{int(h.steps[-1]):,}" in lines[-1], (key, lines)
            assert fmt_value(key, float(h.series[key][-1])) in lines[0]  # the current value kept
        assert "ema" in str(scr.query_one("#m-loss").render()).split("\n")[0]  # on, as in the compare view
        gn = scr.query_one("#m-grad_norm")
        assert "▲ warn" in str(gn.render()).split("\n")[0]  # the band kept beside the axes
        rows = gn._content()[1:-1]
        assert not any(row.style for row in rows)  # no row dimmed as a whole: the EMA's cells stay bright
        assert any(not span.style.dim for row in rows for span in row.spans)
        bands = {b for row in gn._draw(30, 4).rows for b, _ in row}
        assert f"ok{FAINT}" in bands and f"critical{FAINT}" in bands  # raw bars faint, in their band's colour
        await pilot.press("S")
        await pilot.pause(0.3)
        assert not gn.smoothed and "ema" not in str(gn.render()).split("\n")[0]
        assert not any(b.endswith(FAINT) for row in gn._draw(30, 4).rows for b, _ in row)
        await pilot.press("S")
        await pilot.pause(0.3)
        assert all(p.smoothed for p in scr.query("MetricPanel"))
        from cockpit.tui.palette import cockpit_commands

        assert "Smoothed (EMA) over faint raw values, or raw" in {c.title for c in cockpit_commands(scr)}


async def test_at_80x24_a_one_row_chart_says_its_axes_in_its_head():
    app = real_replay()
    async with app.run_test(size=(80, 24)) as pilot:
        await settled(pilot)
        h = app.screen.history
        loss = app.screen.query_one("#m-loss")
        head, chart = str(loss.render()).split("\n")
        _, bottom, top = loss._axis
        assert f"y {axis_label('loss', bottom)}–{axis_label('loss', top)}" in head, head
        assert f"steps {int(h.steps[0]):,}–{int(h.steps[-1]):,}" in head, head
        assert fmt_value("loss", float(h.series["loss"][-1])) in head  # the current value first
        assert set(chart) <= set(BARS + " !")  # one row: raw bars, no gutter, no EMA cell
        small = str(app.screen.query_one("#m-grad_norm").render()).split("\n")[0]
        assert small.endswith("↑ ▲"), small  # a small tile keeps its band symbol, the value before it


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_tiles_with_axes_and_ema(snap_compare, size):
    assert snap_compare(real_replay(), terminal_size=size, run_before=settled)
