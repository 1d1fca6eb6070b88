"""Issue #38 items 1 and 2 (log scale): any numeric key a run logs can be charted (`k` picks it, with a
name filter), the pick kept per kind of run; `y` puts the focused chart (and its zoom) on a log scale."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_snapshots import settled

from cockpit.chart_choice import choice_path, load_choice, save_choice
from cockpit.history import History
from cockpit.logs import load_history
from cockpit.metrics import CHARTED
from cockpit.thresholds import Thresholds
from cockpit.tui.app import CockpitApp
from cockpit.tui.chart import draw
from cockpit.tui.metric_picker import MetricPicker, name_filter
from cockpit.tui.sources import ReplaySource

REAL = Path(__file__).parent / "fixtures" / "real-logs" / "04_vendor-comp-classifier.json"


def with_custom_key(tmp_path: Path) -> Path:
    """The real trainer_state.json (eval_accuracy, eval_f1 at each eval) with a custom key logged at
    every training step, as a user's `self.log({"my_margin": ...})` writes it."""
    state = json.loads(REAL.read_text())
    for i, entry in enumerate(state["log_history"]):
        if "loss" in entry:
            entry["my_margin"] = 0.5 + i / 100
    path = tmp_path / "trainer_state.json"
    path.write_text(json.dumps(state))
    return path


def replay(path: Path) -> CockpitApp:
    h, _ = load_history(path)
    src = ReplaySource(h, path.name, speed=10)
    src.seek(len(h))
    return CockpitApp(src, run_dir=None, theme="cockpit-dark")


@pytest.mark.parametrize("n", [10, 200], ids=["per-event", "column-block"])
def test_the_history_keeps_a_custom_numeric_key_as_a_column(n):
    events = [{"kind": "metrics", "step": s, "loss": 1.0, "custom/x": float(s)} for s in range(1, n + 1)]
    events[3]["late_key"] = 7  # a key first logged late, once: NaN before and after it
    events[4]["a_word"] = "hello"  # no number: no column
    h = History().extend(events)
    assert list(h.series["custom/x"]) == [float(s) for s in range(1, n + 1)]
    late = h.series["late_key"]
    assert len(late) == n and late[3] == 7 and all(x != x for i, x in enumerate(late) if i != 3)
    assert "a_word" not in h.series and "kind" not in h.series and "step" not in h.series
    h.extend([{"kind": "metrics", "step": n + 1, "loss": 0.9}])  # a step without them: NaN, same length
    assert len(h.series["custom/x"]) == len(h.steps) == n + 1


def test_the_choice_is_kept_per_kind_and_a_bad_file_is_said_and_falls_back(tmp_path):
    path = tmp_path / "charts.json"
    default = ["loss", "grad_norm"]
    assert load_choice("sft", default, path) == (default, None)
    assert save_choice("sft", ["loss", "eval_accuracy"], path) is None
    assert load_choice("sft", default, path) == (["loss", "eval_accuracy"], None)
    assert load_choice("rl", ["reward", "kl"], path) == (["reward", "kl"], None)  # another kind keeps its own
    keys, problem = load_choice("sft", ["loss", "grad_norm", "entropy"], path)  # the grid grew a tile
    assert keys == ["loss", "grad_norm", "entropy"] and problem == f"{path}: 'sft': not a list of 3 metric names"
    path.write_text('{"sft": ["loss",\n  oops]}')
    assert load_choice("sft", default, path) == (default, f"{path}:2: not JSON (Expecting value)")
    path.write_text("[1]")
    assert load_choice("sft", default, path)[1] == f"{path}: not an object of kind -> metric names"
    assert save_choice("sft", None, path) is None and load_choice("sft", default, path) == (default, None)
    (tmp_path / "ro").mkdir()
    (tmp_path / "ro" / "charts.json").mkdir()  # a directory where the file goes: cannot be replaced
    assert "could not keep the chart choice in" in save_choice("sft", default, tmp_path / "ro" / "charts.json")


