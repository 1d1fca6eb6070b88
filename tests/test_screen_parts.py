"""The cockpit screen's parts apart from Textual: frame pacing, the advice throttle, the one wording of
events (the event log, `--headless` and the history's marks) and the typed sources."""

from __future__ import annotations

import inspect
import io

import pytest

from cockpit.event_text import describe_event, event_line
from cockpit.headless import follow
from cockpit.history import History
from cockpit.logs import load_history
from cockpit.rundir import dumps
from cockpit.tui.advice_throttle import AdviceThrottle
from cockpit.tui.pacing import ACTIVE_FOR, FRAME_ACTIVE, FRAME_IDLE, TICK, FramePacer
from cockpit.tui.source_protocol import LiveFeed, Recording
from cockpit.tui.sources import LiveSource, ReplaySource
from tuihelpers import T0, write_run

# ---- frame pacing ------------------------------------------------------------------------------------


def test_an_opened_cockpit_is_watched_until_a_key_is_pressed():
    p = FramePacer(now=100.0)
    assert p.interval(100.0) == FRAME_IDLE
    p.key_pressed(101.0)
    assert p.interval(101.0) == FRAME_ACTIVE
    assert p.interval(101.0 + ACTIVE_FOR + 0.1) == FRAME_IDLE  # the operator left the keys


def test_the_first_data_is_drawn_at_once_then_frames_wait_for_the_interval():
    p = FramePacer(now=100.0)
    assert p.frame_due(100.0, has_data=False)  # the empty screen's first frame (dirty at start)
    p.dirty = True
    assert p.frame_due(100.05, has_data=True)  # the history arrived: drawn now, not a second later
    p.dirty = True
    assert not p.frame_due(100.5, has_data=True)  # watched: one frame a second
    assert p.frame_due(101.06, has_data=True)
    assert not p.frame_due(103.0, has_data=True)  # nothing changed: no frame however long it has been


def test_an_urgent_change_is_drawn_at_the_next_tick():
    p = FramePacer(now=100.0)
    p.frame_due(100.0, has_data=True)
    p.dirty = p.urgent = True
    assert p.frame_due(100.05, has_data=True) and not p.urgent


def test_a_fixed_interval_ignores_the_keys():
    p = FramePacer(now=100.0, fixed=TICK)
    assert p.interval(100.0) == TICK
    p.key_pressed(100.0)
    assert p.interval(100.0) == TICK


def test_the_reader_holds_events_for_the_frame_that_draws_them():
    p = FramePacer(now=100.0)
    assert p.hand_over_now(100.0, poll=0.05)  # nothing drawn yet: hand everything over
    p.frame_due(100.0, has_data=True)
    assert not p.hand_over_now(100.3, poll=0.05)  # the next watched frame is 0.7 s away
    assert p.hand_over_now(100.91, poll=0.05)  # due within two polls
    p.key_pressed(100.3)
    assert p.hand_over_now(100.31, poll=0.05)  # at the keys: every poll


# ---- the advice throttle -----------------------------------------------------------------------------


def test_advice_is_recomputed_on_change_but_not_more_often_than_asked(tmp_path):
    h, _ = load_history(write_run(tmp_path / "r").path)
    now = [10.0]
    t = AdviceThrottle(0.5, clock=lambda: now[0])
    first = t.advice(h)
    assert first is not None and not t.deferred
    h.extend([{"kind": "metrics", "step": 61, "loss": 1.0, "grad_norm": 1.0}])
    now[0] += 0.1
    assert t.advice(h) is first and t.deferred  # changed, but asked again too soon: the old answer
    now[0] += 0.5
    assert t.advice(h) is not first and not t.deferred
    assert t.last is t.advice(h)


# ---- one wording for events --------------------------------------------------------------------------

EVENTS = [
    {"kind": "run_started", "device": "cpu", "trainable_params": 16384, "total_steps": 100, "pid": 7},
    {"kind": "ack", "id": "a1", "cmd": "scale_lr", "ok": True, "step": 30, "change": "lr 2e-4 -> 1e-4"},
    {"kind": "ack", "id": "a2", "cmd": "set_lr", "ok": False, "step": 31, "reason": "lr must be positive"},
    {"kind": "checkpoint", "step": 50, "path": "/runs/x/checkpoints/checkpoint-50"},
    {"kind": "guard", "step": 52, "rule": "grad_norm_explosion", "message": "grad_norm 80 > 50", "action": "stopped"},
    {"kind": "error", "step": 53, "message": "CUDA out of memory", "traceback": "Traceback ..."},
    {"kind": "merge", "step": 53, "status": "done", "message": "verified", "out": "/runs/x/merged"},
    {"kind": "eval", "step": 53, "eval_loss": 1.25},
    {"kind": "state", "step": 54, "state": "stopped", "reason": "guard"},
]


def test_headless_and_the_history_word_events_as_the_cockpit_log(tmp_path):
    from cockpit.rundir import RunDir

    rd = RunDir(tmp_path / "run").create()
    rd.events.write_text("".join(dumps({"v": 1, "t": T0, **ev}) + "\n" for ev in EVENTS))
    out = io.StringIO()
    assert follow(rd, out=out, poll=0.01) == 1  # stopped
    printed = out.getvalue()
    marks = {id(m.event): m.label for m in History().extend(EVENTS).marks}
    for ev in EVENTS:
        said = describe_event(ev)
        assert said is not None, ev
        assert event_line(ev) in printed  # --headless prints the cockpit's line
        if ev["kind"] not in ("run_started", "eval"):
            assert said.text in marks.values()  # the history's mark says the same
    assert "[    30] ✓ scale_lr acked: lr 2e-4 -> 1e-4" in printed
    assert "[    54] ● state stopped (guard)" in printed
    assert "pid 7" in printed and "eval: loss 1.25" in printed
    assert "e: traceback" not in printed  # a key hint only the cockpit can honour


