"""Issue 23, the first hour with the cockpit: dialogs, help, the event log, key feedback, advice that does not
contradict itself, and a spawned trainer that is reaped. (The walk in a real terminal: test_usability_walk.py.)"""

from __future__ import annotations

import math
import os
import re
import subprocess
import time
from pathlib import Path

from cockpit.advisor import advise
from cockpit.advisor.types import Action
from cockpit.config import RunConfig
from cockpit.history import History
from cockpit.logs import load_history
from cockpit.tui.app import CockpitApp
from cockpit.tui.help import human_key, rows
from cockpit.tui.modals import ConfirmModal, LrModal, TextModal
from cockpit.tui.reap import reap
from cockpit.tui.sources import LiveSource, ReplaySource
from tuihelpers import T0, append, write_run

README = Path(__file__).parent.parent / "README.md"


def live_app(rd, **kw):
    return CockpitApp(LiveSource(rd.path, poll=0.02), run_dir=rd.path, clock=lambda: T0 + 100, **kw)


def replay_app(rd):
    h, _ = load_history(rd.path)
    return CockpitApp(ReplaySource(h, "r"), run_dir=None)


def toasts(app) -> list[str]:
    return [str(n.message) for n in app._notifications]


# ---- dialogs -----------------------------------------------------------------------------------------


async def test_dialogs_are_centred_and_inside_an_80x24_screen(tmp_path):
    from textual.app import App

    for size in ((80, 24), (160, 48)):
        app = App()
        async with app.run_test(size=size) as pilot:
            for modal in (
                ConfirmModal("Stop the run?", "The trainer saves a checkpoint. " * 8, danger=True),
                LrModal(1e-4),
                TextModal("Keys", "a line\n" * 60),
            ):
                app.push_screen(modal)
                await pilot.pause()
                r = app.screen.query_one("#dialog").region
                assert r.x >= 0 and r.y >= 0 and r.right <= size[0] and r.bottom <= size[1], (modal, r)
                assert abs(r.x - (size[0] - r.right)) <= 1 and abs(r.y - (size[1] - r.bottom)) <= 1, (modal, r)
                inner = app.screen.query_one("#dialog").content_region
                for w in app.screen.query("#dialog > Static"):  # the text wraps inside: never clipped
                    assert w.region.right <= inner.right, (modal, w.region, inner)
                app.pop_screen()
            app.push_screen(ConfirmModal("Save?", "short"))  # sized to its content, not a fixed 72 columns
            await pilot.pause()
            assert app.screen.query_one("#dialog").region.width < 60


# ---- help ----------------------------------------------------------------------------------------------


def test_human_key_names():
    assert human_key("shift+right") == "Shift+→"
    assert human_key("left_square_bracket") == "["
    assert human_key("plus") == "+" and human_key("equals_sign") == "="
    assert human_key("question_mark") == "?" and human_key("ctrl+p") == "Ctrl+p"


async def test_help_shows_what_applies_now_each_key_once_with_the_remapped_key(tmp_path):
    rd = write_run(tmp_path / "r", pid=os.getpid())
    app = live_app(rd, keymap={"save": "w"})
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause(0.4)
        live = rows(app.screen)
    groups = {g for g, *_ in live}
    assert groups == {"Control the run", "Views"}  # no replay keys listed as "n/a" in a live run
    keys = [k for _, k, _, _ in live]
    assert len(keys) == len(set(keys)) and not any("_" in k or "," in k for k in keys)
    by_what = {w: k for _, k, w, _ in live}
    assert by_what["save a checkpoint now"] == "w"  # remapped in the config: shown as remapped
    assert by_what["pause / resume at the next step boundary"] == "p"
    assert [k for k in keys if k == "q"] == ["q"]

    app = replay_app(rd)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause(0.4)
        replay = rows(app.screen)
    assert {g for g, *_ in replay} == {"Replay transport", "Views"}
    keys = {k for _, k, _, _ in replay}
    assert {"Space", "←", "→", "Shift+←", "Shift+→", "+ / =", "-", "Home", "End"} <= keys