async def test_a_broken_choice_file_is_said_in_a_toast_and_the_sop_charts_shown(tmp_path):
    choice_path().parent.mkdir(parents=True)
    choice_path().write_text("{oops")
    app = replay(with_custom_key(tmp_path))
    async with app.run_test(size=(160, 48)) as pilot:
        await settled(pilot)
        assert [p.key for p in app.screen.query("MetricPanel") if p.display] == [m.key for m in CHARTED]
        said = [n.message for n in app._notifications]
        assert any(f"{choice_path()}:1: not JSON" in m and "the SOP's charts shown" in m for m in said), said


def test_the_name_filter_is_a_regex_or_else_a_substring():
    assert name_filter("^eval_(acc|f1)")("eval_f1") and not name_filter("^eval_(acc|f1)")("eval_loss")
    assert name_filter("eval_(acc")("eval_(accuracy") and not name_filter("eval_(acc")("eval_accuracy")
    assert name_filter("REWARDS/")("rewards/margins")


def test_a_log_scale_chart_shows_the_small_values_a_linear_one_flattens():
    values = [10.0**-k for k in range(6)] * 5  # 1 .. 1e-5: linear, all but 1 sit on the bottom row
    linear = draw(values, "custom", 30, 4, Thresholds())
    log = draw(values, "custom", 30, 4, Thresholds(), log=True)

    def heights(rows):
        cols = ["".join(ch for _b, ch in r) for r in rows]
        return [sum(1 for row in cols if row[i] != " ") for i in range(len(cols[0]))]

    assert sorted(set(heights(linear))) == [1, 4]
    assert len(set(heights(log))) == 4  # every decade gets its own height (6 decades on 4 rows)
    assert draw([0.0, -1.0], "custom", 10, 3, Thresholds(), log=True) == "no value above 0: none on a log scale"


async def test_replay_charts_eval_accuracy_and_a_custom_key_after_picking_them(tmp_path):
    app = replay(with_custom_key(tmp_path))
    async with app.run_test(size=(160, 48)) as pilot:
        await settled(pilot)
        scr = app.screen
        assert [p.key for p in scr.query("MetricPanel") if p.display] == [m.key for m in CHARTED]
        scr.query_one("#m-entropy").focus()  # a trainer_state.json logs no entropy: give its tile away
        await pilot.press("k")
        await pilot.pause()
        assert isinstance(app.screen, MetricPicker)
        names = app.screen.names
        assert {"my_margin", "eval_accuracy", "eval_f1", "loss"} <= set(names) and "t" not in names
        await pilot.press(*"eval_acc", "enter")
        await settled(pilot)
        await pilot.pause()
        scr.query_one("#m-tokens_per_s").focus()
        await pilot.press("k", *"^my_", "enter")
        await settled(pilot)
        await pilot.pause()
        shown = [p for p in scr.query("MetricPanel") if p.display]
        keys = [p.key for p in shown]
        assert keys == ["loss", "grad_norm", "update_ratio", "eval_accuracy", "mem_used", "learning_rate", "my_margin"]
        for p in shown[3], shown[6]:
            text = str(p.render())
            assert text.startswith(p.key) and any(ch in text for ch in "▁▂▃▄▅▆▇█"), text
        assert scr.focused.key == "my_margin"
        kept = json.loads(choice_path().read_text())
        assert kept["sft"] == keys

        await pilot.press("y")
        await pilot.pause()
        assert scr.focused.log_scale and str(scr.focused.render()).startswith("my_margin log")
        await pilot.press("z")
        await pilot.pause()
        assert app.screen.log_scale  # the zoom opens on the tile's scale; `y` there flips it
        await pilot.press("y")
        await pilot.pause()
        assert not app.screen.log_scale
        await pilot.press("escape", "y")
        await pilot.pause()
        assert not scr.focused.log_scale

    again = replay(with_custom_key(tmp_path))  # the next session of this kind opens on the pick
    async with again.run_test(size=(160, 48)) as pilot:
        await settled(pilot)
        assert [p.key for p in again.screen.query("MetricPanel") if p.display] == keys
        await pilot.press("k", "up", "enter")  # up from the first row: the last, back to the SOP's set
        await settled(pilot)
        await pilot.pause()
        assert [p.key for p in again.screen.query("MetricPanel") if p.display] == [m.key for m in CHARTED]
        assert "sft" not in json.loads(choice_path().read_text())