def test_metrics_and_unknown_kinds_make_no_line():
    assert describe_event({"kind": "metrics", "step": 1, "loss": 1.0}) is None
    assert describe_event({"kind": "something_new"}) is None
    assert describe_event({"kind": "notify", "ok": True}) is None  # only a failed alert is news


# ---- typed sources -----------------------------------------------------------------------------------


def _members_match(obj, proto) -> list[str]:
    """Protocol methods whose parameters the implementation names differently (a keyword call breaks)."""
    bad = []
    for name, fn in vars(proto).items():
        if callable(fn) and not name.startswith("_"):
            want = list(inspect.signature(fn).parameters)[1:]
            have = list(inspect.signature(getattr(obj, name)).parameters)
            if want != have:
                bad.append(f"{name}: {have} != {want}")
    return bad


def test_the_sources_satisfy_their_protocols(tmp_path):
    rd = write_run(tmp_path / "r")
    live = LiveSource(rd.path)
    rec = ReplaySource(History(), "t")
    assert isinstance(live, LiveFeed) and not live.replay and _members_match(live, LiveFeed) == []
    assert isinstance(rec, Recording) and rec.replay and _members_match(rec, Recording) == []


def test_a_source_missing_a_member_is_not_a_recording():
    class Half:
        replay = True
        title = "x"

        def view(self):
            return History()

    assert not isinstance(Half(), Recording)


@pytest.mark.parametrize("kind", ["state", "ack"])
def test_describe_event_survives_odd_fields(kind):
    assert describe_event({"kind": kind, "step": True, "state": None, "ok": "yes"}) is not None


def test_the_update_size_band_follows_the_thresholds():
    from cockpit.bands import band
    from cockpit.thresholds import Thresholds

    th = Thresholds()
    assert [band("update_ratio", v, th) for v in (0.001, 0.05, 0.051, 0.2, 0.21)] == [
        "ok",
        "ok",
        "warn",
        "warn",
        "danger",
    ]
    assert band("update_ratio", 0.03, Thresholds(update_ratio_warn=0.02, update_ratio_danger=0.1)) == "warn"


# ---- the charts --------------------------------------------------------------------------------------


def test_the_charts_grow_with_the_terminal():
    from cockpit.tui.layout import chart_layout

    assert chart_layout(80, 24).chart_rows == 1 and chart_layout(80, 24).metrics_height == 12
    assert [chart_layout(*s).chart_rows for s in ((120, 40), (160, 48), (200, 60))] == [3, 4, 6]
    assert chart_layout(100, 50).compact and chart_layout(100, 50).chart_rows > 1  # narrow but tall


def _text(rows) -> list[str]:
    return ["".join(chars for _, chars in runs) for runs in rows]


def test_a_threshold_is_drawn_across_the_chart_once_the_data_come_near_it():
    from cockpit.thresholds import Thresholds
    from cockpit.tui.chart import LINE, draw

    th = Thresholds()
    quiet = draw([1.0, 1.2, 0.9, 1.1], "grad_norm", 10, 4, th)
    assert not any(LINE in row for row in _text(quiet))  # 1.2 is far from 5: full resolution for the data
    near = draw([1.0, 1.2, 3.0, 12.0], "grad_norm", 10, 4, th)
    lines = [(row, [b for b, chars in runs if LINE in chars]) for row, runs in zip(_text(near), near)]
    assert [bands for row, bands in lines if LINE in row] == [["danger"], ["warn"]]  # 10 above 5, top down
    assert [b for b, chars in near[-1] if "▁" in chars or "█" in chars][-1] == "danger"  # the 12 bar is red
    assert draw([1.0, 12.0], "grad_norm", 10, 1, th) == [[("ok", "▁"), ("danger", "█")]]  # one row: colour only


def test_a_field_a_step_did_not_log_is_a_gap_and_a_nan_loss_an_alarm():
    from cockpit.thresholds import Thresholds
    from cockpit.tui.chart import draw

    th, nan = Thresholds(), float("nan")
    assert draw([0.01, nan, 0.01], "update_ratio", 10, 1, th)[0][1] == ("none", " ")
    assert draw([nan, nan], "entropy", 10, 2, th) == "not logged"
    assert draw([1.0, nan], "loss", 10, 2, th)[-1][-1] == ("critical", "!")
    assert draw([], "loss", 10, 2, th) == "waiting for data…"


def test_a_raised_top_does_not_pull_in_the_next_threshold():
    from cockpit.thresholds import Thresholds
    from cockpit.tui.chart import LINE, draw

    rows = _text(draw([2.0, 3.0, 4.0], "grad_norm", 10, 4, Thresholds()))  # near 5 (warn), far from 10
    assert sum(LINE in row for row in rows) == 1 and LINE in rows[0]


def test_the_event_log_shows_the_runs_paths_relative_and_home_as_tilde(tmp_path, monkeypatch):
    """A merge's four lines named the run's checkpoint and merged folder by absolute path: 14 rows of the
    log at 160 columns, enough to push an earlier ack out of sight."""
    from cockpit.tui.widgets.event_log import short_paths

    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    rd = tmp_path / "runs" / "demo-1"
    text = f"{rd}/checkpoints/checkpoint-20 into {tmp_path}/home/.cache/m as fp32 on cpu → {rd}/merged"
    assert short_paths(text, rd) == "checkpoints/checkpoint-20 into ~/.cache/m as fp32 on cpu → merged"
    assert short_paths(text, None) == text.replace(f"{tmp_path}/home/", "~/")
