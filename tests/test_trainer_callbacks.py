"""The trainer's callbacks without a Trainer: the command table against a real optimizer and scheduler."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
import torch
from transformers import TrainerControl

from cockpit.config import RunConfig
from cockpit.rundir import COMMANDS, EventWriter, RunDir
from cockpit.trainer.callbacks import RunControl, cockpit_callbacks
from cockpit.trainer.callbacks.commands import HANDLERS, CommandsCallback
from runhelpers import events


def test_every_command_has_one_handler():
    assert set(HANDLERS) == set(COMMANDS)


@pytest.fixture
def run(tmp_path):
    rd = RunDir(tmp_path / "run").create()
    writer = EventWriter(rd.events)
    run = RunControl(rd, RunConfig(), writer)
    yield run
    run.close()
    writer.close()


def test_commands_are_applied_at_the_optimizer_step_and_acked_in_order(run):
    param = torch.nn.Parameter(torch.zeros(2))
    opt = torch.optim.SGD([param], lr=1e-3)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0)
    with open(run.rd.control, "a") as f:
        for c in (
            {"id": "a", "cmd": "scale_lr", "value": 0.5},
            {"id": "b", "cmd": "pause"},
            {"id": "c", "cmd": "pause"},
            {"id": "d", "cmd": "sample"},
            {"id": "e", "cmd": "save"},
            {"id": "f", "cmd": "stop"},
            {"id": "g", "cmd": "resume"},
        ):
            f.write(json.dumps(c) + "\n")
    control = TrainerControl()
    CommandsCallback(run).on_optimizer_step(
        None, SimpleNamespace(global_step=6), control, optimizer=opt, lr_scheduler=sched
    )
    acks = [(e["id"], e["ok"], e.get("change") or e.get("reason")) for e in events(run.rd.path) if e["kind"] == "ack"]
    assert acks == [
        ("a", True, "lr 0.001 -> 0.0005"),
        ("b", True, "paused at the step boundary"),
        ("c", False, "already paused"),
        ("e", True, "checkpoint at step 7"),
        ("f", True, "saving and stopping"),
        ("g", False, "the run is stopping"),
    ]
    assert opt.param_groups[0]["lr"] == pytest.approx(5e-4) and sched.base_lrs == [pytest.approx(5e-4)]
    assert [c["id"] for c in run.sample_requests] == ["d"]  # acked by the samples callback, at the step end
    assert run.paused and run.stop_reason == "command"
    assert control.should_save and control.should_training_stop
    states = [(e["state"], e["step"]) for e in events(run.rd.path) if e["kind"] == "state"]
    assert states == [("paused", 7), ("stopping", 7)]


def test_the_guards_come_after_the_metrics_they_judge(run):
    names = [type(c).__name__ for c in cockpit_callbacks(run, None, "none")]
    assert names.index("SamplesCallback") < names.index("StepEventsCallback") < names.index("StopListCallback")
    assert names.index("UpdateSizeCallback") < names.index("StepEventsCallback")
    assert "FaultInjectionCallback" not in names  # only when a fault is asked for