async def test_readme_key_table_matches_the_help_screen(tmp_path):
    rd = write_run(tmp_path / "r", pid=os.getpid())
    seen = []
    for app in (live_app(rd), replay_app(rd)):
        async with app.run_test(size=(160, 48)) as pilot:
            await pilot.pause(0.4)
            seen += [(k, w) for _, k, w, _ in rows(app.screen)]
    text = README.read_text()
    keys = text[text.index("## Keys") : text.index("### The compare view")]  # its keys: test_compare_view.py
    table = re.findall(r"^\| `([^`]+)` \| (.+?) \|$", keys, re.M)
    assert sorted(set(table)) == sorted(set(seen))


# ---- the event log ---------------------------------------------------------------------------------------


def log_lines(app) -> list[str]:
    return [strip.text for strip in app.screen.query_one("#log").lines]


async def test_samples_are_one_log_line_per_step_and_f_filters_by_kind(tmp_path):
    rd = write_run(tmp_path / "r", pid=os.getpid())
    for p in ("second prompt", "third prompt"):
        append(rd, kind="sample", step=60, prompt=p, completion="x")
    append(rd, kind="guard", step=60, rule="grad_norm_explosion", message="grad_norm 80", action="stop")
    app = live_app(rd)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause(0.6)
        lines = log_lines(app)
        assert sum("✎ samples" in ln for ln in lines) == 1  # three samples at step 60: one line
        assert any("acked" in ln for ln in lines) and any("guard" in ln for ln in lines)
        await pilot.press("f")  # no samples
        await pilot.pause(0.1)
        lines = log_lines(app)
        assert not any("✎" in ln for ln in lines) and any("acked" in ln for ln in lines)
        assert "no samples" in app.screen.query_one("#log").border_title
        await pilot.press("f", "f")  # commands, then guards & errors
        await pilot.pause(0.1)
        lines = log_lines(app)
        assert any("guard" in ln for ln in lines) and not any("acked" in ln for ln in lines)


# ---- feedback ---------------------------------------------------------------------------------------------


async def test_a_key_that_cannot_act_says_why(tmp_path):
    rd = write_run(tmp_path / "r", pid=os.getpid())
    app = replay_app(rd)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.3)
        await pilot.press("s")
        await pilot.pause(0.1)
        assert any("a replay takes no commands" in t for t in toasts(app))
        await pilot.press("e")
        await pilot.pause(0.1)
        assert toasts(app) == ["no error in this run"]  # one toast at a time: the latest
        await pilot.press("end", "right")
        await pilot.pause(0.1)
        assert toasts(app) == ["at the end"]
    done = write_run(tmp_path / "f", state="finished")
    app = live_app(done)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.4)
        await pilot.press("p")
        await pilot.pause(0.1)
        assert any("the run is over (finished)" in t for t in toasts(app))


async def test_apply_on_a_new_run_advice_names_the_command(tmp_path):
    rd = write_run(tmp_path / "r", pid=os.getpid())
    app = live_app(rd)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause(0.4)
        scr = app.screen
        act = Action("sweep", "sweep lr", "Sweep the lr (`cockpit sweep`).")
        scr.advice = lambda: type("A", (), {"next_action": act, "stage_needs": []})()
        await pilot.press("a")
        await pilot.pause(0.1)
        assert type(app.screen).__name__ == "LiveScreen"  # nothing to confirm: it is not sent anywhere
        assert any(f"cockpit sweep {rd.path / 'config.yaml'}" in t and "a new run" in t for t in toasts(app))


def panel_text(app) -> str:
    return str(app.screen.query_one("#advisor").render())


async def test_advisor_panel_says_when_the_advice_is_a_new_run_and_how(tmp_path):
    rd = write_run(tmp_path / "r", pid=os.getpid())  # a grad_norm spike: next is a lower lora_alpha
    app = live_app(rd)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause(0.5)
        text = panel_text(app)
    assert "next (a new run): lora_alpha" in text
    assert "writes next-config.yaml in the run dir (--set lora.lora_alpha=8)" in text


# ---- the advisor: no contradiction, no final run from inside a run ----------------------------------------


def clean_run(n: int, total: int, state: str = "running") -> History:
    """A run with no finding: loss declining, grad_norm in band, a constant lr as configured."""
    cfg = RunConfig().model_dump(mode="json")
    cfg["training"].update(lr_scheduler_type="constant", warmup_ratio=0.0, learning_rate=1e-4)
    h = History()
    h.add({"kind": "run_started", "config": cfg, "total_steps": total})
    h.add({"kind": "state", "state": "running", "step": 0})
    for i in range(1, n + 1):
        h.add(
            {
                "kind": "metrics",
                "step": i,
                "loss": 3.0 * math.exp(-i / 600) + 0.3,
                "grad_norm": 1.0 + 0.1 * math.sin(i),
                "entropy": 2.0 - i / 1000 + 0.05 * math.sin(i),
                "learning_rate": 1e-4,
            }
        )
    if state != "running":
        h.add({"kind": "state", "state": state, "step": n})
    return h


