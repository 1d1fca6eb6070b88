"""The checks of bench/gpu_check.py on a live trainer: the guards stop faulted runs, the commands are acked."""

from __future__ import annotations

import json
import time
from pathlib import Path

import gpu_proc as proc
from gpu_parts import Ctx, final_state, metrics_of, write_config
from gpu_proc import COCKPIT

# ---- the guards on this device ---------------------------------------------------------------------------

FAULT_STEP = 12


def _guard_run(ctx: Ctx, name: str, env: dict, sets: dict, timeout: float) -> dict:
    cfg = write_config(
        ctx,
        name,
        "qwen2.5-0.5b-lora.yaml",
        "qwen2.5-0.5b",
        {"training.max_steps": ctx.size["guard_steps"], "training.save_steps": 5, **sets},
    )
    rd = ctx.work / "runs" / name
    ran = proc.run(
        [*COCKPIT, "run", str(cfg), "--headless", "--run-dir", str(rd)], timeout, ctx.log(name), env=env, run_dir=rd
    )
    evs = proc.events(rd)
    guards_seen = [e for e in evs if e.get("kind") == "guard"]
    # The guard that acted: one isolated spike with clipping on is a warning first (grad_norm_spike), and
    # the stop comes at the next logged step if the spike goes on (issue 35's guard rule).
    guard = next((e for e in guards_seen if e.get("action") != "warned"), guards_seen[0] if guards_seen else {})
    ckpts = sorted(p.name for p in (rd / "checkpoints").glob("checkpoint-*")) if (rd / "checkpoints").exists() else []
    kept = guard.get("last_good_checkpoint") or ""
    rec = {
        "rc": ran.rc,
        "state": final_state(evs),
        "guard_rule": guard.get("rule"),
        "guard_step": guard.get("step"),
        "guard_action": guard.get("action"),
        "warned_before": [e.get("rule") for e in guards_seen if e.get("action") == "warned"],
        "last_good_checkpoint": kept,
        "checkpoints": ckpts,
        "last_metrics_step": max((m.get("step", 0) for m in metrics_of(evs)), default=None),
        "adapter_finite": _adapter_finite(rd / "adapter"),
        "grad_norms_around": [m.get("grad_norm") for m in metrics_of(evs) if abs(m.get("step", 0) - FAULT_STEP) <= 2],
    }
    rec["checkpoint_kept"] = bool(kept) and (Path(kept) / "adapter_model.safetensors").exists()
    return rec


def _adapter_finite(adapter: Path) -> bool | None:
    f = adapter / "adapter_model.safetensors"
    if not f.exists():
        return None
    from safetensors.torch import load_file

    return all(bool(t.float().isfinite().all()) for t in load_file(str(f)).values())


def guards(ctx: Ctx, timeout: float) -> dict:
    """The two faulted runs side by side (their timings are not read): one import of the stack's wall time
    instead of two, on the CPU path's two cores and on the GPU alike."""
    from concurrent.futures import ThreadPoolExecutor

    # A x300 logit spike from the fault step on; the explosion guard back to the SOP's stop and the other
    # windowed guards off, so the explosion bound (grad_norm over 50) is the one that must stop it.
    spike = {
        "guards.on_explosion": "stop",
        "guards.on_precursor": "off",
        "guards.on_loss_jump": "off",
        "guards.on_large_update": "off",
    }
    with ThreadPoolExecutor(2) as pool:
        nan_f = pool.submit(_guard_run, ctx, "guard_nan", {"COCKPIT_FAULT_NAN_AT_STEP": str(FAULT_STEP)}, {}, timeout)
        boom_f = pool.submit(
            _guard_run,
            ctx,
            "guard_explosion",
            {"COCKPIT_FAULT_SPIKE": f"{FAULT_STEP}-{FAULT_STEP + 8}:300"},
            spike,
            timeout,
        )
        nan, boom = nan_f.result(), boom_f.result()
    nan["ok"] = (
        nan["rc"] == 1
        and nan["state"] == "stopped"
        and nan["guard_rule"] == "nonfinite_grad"
        and nan["guard_step"] == FAULT_STEP
        and nan["checkpoint_kept"]
        and nan["adapter_finite"] is True
    )
    boom["ok"] = (
        boom["rc"] == 1
        and boom["state"] == "stopped"
        and boom["guard_rule"] == "grad_norm_explosion"
        and (boom["last_metrics_step"] or 0) <= FAULT_STEP + 2  # a warning at the spike, the stop one step on
        and boom["checkpoint_kept"]
        and boom["adapter_finite"] is True
    )
    return {"ok": nan["ok"] and boom["ok"], "nan": nan, "explosion": boom}