def test_the_picker_at_80x24(snap_compare, tmp_path):
    async def open_picker(pilot):
        await settled(pilot)
        await pilot.press("k", *"eval")
        await pilot.pause()

    assert snap_compare(replay(with_custom_key(tmp_path)), terminal_size=(80, 24), run_before=open_picker)


async def test_a_kept_pick_this_run_does_not_log_says_so_in_its_tile(tmp_path):
    keys = [m.key for m in CHARTED]
    keys[3] = "eval_bleu"  # picked on another run of the kind
    assert save_choice("sft", keys) is None
    app = replay(with_custom_key(tmp_path))
    async with app.run_test(size=(160, 48)) as pilot:
        await settled(pilot)
        panel = next(p for p in app.screen.query("MetricPanel") if p.key == "eval_bleu")
        assert panel.display and "not logged yet" in str(panel.render())


async def test_the_palette_offers_the_picker_and_the_log_scale(tmp_path):
    from cockpit.tui.palette import cockpit_commands

    app = replay(with_custom_key(tmp_path))
    async with app.run_test(size=(160, 48)) as pilot:
        await settled(pilot)
        titles = {c.title for c in cockpit_commands(app.screen)}
        assert {"Chart any logged metric", "Log scale on the focused chart"} <= titles


def test_picked_charts_and_a_log_scale_at_160x48(snap_compare, tmp_path):
    """eval_accuracy in entropy's tile, the custom key in tokens/s's, on a log scale."""
    keys = [m.key for m in CHARTED]
    keys[3], keys[6] = "eval_accuracy", "my_margin"
    assert save_choice("sft", keys) is None

    async def log_scale(pilot):
        await settled(pilot)
        next(p for p in pilot.app.screen.query("MetricPanel") if p.key == "my_margin").focus()
        await pilot.press("y")
        await pilot.pause()

    assert snap_compare(replay(with_custom_key(tmp_path)), terminal_size=(160, 48), run_before=log_scale)


async def test_the_live_cockpit_charts_a_custom_key_picked_as_it_comes(tmp_path):
    """A user's script logging its own key (`cockpit run -- python train.py` writes every logged key into
    its metrics events): picked live, its tile grows with the run."""
    from cockpit.rundir import RunDir
    from cockpit.tui.sources import LiveSource
    from tuihelpers import T0, append

    rd = RunDir(tmp_path / "run").create()
    rd.events.write_text("")
    append(rd, kind="state", state="running", step=0)
    append(rd, kind="run_started", config={}, total_steps=100, world_size=1)
    for s in range(1, 11):
        append(rd, kind="metrics", step=s, loss=1.0 / s, grad_norm=0.5, **{"custom/score": 0.1 * s})
    app = CockpitApp(LiveSource(rd.path, poll=0.02), run_dir=rd.path, clock=lambda: T0 + 600)
    async with app.run_test(size=(160, 48)) as pilot:
        for _ in range(40):
            await pilot.pause(0.1)
            if len(app.screen.history) == 10:
                break
        scr = app.screen
        scr.query_one("#m-entropy").focus()
        await pilot.press("k", *"custom", "enter")
        await pilot.pause(0.2)
        for s in range(11, 21):
            append(rd, kind="metrics", step=s, loss=1.0 / s, grad_norm=0.5, **{"custom/score": 0.1 * s})
        panel = next(p for p in scr.query("MetricPanel") if p.key == "custom/score")
        for _ in range(40):
            await pilot.pause(0.1)
            if len(panel.values) == 20:
                break
        assert panel.display and list(panel.values) == pytest.approx([0.1 * s for s in range(1, 21)])