def test_no_final_run_from_inside_a_run_that_has_not_ended():
    # Step 150 of 3,000 (the case): the run may itself be the final run. It used to say "final run".
    a = advise(clean_run(150, 3000))
    assert a.stage == 6 and not a.findings and a.next_action is None
    assert advise(clean_run(900, 3000, state="stopped")).next_action is None  # stopped: not its end
    done = advise(clean_run(900, 3000, state="finished"))  # ended clean: now the final run is earned
    assert done.next_action is not None and done.next_action.id == "final_run"


def test_next_action_never_contradicts_the_needs_line():
    fixtures = sorted((Path(__file__).parent / "fixtures" / "real-logs").glob("*.json"))
    histories = [load_history(p)[0] for p in fixtures]
    histories += [
        clean_run(n, t, s) for n, t, s in ((900, 3000, "finished"), (150, 3000, "running"), (300, 300, "finished"))
    ]
    for h in histories:
        a = advise(h)
        if a.next_action is not None and a.next_action.id == "final_run":
            assert not any(n.startswith("clear:") for n in a.stage_needs), a.stage_needs
            assert not a.findings


# ---- the spawned trainer ------------------------------------------------------------------------------------


def test_an_exited_child_trainer_is_reaped_and_others_are_left_alone():
    child = subprocess.Popen(["true"])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with open(f"/proc/{child.pid}/stat") as f:
            if f.read().split(")")[-1].split()[0] == "Z":
                break
        time.sleep(0.05)
    assert reap([child.pid, 1]) == [child.pid]  # pid 1 is not our child: untouched
    assert not os.path.exists(f"/proc/{child.pid}")


async def test_the_live_cockpit_reaps_the_trainer_it_spawned(tmp_path):
    child = subprocess.Popen(["sleep", "0.5"])
    rd = write_run(tmp_path / "r", pid=child.pid)
    app = live_app(rd)
    async with app.run_test(size=(120, 40)) as pilot:
        append(rd, kind="state", state="finished", step=60)
        await pilot.pause(2.0)
        assert not os.path.exists(f"/proc/{child.pid}"), "the finished trainer is left <defunct>"


async def test_the_advice_follows_the_runs_final_state(tmp_path):
    """A final state adds no metrics: the advice used to stay the running run's ("lr x2 now" on a
    finished demo run) until another metrics row came, which never does."""
    rd = write_run(tmp_path / "r", pid=os.getpid(), spike_at=None, acks=False)
    for s in range(61, 121):
        append(rd, kind="metrics", step=s, loss=0.6, grad_norm=1.0, entropy=1.4, learning_rate=2e-4)
    app = live_app(rd)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause(0.6)
        assert app.screen.advice().next_action.id == "lr_double"
        append(rd, kind="state", state="finished", step=120)
        await pilot.pause(1.0)
        assert app.screen.advice().next_action.id == "lr_double_next"
        assert "next run: lr x2" in panel_text(app)


async def test_a_trainer_state_that_ends_early_says_where_at_its_end(tmp_path):
    """A checkpoint's trainer_state.json (global_step 1000 of max_steps 3765) replayed to its end said
    only '? UNKNOWN'; it now says where the log ends."""
    import json

    from cockpit.logs import load_history
    from cockpit.tui.app import CockpitApp
    from cockpit.tui.sources import ReplaySource

    hist = [{"step": s, "loss": 2.0 - s / 1000, "grad_norm": 1.0, "learning_rate": 1e-4} for s in range(10, 1001, 10)]
    f = tmp_path / "trainer_state.json"
    f.write_text(json.dumps({"global_step": 1000, "max_steps": 3765, "log_history": hist}))
    h, _ = load_history(f)
    app = CockpitApp(ReplaySource(h, "ckpt"), run_dir=None)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.4)
        assert app.screen.state == "unknown" and app.screen.state_note() == "log ends at 1000/3765 (checkpoint?)"
        await pilot.press("home")
        await pilot.pause(0.2)
        assert app.screen.state_note() is None  # mid-log: nothing to say yet
