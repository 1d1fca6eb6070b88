"""Advice on a user's own script's run: what the advisor knows is what its Trainer told, and a next-run
change is worded in the names the script sets. The events are a real run of examples/sft_trl.py under
`cockpit run` on the demo model (20 steps; paths shortened)."""

from __future__ import annotations

from pathlib import Path

from cockpit.advisor import actions
from cockpit.history import History
from cockpit.own.user_terms import in_user_terms
from cockpit.rundir import read_events
from cockpit.tui.advice_text import new_run

RUN = Path(__file__).parent / "fixtures" / "script-run"


def history() -> History:
    return History().extend(read_events(RUN / "events.jsonl"))


def test_the_advisor_sees_only_what_the_trainer_told():
    h = history()
    assert h.script["trainer"] == "SFTTrainer"
    assert set(h.config) == {"training", "lora"}, "no data, model or guards of ours are claimed"
    assert h.config["training"]["learning_rate"] == 3e-4
    assert h.config["lora"] == {
        "r": 8,
        "lora_alpha": 16,
        "lora_dropout": 0.05,
        "target_modules": ["q_proj", "v_proj"],
        "use_rslora": False,
        "use_dora": False,
    }


def test_a_next_run_change_in_the_scripts_names_with_the_runs_values():
    h = history()
    alpha = actions.alpha_down(h.config)
    assert new_run(alpha, RUN, script=h.script) == "a new run of your script with lora_alpha 16 -> 8"
    lr = actions.lr_half_next(h.config)
    assert in_user_terms(lr.config_patch, h.script) == "learning_rate 0.0003 -> 0.00015"
    dropout = actions.dropout_up(h.config)
    assert in_user_terms(dropout.config_patch, h.script) == "lora_dropout 0.05 -> 0.1"


def test_our_own_runs_keep_the_config_and_its_set_flags():
    evs = [{"v": 1, "t": 0, "kind": "run_started", "config": {"lora": {"r": 8, "lora_alpha": 16}}}]
    h = History().extend(evs)
    assert h.script is None
    line = new_run(actions.alpha_down(h.config), Path("runs/x"))
    assert line == "a new run: `cockpit run runs/x/config.yaml --set lora.lora_alpha=8`"


def test_a_tools_own_yaml_names_where_they_differ():
    script = {**history().script, "tool": "llamafactory"}
    up = actions.structure_up({"lora": {"r": 8, "lora_alpha": 16, "target_modules": ["q_proj", "k_proj", "v_proj"]}})
    assert in_user_terms(up.config_patch, script) == "lora_rank 8 -> 16, lora_alpha 16 -> 32"
    assert in_user_terms({"lora.r": 16}, {**script, "tool": "axolotl"}) == "lora_r 8 -> 16"


def exploded(path: Path) -> None:
    """The recorded run, then 20 more logged steps with a grad_norm explosion at 28-31 before it ends."""
    import json

    evs = list(read_events(path))
    body = [e for e in evs[:-1] if e["kind"] != "summary"]
    last = [e for e in body if e["kind"] == "metrics"][-1]
    for s in range(21, 41):
        body.append({**last, "step": s, "grad_norm": 60.0 if 28 <= s <= 31 else 1.5, "loss": 2.5 if s < 28 else 3.5})
    body.append({**evs[-1], "step": 40})
    path.write_text("".join(json.dumps(e) + "\n" for e in body))


async def test_the_cockpit_on_a_scripts_run_shows_it_all_and_writes_no_config(tmp_path):
    import shutil

    from cockpit.tui.app import CockpitApp
    from cockpit.tui.sources import LiveSource

    rd = tmp_path / "run"
    shutil.copytree(RUN, rd)
    exploded(rd / "events.jsonl")
    app = CockpitApp(LiveSource(rd, poll=0.02), run_dir=rd)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause(1.0)
        scr = app.screen
        assert len(scr.history) == 40 and scr.state == "finished", "attach: the whole history"
        assert scr.advice().next_action.config_patch == {"training.learning_rate": 0.00015}
        from cockpit.tui.widgets.advisor_panel import AdvisorPanel

        panel = str(scr.query_one(AdvisorPanel).render())
        assert "a new run of your script with learning_rate 0.0003 -> 0.00015" in panel, panel
        assert "[a] write next config" not in panel and "config.yaml" not in panel
        assert not (rd / "next-config.yaml").exists() and not (rd / "config.yaml").exists()


def test_a_trl_trainer_declares_its_method_and_a_plain_trainer_leaves_it_to_the_keys():
    import transformers
    import trl

    from cockpit.own.describe import method_of

    class MyDPO(trl.DPOTrainer):
        pass

    assert [method_of(c) for c in (trl.GRPOTrainer, trl.SFTTrainer, MyDPO)] == ["grpo", "sft", "dpo"]
    assert method_of(transformers.Trainer) is None


def test_the_stage_needs_name_no_command_that_wants_our_config():
    # Before: a script's 20-step run was told to `cockpit sweep`, which needs a config of ours it has not.
    from cockpit.advisor import advise
    from cockpit.advisor.stage import needs

    adv = advise(history())
    assert adv.stage == 3
    text = " ".join(adv.stage_needs)
    assert "cockpit sweep" not in text and "one run of your script per value" in text
    assert "`cockpit sweep`" in " ".join(needs(3, []))  # our own runs keep the command
