"""Pilot tests: the cockpit against run directories the test writes, keys pressed, commands checked."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

from cockpit.history import History
from cockpit.logs import load_history
from cockpit.tui.app import CockpitApp
from cockpit.tui.sources import LiveSource, ReplaySource
from tuihelpers import T0, append, write_run

FIX = Path(__file__).parent / "fixtures" / "real-logs"


def commands(rd) -> list[dict]:
    return [json.loads(x) for x in rd.control.read_text().splitlines() if x.strip()]


def live_app(rd):
    return CockpitApp(LiveSource(rd.path, poll=0.02), run_dir=rd.path, clock=lambda: T0 + 100)


async def settle(pilot, t: float = 0.4):
    await pilot.pause(t)


async def test_live_shows_history_state_and_bands(tmp_path):
    rd = write_run(tmp_path / "r", pid=os.getpid())
    app = live_app(rd)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        scr = app.screen
        assert len(scr.history) == 60 and scr.state == "running"
        assert scr.query_one("#m-grad_norm").current_band == "ok"
        append(rd, kind="metrics", step=61, loss=1.0, grad_norm=60.0, learning_rate=1e-4)
        await settle(pilot)
        assert len(scr.history) == 61
        assert scr.query_one("#m-grad_norm").current_band == "critical"
        assert "-band-critical" in scr.query_one("#m-grad_norm").classes


async def test_the_update_size_has_its_own_chart_and_band_live_and_in_replay(tmp_path):
    rd = write_run(tmp_path / "r", pid=os.getpid())
    app = live_app(rd)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        panel = app.screen.query_one("#m-update_ratio")
        assert panel.current_band == "ok" and len(panel.values) == 60
        assert "0.49%" in str(panel.render())  # the share of the adapter's norm one step moved it
        append(rd, kind="metrics", step=61, loss=1.0, grad_norm=1.0, update_ratio=0.08, learning_rate=1e-4)
        await settle(pilot, 1.5)
        assert panel.current_band == "warn" and "-band-warn" in panel.classes
        append(rd, kind="metrics", step=62, loss=1.0, grad_norm=1.0, update_ratio=0.3, learning_rate=1e-4)
        await settle(pilot, 1.5)
        assert panel.current_band == "danger"
    h, _ = load_history(rd.path)
    app = CockpitApp(ReplaySource(h, "r"), run_dir=None)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        panel = app.screen.query_one("#m-update_ratio")
        assert panel.current_band == "danger" and "30%" in str(panel.render())
        await pilot.press("home")
        await settle(pilot, 0.2)
        assert panel.current_band == "none" and "waiting for data" in str(panel.render())


async def test_pause_toggle_lr_keys_and_pending_then_acked(tmp_path):
    rd = write_run(tmp_path / "r", pid=os.getpid())
    app = live_app(rd)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await pilot.press("p")
        await settle(pilot, 0.2)
        c = commands(rd)
        assert [x["cmd"] for x in c] == ["pause"] and c[0]["source"] == "tui"
        assert c[0]["id"] in app.screen.pending
        append(rd, kind="ack", id=c[0]["id"], cmd="pause", ok=True, step=60, change="paused")
        append(rd, kind="state", state="paused", step=60)
        await settle(pilot)
        assert not app.screen.pending and app.screen.state == "paused"
        assert app.screen.check_action("resume", ()) is True and app.screen.check_action("pause", ()) is False
        await pilot.press("p")
        await pilot.press("left_square_bracket")
        await pilot.press("right_square_bracket")
        await pilot.press("s")
        await pilot.press("g")
        await settle(pilot, 0.2)
        got = [(x["cmd"], x.get("value")) for x in commands(rd)]
        assert got == [
            ("pause", None),
            ("resume", None),
            ("scale_lr", 0.5),
            ("scale_lr", 2.0),
            ("save", None),
            ("sample", None),
        ]


async def test_set_lr_input_validates_before_sending(tmp_path):
    rd = write_run(tmp_path / "r", pid=os.getpid())
    app = live_app(rd)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await pilot.press("l")
        await settle(pilot, 0.2)
        for ch in "-1e-4":
            await pilot.press(ch)
        await pilot.press("enter")
        await settle(pilot, 0.2)
        assert "must be positive" in str(app.screen.query_one("#lr-error").render())
        assert commands(rd) == []
        inp = app.screen.query_one("#lr-input")
        inp.value = ""
        for ch in "3e-4":
            await pilot.press(ch)
        await pilot.press("enter")
        await settle(pilot, 0.2)
        assert [(x["cmd"], x["value"]) for x in commands(rd)] == [("set_lr", 3e-4)]


async def test_stop_asks_first_cancel_sends_nothing(tmp_path):
    rd = write_run(tmp_path / "r", pid=os.getpid())
    app = live_app(rd)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await pilot.press("x")
        await settle(pilot, 0.2)
        await pilot.press("n")
        await settle(pilot, 0.2)
        assert commands(rd) == []
        await pilot.press("x")
        await settle(pilot, 0.2)
        await pilot.press("y")
        await settle(pilot, 0.2)
        assert [x["cmd"] for x in commands(rd)] == ["stop"]


async def test_apply_advice_confirms_then_sends_lr_half(tmp_path):
    rd = write_run(tmp_path / "r", pid=os.getpid(), acks=False, spike_at=55)
    app = live_app(rd)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot, 1.0)
        a = app.screen.advice()
        assert a.next_action.id == "lr_half"
        await pilot.press("a")
        await settle(pilot, 0.2)
        await pilot.press("y")
        await settle(pilot, 0.2)
        assert [(x["cmd"], x["value"]) for x in commands(rd)] == [("scale_lr", 0.5)]


async def test_dead_trainer_shows_crashed(tmp_path):
    rd = write_run(tmp_path / "r", pid=999_999_999)  # no such process, no final state
    (rd.path / "trainer.log").write_text("Traceback ...\nRuntimeError: CUDA out of memory\n")
    app = live_app(rd)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot, 1.5)
        assert app.screen.state == "crashed"
        assert app.screen.check_action("pause", ()) is False  # hidden: the run is over, nothing to steer


async def test_finished_run_greys_control_and_detach_exits(tmp_path):
    rd = write_run(tmp_path / "r", state="finished")
    app = live_app(rd)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        assert app.screen.state == "finished"
        for action in ("pause", "lr_half", "save", "stop", "merge"):
            assert app.screen.check_action(action, ()) is False  # off the footer: the run is over
        await pilot.press("q")
        await settle(pilot, 0.2)
    assert app.detached


async def test_replay_keys_move_the_cursor_and_advisor_follows(tmp_path):
    h, log = load_history(FIX / "21_kiko-lora-gradnorm237.json")
    app = CockpitApp(ReplaySource(h, log.title), run_dir=None)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        src = app.screen.source
        assert src.cursor == len(h)
        for action in ("pause", "lr_half", "stop", "set_lr"):
            assert app.screen.check_action(action, ()) is False  # hidden in a replay
        await pilot.press("home")
        assert src.cursor == 0
        await pilot.press("right")
        await settle(pilot, 0.1)
        assert src.cursor == 1
        assert app.screen.advice().worst == "critical"  # step 10: grad_norm 237 already there
        await pilot.press("shift+right")
        assert src.cursor == 2
        await pilot.press("end")
        assert src.cursor == len(h)
        await pilot.press("left")
        assert src.cursor == len(h) - 1
        speed = src.speed
        await pilot.press("plus")
        assert src.speed > speed
        await pilot.press("minus")
        assert src.speed == speed
        await pilot.press("home")
        await pilot.press("space")
        assert src.playing
        await settle(pilot, 0.6)
        assert src.cursor > 0


async def test_replay_opens_while_a_long_log_is_still_being_read(tmp_path):
    # What `cockpit replay` does with a long log: the cockpit is drawn at once, the history fills in.
    h, log = load_history(FIX / "21_kiko-lora-gradnorm237.json")
    release = threading.Event()

    def read():
        release.wait(10)
        return h, 3

    src = ReplaySource(History(), log.title, loading=read)
    app = CockpitApp(src, run_dir=None)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot, 0.2)
        assert "reading the log" in src.label() and len(src.full) == 0
        assert not app.screen.query_one("#log").lines
        await pilot.press("home", "right", "space")  # keys while reading do nothing harmful
        release.set()
        for _ in range(50):
            await settle(pilot, 0.05)
            if src.loading is None:
                break
        assert src.full is h and src.cursor == len(h) and src.skipped_lines == 3
        assert f"cursor {len(h)}/{len(h)}" in src.label()
        assert app.screen.advice().worst == "critical"
        assert app.screen.query_one("#log").lines, "the history's events are listed once it is in"


async def test_a_replay_whose_log_cannot_be_read_closes_with_the_error(tmp_path):
    def read():
        raise OSError("disk gone")

    src = ReplaySource(History(), "broken", loading=read)
    app = CockpitApp(src, run_dir=None)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot, 0.3)
    assert isinstance(src.load_error, OSError) and app.return_code == 2


async def test_replay_of_our_run_marks_operator_actions(tmp_path):
    rd = write_run(tmp_path / "r", state="stopped")
    h, log = load_history(rd.path)
    app = CockpitApp(ReplaySource(h, log.title), run_dir=None)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        panel = app.screen.query_one("#m-loss")
        assert panel.mark_idx, "the lr change and the checkpoint are marked on the sparklines"
        text = "\n".join(str(line) for line in app.screen.query_one("#log").lines)
        assert "scale_lr acked" in text and "checkpoint-50" in text


async def test_zoom_help_and_theme_cycle(tmp_path):
    rd = write_run(tmp_path / "r", state="finished")
    app = live_app(rd)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await pilot.press("tab")
        await pilot.press("z")
        await settle(pilot, 0.3)
        assert type(app.screen).__name__ == "ZoomModal"
        await pilot.press("escape")
        await pilot.press("question_mark")
        await settle(pilot, 0.2)
        assert type(app.screen).__name__ == "TextModal"
        await pilot.press("escape")
        first = app.theme
        await pilot.press("t")
        assert app.theme != first


def test_replay_source_is_a_history_view():
    h = History()
    for s in range(1, 11):
        h.add({"kind": "metrics", "step": s, "loss": 1.0})
    src = ReplaySource(h, "x")
    src.seek(3)
    assert len(src.view()) == 3 and src.step == 3


async def test_keys_remap_from_the_config(tmp_path):
    rd = write_run(tmp_path / "r", pid=os.getpid())
    app = CockpitApp(LiveSource(rd.path, poll=0.02), run_dir=rd.path, keymap={"save": "w"})
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await pilot.press("w")
        await settle(pilot, 0.2)
        assert [x["cmd"] for x in commands(rd)] == ["save"]


async def test_merge_key_confirms_then_sends_merge(tmp_path):
    rd = write_run(tmp_path / "r", pid=os.getpid())
    app = live_app(rd)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await pilot.press("m")
        await settle(pilot, 0.2)
        body = str(app.screen.query("Static")[0].render()) + str(app.screen.query("Static")[1].render())
        assert "merged" in body and "fp32" in body
        await pilot.press("y")
        await settle(pilot, 0.2)
        assert [x["cmd"] for x in commands(rd)] == ["merge"]


async def test_live_frame_rate_drops_when_only_watched_and_returns_on_a_key(tmp_path):
    from cockpit.tui.pacing import FRAME_ACTIVE, FRAME_IDLE

    rd = write_run(tmp_path / "r", pid=os.getpid())
    app = live_app(rd)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        scr = app.screen
        now = time.monotonic()
        assert scr.frame_interval(now) == FRAME_IDLE  # just opened: watched, until a key is pressed
        assert len(scr.query_one("#m-loss").values) == 60  # the history was drawn at once all the same
        await pilot.press("z")  # any key, bound or not (z opens the zoom)
        await pilot.press("escape")
        assert scr.frame_interval(time.monotonic()) == FRAME_ACTIVE
        # Idle, events still reach the screen within an idle frame.
        scr.pacer.last_key = now - 60
        append(rd, kind="metrics", step=61, loss=1.0, grad_norm=60.0, learning_rate=1e-4)
        await settle(pilot, FRAME_IDLE + 0.4)
        assert scr.query_one("#m-grad_norm").current_band == "critical"


async def test_a_frame_repaints_only_the_lines_that_changed(tmp_path):
    rd = write_run(tmp_path / "r", state="finished")
    app = live_app(rd)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        panel = app.screen.query_one("#m-loss")
        repaints: list[tuple] = []
        real_refresh = panel.refresh
        panel.refresh = lambda *regions, **kw: (repaints.append(regions), real_refresh(*regions, **kw))[1]
        steps, values = list(panel.steps), list(panel.values)
        args = (panel.mark_idx, panel.thresholds, panel.total, panel.label_extra)
        panel.update_data(steps, values, *args)
        assert repaints == []  # the same data: nothing to repaint
        panel.update_data(steps, values[:-1] + [values[-1] * 1.0001], *args)
        assert [[r.y for r in regions] for regions in repaints] == [[0]]  # only the value line
        await settle(pilot, 0.1)
        assert f"{values[-1] * 1.0001:.4g}" in str(panel.render())
        # The last loss is the run's lowest: moved enough, the y axis's bottom label beside it moves too.
        repaints.clear()
        panel.update_data(steps, values[:-1] + [values[-1] * 1.01], *args)
        assert [[r.y for r in regions] for regions in repaints] == [[0, 4]]
        assert str(panel.render()).split("\n")[4].startswith(f"{values[-1] * 1.01:.3g}┤")


async def test_footer_rebuilds_do_not_keep_dead_widgets_alive(tmp_path):
    """Every greyed-out key rebuilds Textual's footer; the dead keys must not pile up (they did: 200 MB
    over a 30-minute soak)."""
    import gc

    from textual.widgets._footer import FooterKey

    rd = write_run(tmp_path / "r", pid=os.getpid())
    app = live_app(rd)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        scr = app.screen

        async def rebuild(n: int) -> int:
            for _ in range(n):
                scr.refresh_bindings()
                await pilot.pause(0.01)
            await pilot.pause(0.3)
            scr._pruned_at = 0.0  # prune on the next tick, as every 5 s in use
            await pilot.pause(0.2)
            gc.collect()
            return sum(1 for o in gc.get_objects() if isinstance(o, FooterKey))

        first = await rebuild(30)
        after = await rebuild(60)
        assert after <= first + 20, (first, after)  # one footer's worth of keys, not 60 more


async def test_a_watched_cockpit_holds_plain_metrics_for_the_frame_but_never_an_alarm(tmp_path):
    """While only watched (1 frame/s) the reader hands metrics over just before the frame that draws
    them (each message costs the UI thread ~1 ms); a guard, a state change or an ack goes over at once."""
    rd = write_run(tmp_path / "r", pid=os.getpid())
    app = live_app(rd)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        scr = app.screen
        n = len(scr.history)
        scr.pacer.last_render = time.monotonic()  # a frame was just drawn: the next is a second away
        append(rd, kind="metrics", step=61, loss=1.0, grad_norm=1.0, learning_rate=1e-4)
        await pilot.pause(0.3)
        assert len(scr.history) == n  # held for the next frame
        append(
            rd, kind="guard", step=61, rule="grad_norm_explosion", severity="critical", message="boom", action="warned"
        )
        await pilot.pause(0.3)
        assert len(scr.history) == n + 1  # the alarm went over at once, the held metrics with it
        assert any(m.kind == "guard" and m.step == 61 for m in scr.history.marks)
        append(rd, kind="metrics", step=62, loss=1.0, grad_norm=1.0, learning_rate=1e-4)
        await pilot.pause(1.2)
        assert len(scr.history) == n + 2  # plain metrics still arrive within a watched frame


async def test_a_backlog_is_drawn_at_once_not_at_the_next_watched_frame(tmp_path):
    """Attaching to (or re-attaching after SSH to) a long run: the reader brings the backlog in large
    batches, and each is drawn as it arrives rather than a watched frame (1 s) later."""
    from cockpit.tui.messages import CATCH_UP

    rd = write_run(tmp_path / "r", pid=os.getpid())
    app = live_app(rd)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        scr = app.screen
        scr.pacer.last_render = time.monotonic()  # a frame was just drawn: the next watched one is a second away
        with open(rd.events, "a") as f:
            for s in range(61, 61 + CATCH_UP + 10):
                f.write(
                    json.dumps(
                        {
                            "v": 1,
                            "t": T0 + 500,
                            "kind": "metrics",
                            "step": s,
                            "loss": 1.0,
                            "grad_norm": 1.0,
                            "learning_rate": 1e-4,
                        }
                    )
                    + "\n"
                )
        await pilot.pause(0.4)
        assert len(scr.query_one("#m-loss").values) == 60 + CATCH_UP + 10


async def test_attach_reads_a_long_runs_history_in_a_child_then_tails_from_where_it_stopped(tmp_path):
    """`cockpit attach` on a long run: a forked child reads the history up to the last whole line while
    the UI starts; the cockpit's reader goes on from that byte, so a line being written at that moment
    is read once, whole, and nothing is read twice."""
    from cockpit.logs.preload import MIN_BYTES, Preload

    rd = write_run(tmp_path / "r", pid=os.getpid())
    step = 60
    with open(rd.events, "a") as f:
        while f.tell() < MIN_BYTES + 1000:
            step += 1
            f.write(
                json.dumps(
                    {
                        "v": 1,
                        "t": T0 + 100,
                        "kind": "metrics",
                        "step": step,
                        "loss": 1.0,
                        "grad_norm": 1.0,
                        "learning_rate": 1e-4,
                    }
                )
                + "\n"
            )
        f.write('{"v": 1, "t": 1790000100.0, "kind": "metrics", "step": ')  # the trainer is mid-line
    pre = Preload(rd.path, live=True)
    assert pre.forked
    app = CockpitApp(LiveSource(rd.path, poll=0.02, preload=pre), run_dir=rd.path, clock=lambda: T0 + 100)
    async with app.run_test(size=(160, 48)) as pilot:
        for _ in range(100):  # the forked child's read arrives when it arrives on a loaded machine
            await settle(pilot, 0.1)
            if len(app.screen.history) >= step:
                break
        await settle(pilot, 0.3)
        h = app.screen.history
        assert len(h) == step and h.steps[-1] == step
        with open(rd.events, "a") as f:
            f.write(f'{step + 1}, "loss": 1.0, "grad_norm": 1.0, "learning_rate": 1e-4}}\n')
        for _ in range(100):  # the reader polls every 20 ms; a loaded machine takes longer to get to it
            await settle(pilot, 0.1)
            if len(app.screen.history) > step:
                break
        h = app.screen.history
        assert len(h) == step + 1 and h.steps[-1] == step + 1
        assert [m.step for m in h.marks if m.kind == "ack"] == [30]  # read once
        assert app.screen._bad_lines == 0
        assert app.screen.source.tail.stats.lines == 1  # the cockpit's own reader read only the new line


async def test_the_command_palette_offers_the_commands_that_apply_now(tmp_path):
    from textual.command import CommandPalette

    rd = write_run(tmp_path / "r", pid=os.getpid())
    app = live_app(rd)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Halve the learning rate" in titles and "Pause at the next step boundary" in titles
        assert "Resume training" not in titles and "Quit" not in titles  # not now; q detaches instead
        await pilot.press("colon")
        await settle(pilot, 0.3)
        assert isinstance(app.screen, CommandPalette)
        for ch in "halve":
            await pilot.press(ch)
        await settle(pilot, 0.5)
        await pilot.press("enter")
        await settle(pilot, 0.3)
        assert [(c["cmd"], c["value"]) for c in commands(rd)] == [("scale_lr", 0.5)]
    h, _ = load_history(rd.path)
    app = CockpitApp(ReplaySource(h, "r"), run_dir=None, keymap={"help": "ctrl+p"})
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Play / pause" in titles and not any("learning rate" in t for t in titles)
        assert app.palette_keys == ["colon"]  # ctrl+p went to the config's help key
        await pilot.press("ctrl+p")
        await settle(pilot, 0.3)
        assert type(app.screen).__name__ == "TextModal"


BAD_THEMES = [
    ("$primary: #5fafff;\n$warning: yelow;\n", ":2: $warning: 'yelow' is not a colour"),
    ("/* a comment\n   over two lines */\n$primary: #fff\n", ":3: not a `$name: value;` line: '$primary: #fff'"),
    ("$primary: #fff;\n$dark: maybe;\n", ":2: $dark: 'maybe' is not true or false"),
    ("$warning: #ffaf00;\n", ": $primary: missing: every theme needs a primary colour"),
    ("$primary: #fff;\n$primary: #000;\n", ":2: $primary: given twice"),
]


def test_a_broken_theme_file_is_refused_naming_file_line_and_field(tmp_path):
    import pytest

    from cockpit.tui.themes import ThemeError, parse_theme

    for i, (text, message) in enumerate(BAD_THEMES):
        f = tmp_path / f"bad{i}.tcss"
        f.write_text(text)
        with pytest.raises(ThemeError) as e:
            parse_theme(f)
        assert str(e.value) == f"{f}{message}" or str(e.value).startswith(f"{f}{message}"), str(e.value)
    ok = tmp_path / "mine.tcss"
    ok.write_text(
        "/* mine */\n$primary: #ff0000;\n$warning: rgb(255, 175, 0);\n$dark: false;\n$footer-key-foreground: red;\n"
    )
    t = parse_theme(ok)
    assert (t.name, t.primary, t.warning, t.dark, t.variables) == (
        "mine",
        "#ff0000",
        "rgb(255, 175, 0)",
        False,
        {"footer-key-foreground": "red"},
    )


async def test_the_cockpit_opens_with_the_good_themes_and_says_which_file_it_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    d = tmp_path / "cfg" / "lora-cockpit" / "themes"
    d.mkdir(parents=True)
    (d / "mine.tcss").write_text("$primary: #ff0000;\n$success: #00ff00;\n")
    (d / "broken.tcss").write_text("$primary: #ff0000;\n$error: not-a-colour;\n")
    rd = write_run(tmp_path / "r", state="finished")
    app = CockpitApp(LiveSource(rd.path, poll=0.02), run_dir=rd.path, theme="mine", clock=lambda: T0 + 100)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert app.theme == "mine" and "broken" not in app.theme_names
        toasts = [n.message for n in app._notifications]
        assert any(f"{d / 'broken.tcss'}:2: $error: 'not-a-colour' is not a colour" in m for m in toasts), toasts


def test_the_repositorys_theme_files_say_what_the_builtin_palettes_say():
    """The package carries the three palettes for installs without the repository; the files in themes/
    are what a user copies and edits. Neither may drift from the other."""
    from pathlib import Path

    from textual.theme import Theme

    from cockpit.tui.themes import BUILTIN, parse_theme

    files = sorted((Path(__file__).resolve().parents[1] / "themes").glob("*.tcss"))
    assert [f.stem for f in files] == sorted(BUILTIN)
    for f in files:
        assert parse_theme(f) == Theme(name=f.stem, **BUILTIN[f.stem]), f.name
