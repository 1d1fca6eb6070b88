"""The cockpit on a GRPO run and a DPO-style run (issue #31 item 4, #33): each charts what it logs (reward,
its spread, KL, completion lengths and the share clipped; margins, accuracies, chosen and rejected
rewards) in place of the SFT metrics it lacks, and its title says the kind. Snapshots of a real GRPO log
replayed, and the same said in text so a snapshot approved by mistake cannot hide a lost chart."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_snapshots import settled

from cockpit.logs import load_history
from cockpit.metrics import CHARTED, PREFERENCE_CHARTED, RL_CHARTED, panel_id
from cockpit.tui.app import CockpitApp
from cockpit.tui.chart import BARS
from cockpit.tui.layout import chart_layout
from cockpit.tui.sources import ReplaySource

REAL = Path(__file__).parent / "fixtures" / "real-logs-2"
GRPO = REAL / "37_wordle-grpo-400-reward-flat.json"
ORPO = REAL / "32_recsys-orpo-3epochs.json"


def replay(path: Path, cursor: int | None = None) -> CockpitApp:
    h, _ = load_history(path)
    src = ReplaySource(h, path.name, speed=10)
    src.seek(cursor if cursor is not None else len(h))
    return CockpitApp(src, run_dir=None, theme="cockpit-dark")


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_grpo_replay_screen(snap_compare, size):
    assert snap_compare(replay(GRPO, cursor=300), terminal_size=size, run_before=settled)


@pytest.mark.parametrize("path,shown", [(GRPO, RL_CHARTED), (ORPO, PREFERENCE_CHARTED)], ids=["grpo", "preference"])
async def test_a_runs_kind_charts_what_it_logs_and_no_blank_tiles(path, shown):
    app = replay(path)
    size = (160, 48)
    async with app.run_test(size=size) as pilot:
        await settled(pilot)
        scr = app.screen
        rows = chart_layout(*size).chart_rows
        for m in shown:
            panel = scr.query_one("#" + panel_id(m.key))
            lines = str(panel.render()).split("\n")
            assert panel.display and lines[0].startswith(m.short), (m.key, lines)
            chart = lines[1 : 1 + rows]
            assert any(set(row) & set(BARS) for row in chart), (m.key, lines)  # drawn, not blank
        hidden = {m.key for m in CHARTED} - {m.key for m in shown}
        assert hidden and all(not scr.query_one("#" + panel_id(k)).display for k in hidden)
        assert scr.query_one("#" + panel_id(shown[0].key)).has_class("-lead")
        assert "(GRPO/PPO-style)" in str(scr.query_one("#title-bar").render()) or path != GRPO


async def test_an_sft_run_keeps_its_seven_charts_and_plain_title(tmp_path):
    from test_snapshots import replay_app

    app = replay_app(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        await settled(pilot)
        scr = app.screen
        assert [p.key for p in scr.query("MetricPanel") if p.display] == [m.key for m in CHARTED]
        title = str(scr.query_one("#title-bar").render())
        assert "RL (" not in title and "preference" not in title and scr.focused.key == "loss"


async def test_the_live_cockpit_on_a_grpo_run_charts_its_reward_as_it_comes(tmp_path):
    """A GRPO script's run directory (as `cockpit run -- python train.py` writes it: every logged key in
    its metrics events): the live cockpit switches to the RL charts with the first metrics event."""
    from cockpit.rundir import RunDir
    from cockpit.tui.sources import LiveSource
    from tuihelpers import T0, append

    rd = RunDir(tmp_path / "grpo").create()
    rd.events.write_text("")
    append(rd, kind="state", state="running", step=0)
    append(rd, kind="run_started", config={}, method="grpo", total_steps=100, world_size=1)
    app = CockpitApp(LiveSource(rd.path, poll=0.02), run_dir=rd.path, clock=lambda: T0 + 600)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause(0.3)
        for s in range(1, 21):
            append(
                rd,
                kind="metrics",
                step=s,
                loss=0.0,
                grad_norm=0.2,
                reward=0.1 * s,
                reward_std=0.5,
                kl=0.001 * s,
                entropy=1.2,
                **{"completions/mean_length": 120.0, "completions/clipped_ratio": 0.05},
            )
        for _ in range(40):
            await pilot.pause(0.1)
            if len(app.screen.query_one("#m-reward").values) == 20:
                break
        scr = app.screen
        assert len(scr.query_one("#m-reward").values) == 20 and scr.query_one("#m-reward").has_class("-lead")
        assert scr.query_one("#m-kl").display and not scr.query_one("#m-loss").display
        assert "RL (GRPO/PPO-style)" in str(scr.query_one("#title-bar").render())