# ---- live commands: acked within one step ---------------------------------------------------------------

COMMANDS = [("lr", "x0.5"), ("save", None), ("sample", None), ("pause", None), ("resume", None), ("stop", None)]


def controls(ctx: Ctx, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    cfg = write_config(
        ctx,
        "controls",
        "qwen2.5-0.5b-lora.yaml",
        "qwen2.5-0.5b",
        {"training.max_steps": 100_000, "training.lr_scheduler_type": "constant", "training.warmup_ratio": 0.0},
    )
    rd = ctx.work / "runs" / "controls"
    log = ctx.log("controls")
    try:
        ran = proc.run([*COCKPIT, "run", str(cfg), "--detach", "--run-dir", str(rd)], 60, log)
        if ran.rc != 0:
            return {"ok": False, "error": f"run --detach exit {ran.rc}", "tail": ran.out[-1500:]}
        proc.wait_for(rd, lambda e: e.get("kind") == "metrics" and e.get("step", 0) >= 3, deadline, "metrics at step 3")
        acks = []
        for action, value in COMMANDS:
            args = [*COCKPIT, "ctl", str(rd), action, *([value] if value else [])]
            ran = proc.run(args, max(1.0, deadline - time.monotonic()), log)
            acks.append(_ack_record(rd, action, ran))
            if action == "pause" and ran.rc == 0:
                time.sleep(1.0)  # paused: no step may end meanwhile (checked below)
        proc.wait_for(rd, lambda e: e.get("kind") == "state" and e.get("state") == "stopped", deadline, "stopped")
    finally:
        proc.kill(None, rd)
    evs = proc.events(rd)
    rec: dict = {"commands": acks, "state": final_state(evs)}
    lr = _lr_halved(evs)
    rec["lr_halved"] = lr
    rec["checkpoint_written"] = any(e.get("kind") == "checkpoint" for e in evs)
    rec["sample_written"] = any(e.get("kind") == "sample" for e in evs)
    rec["steps_while_paused"] = _steps_while_paused(evs)
    rec["ok"] = (
        all(a["ok"] for a in acks)
        and bool(lr and lr["ok"])
        and rec["checkpoint_written"]
        and rec["sample_written"]
        and rec["steps_while_paused"] == 0
        and rec["state"] == "stopped"
    )
    return rec


def _ack_record(rd: Path, action: str, ran) -> dict:
    """The command's ack, and how many steps ended between its writing and its ack (metrics events with
    `t` in between, one per step: logging_steps is 1)."""
    cmds = [json.loads(x) for x in (rd / "control.jsonl").read_text().splitlines() if x.strip()]
    cmd = cmds[-1]
    evs = proc.events(rd)
    ack = next((e for e in evs if e.get("kind") == "ack" and e.get("id") == cmd.get("id")), None)
    rec = {"action": action, "cmd": cmd.get("cmd"), "rc": ran.rc, "acked": ack is not None}
    if ack:
        between = [m for m in metrics_of(evs) if cmd["t"] < m["t"] < ack["t"]]
        rec.update(
            ack_ok=ack.get("ok"),
            ack_step=ack.get("step"),
            steps_ended_before_ack=len(between),
            ack_latency_s=round(ack["t"] - cmd["t"], 4),
        )
    rec["ok"] = bool(ack and ack.get("ok") and rec["steps_ended_before_ack"] <= 1 and ran.rc == 0)
    return rec


def _lr_halved(evs: list[dict]) -> dict | None:
    ack = next((e for e in evs if e.get("kind") == "ack" and e.get("cmd") == "scale_lr"), None)
    if not ack:
        return None
    ms = metrics_of(evs)
    before = [m["learning_rate"] for m in ms if m["step"] < ack["step"]]
    after = [m["learning_rate"] for m in ms if m["step"] >= ack["step"]]
    if not before or not after:
        return None
    ratio = after[0] / before[-1]
    return {"before": before[-1], "after": after[0], "ratio": ratio, "ok": abs(ratio - 0.5) < 0.01}


def _steps_while_paused(evs: list[dict]) -> int | None:
    """Steps that ended between the pause and the resume. The step the pause was applied at still logs
    its metrics after the `paused` state (the command is read before the step's log): not counted."""
    paused = next((e for e in evs if e.get("kind") == "state" and e.get("state") == "paused"), None)
    if paused is None:
        return None
    resumed = next(
        (e for e in evs if e.get("kind") == "state" and e.get("state") == "running" and e["t"] > paused["t"]), None
    )
    if resumed is None:
        return None
    return sum(1 for m in metrics_of(evs) if paused["t"] < m["t"] < resumed["t"] and m["step"] > paused["step"])
