"""CockpitCallback: the trainer's side of the run directory.

Where each hook sits in the Trainer's step (transformers 5):

    forward/backward -> clip -> on_pre_optimizer_step -> optimizer.step() -> on_optimizer_step
    -> learning_rate captured for the log -> scheduler.step() -> on_step_end -> log / save (on_log, on_save)
    -> next step: on_step_begin

- on_pre_optimizer_step: non-finite gradients drop the whole update (the adapter never takes a NaN).
- on_optimizer_step: commands are read and applied here, so an lr change is already what the Trainer
  captures for this step's log, and a `save`/`stop` is honoured by this step's save/stop checks.
- on_step_begin: a pause holds here, after the previous step is fully logged and saved.
- on_log: one `metrics` event per logging step, plus the guards.

Only the world-zero process writes events and reads the control file; commands are broadcast to every
rank so all ranks change lr, pause, save and stop at the same step.
"""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import torch
from transformers import TrainerCallback

from cockpit.config import RunConfig
from cockpit.rundir import EventWriter, RunDir
from cockpit.trainer import dist
from cockpit.trainer.commands import CommandReader, apply_lr, scaled_lr_problem, validate
from cockpit.trainer.eval_guard import EvalWatch


class StopWhilePaused(Exception):
    """Raised from the pause loop to leave `trainer.train()` without running one more step."""


class CockpitCallback(TrainerCallback):
    def __init__(self, rd: RunDir, cfg: RunConfig, events: EventWriter | None, mem_reader, mem_kind: str,
                 sample_fn=None, control_offset: int = 0):
        self.rd, self.cfg, self.events = rd, cfg, events
        self.mem_reader, self.mem_kind = mem_reader, mem_kind
        self.sample_fn = sample_fn
        self.trainer = None  # set after the Trainer exists (needed to save while paused)
        self.is_zero = dist.is_world_zero()
        self.rank = dist.rank()
        self.reader = CommandReader(rd.control, offset=control_offset) if self.is_zero else None
        self.paused = False
        self.stop_reason: str | None = None
        self.sigterm = False
        self.pending_merge: list[dict[str, Any]] = []
        self.injected: list[dict[str, Any]] = []
        self.logged_upto = 0  # on resume: steps already in events.jsonl are re-trained but not re-logged  # rank-0 decisions that every rank must apply
        self.want_sample: list[dict[str, Any]] = []
        self.guarded_steps: set[int] = set()
        self.skipped_steps = 0
        self.last_good_checkpoint: str | None = None
        self._save_note: str | None = None  # "saving works again", for the next checkpoint event
        self.eval_watch = EvalWatch(cfg.guards)
        from cockpit.advisor.guards import GuardWindow

        self.guard_window = GuardWindow()  # the stop list's windowed guards: precursor, loss jump
        from cockpit.trainer.update_size import UpdateSize

        self.update_size = UpdateSize()  # ||dW|| / ||W|| of the adapter at logged steps
        self.best_checkpoint: str | None = None  # the best evaluation's checkpoint (eval guards)
        self._best_step: int | None = None  # an evaluation was the best so far: its save is that checkpoint
        self.restore_best = False  # an eval guard stopped the run: the best checkpoint becomes the adapter
        # Step timing (wall clock between step ends, pause time excluded).
        self._t_last_step: float | None = None
        self._step_times: list[float] = []
        self._t_last_log: float | None = None
        self._tokens_last_log: float | None = None
        self._pause_time = 0.0
        fault = os.environ.get("COCKPIT_FAULT_NAN_AT_STEP")
        self.fault_nan_step = int(fault) if fault and fault.isdigit() else None
        # Fault injection for the windowed guards' tests: COCKPIT_FAULT_SPIKE=FIRST-LAST:FACTOR scales the
        # model's logits by FACTOR during those steps, a real loss and grad_norm spike through the real trainer.
        spike = os.environ.get("COCKPIT_FAULT_SPIKE", "")
        steps, _, factor = spike.partition(":")
        first, _, last = steps.partition("-")
        self.fault_spike = (int(first), int(last or first), float(factor)) if spike else None
        self._spike_hook = None

    # ---- helpers ---------------------------------------------------------------------------------

    def emit(self, kind: str, **fields: Any) -> None:
        if self.events is not None:
            self.events.write(kind, **fields)

    def state(self, state: str, step: int, reason: str | None = None) -> None:
        if self.events is not None:
            fields: dict[str, Any] = {"state": state, "step": step}
            if reason:
                fields["reason"] = reason
            self.events.write("state", **fields)
            self.events.sync()  # state changes are rare and must survive a crash

    def ack(self, cmd: dict[str, Any], step: int, ok: bool, reason: str | None = None,
            change: str | None = None) -> None:
        if cmd.get("internal"):
            return  # the trainer's own commands (SIGTERM, guards) have no sender waiting for an ack
        cid = cmd.get("id")
        fields: dict[str, Any] = {"id": cid if isinstance(cid, str) else "", "cmd": cmd.get("cmd"), "ok": ok,
                                  "step": step}
        if cmd.get("source"):
            fields["source"] = cmd["source"]  # who sent it (tui / cli / advisor): the log says who acted
        if reason:
            fields["reason"] = reason
        if change:
            fields["change"] = change
        self.emit("ack", **fields)

    def install_sigterm(self) -> None:
        def on_term(signum, frame):  # noqa: ARG001
            self.sigterm = True

        signal.signal(signal.SIGTERM, on_term)

    def _rank_log(self, msg: str) -> None:
        # Every rank says what it applied, so a multi-process run can be checked rank by rank.
        print(f"[cockpit rank {self.rank}] {msg}", flush=True)

    # ---- command handling ------------------------------------------------------------------------

    def _poll(self) -> list[dict[str, Any]]:
        cmds = self.reader.poll() if self.reader is not None else []
        cmds, self.injected = self.injected + cmds, []
        if self.sigterm and self.stop_reason is None:
            cmds.append({"id": "", "cmd": "stop", "source": "sigterm", "internal": True})
        return dist.broadcast(cmds)

    def _handle(self, cmds: list[dict[str, Any]], args, state, control, kwargs, step: int) -> None:
        for cmd in cmds:
            name = cmd.get("cmd")
            reason = validate(cmd)
            if reason is None and self.stop_reason is not None and name != "stop":
                reason = "the run is stopping"
            if reason is not None:
                self.ack(cmd, step, False, reason=reason)
                continue
            optimizer, scheduler = kwargs.get("optimizer"), kwargs.get("lr_scheduler")
            if name == "pause":
                if self.paused:
                    self.ack(cmd, step, False, reason="already paused")
                    continue
                self.paused = True
                self._rank_log(f"applied pause at step {step}")
                self.ack(cmd, step, True, change="paused at the step boundary")
                self.state("paused", step)
            elif name == "resume":
                if not self.paused:
                    self.ack(cmd, step, False, reason="not paused")
                    continue
                self.paused = False
                self._rank_log(f"applied resume at step {step}")
                self.ack(cmd, step, True)
                self.state("running", step)
            elif name in ("set_lr", "scale_lr"):
                v = float(cmd["value"])
                too_small = scaled_lr_problem(optimizer, scheduler, v) if name == "scale_lr" else None
                if too_small:
                    self.ack(cmd, step, False, reason=too_small)
                    continue
                if name == "set_lr":
                    old, new = apply_lr(optimizer, scheduler, new_lr=v)
                else:
                    old, new = apply_lr(optimizer, scheduler, factor=v)
                self._rank_log(f"applied {name} {v:g} at step {step}: lr {old:.3g} -> {new:.3g}")
                self.ack(cmd, step, True, change=f"lr {old:.3g} -> {new:.3g}")
            elif name == "save":
                control.should_save = True
                self._rank_log(f"applied save at step {step}")
                self.ack(cmd, step, True, change=f"checkpoint at step {step}")
            elif name == "stop":
                src = str(cmd.get("source") or "")
                self.stop_reason = src if src == "sigterm" or src.startswith("guard:") else "command"
                control.should_save = True
                control.should_training_stop = True
                self._rank_log(f"applied stop at step {step}")
                self.ack(cmd, step, True, change="saving and stopping")
                self.state("stopping", step, reason=self.stop_reason)
            elif name == "sample":
                self.want_sample.append(cmd)
            elif name == "merge":
                control.should_save = True
                self.pending_merge.append(cmd)
                self.ack(cmd, step, True, change="saving a checkpoint, then merging it in a separate process")

    # ---- hooks -----------------------------------------------------------------------------------

    def on_train_begin(self, args, state, control, model=None, processing_class=None, **kwargs):
        s = self.cfg.samples
        if s.on_start and s.every > 0 and s.prompts and state.global_step == 0 and self.sample_fn is not None:
            self._write_samples(0, model, processing_class, [])  # "before": the base model's answers
        self._t_last_step = time.perf_counter()
        self._t_last_log = self._t_last_step
        self.state("running", state.global_step)

    def on_step_begin(self, args, state, control, **kwargs):
        if self.fault_spike is not None:
            self._inject_spike(state.global_step + 1, kwargs.get("model"))
        if not self.paused:
            return
        t0 = time.perf_counter()
        step = state.global_step
        while self.paused:
            time.sleep(0.2)
            cmds = self._poll()
            # Save while paused: the Trainer only saves between steps, so do it here ourselves.
            saving = any(c.get("cmd") in ("save", "merge") and validate(dict(c)) is None for c in cmds)
            self._handle(cmds, args, state, control, kwargs, step)
            if saving and self.trainer is not None:
                control.should_save = False
                self.trainer._save_checkpoint(self.trainer.model, trial=None)
                self.on_save(args, state, control, **kwargs)
            if self.stop_reason is not None:
                self.paused = False
                self._pause_time += time.perf_counter() - t0
                raise StopWhilePaused()
        self._pause_time += time.perf_counter() - t0

    def _inject_spike(self, step: int, model) -> None:
        first, last, factor = self.fault_spike
        if first <= step <= last and self._spike_hook is None and model is not None:
            # On the decoder's last hidden state, not on lm_head: TRL may compute the loss from the hidden
            # states and lm_head's weight without calling lm_head (a chunked loss).
            def scale(mod, inp, out):
                out.last_hidden_state = out.last_hidden_state * factor
                return out

            self._spike_hook = model.get_decoder().register_forward_hook(scale)
        elif not first <= step <= last and self._spike_hook is not None:
            self._spike_hook.remove()
            self._spike_hook = None

    def _logged_next(self, args, state) -> bool:
        """Whether the step about to be taken will be logged (HF logs at multiples of logging_steps)."""
        step = state.global_step + 1
        every = max(1, int(args.logging_steps or 1))
        return step % every == 0 or (step == 1 and bool(getattr(args, "logging_first_step", False)))

    def on_pre_optimizer_step(self, args, state, control, model=None, optimizer=None, **kwargs):
        if self.is_zero and self._logged_next(args, state):
            self.update_size.before([p for g in optimizer.param_groups for p in g["params"]])
        # One fused norm over the trainable grads and a single host sync: the price of never applying
        # a NaN update. (The Trainer's own grad_norm is not handed to callbacks.)
        grads = [p.grad for g in optimizer.param_groups for p in g["params"] if p.grad is not None]
        if not grads:
            return
        if self.fault_nan_step == state.global_step + 1:
            grads[0].fill_(float("nan"))  # fault injection for the guard tests (COCKPIT_FAULT_NAN_AT_STEP)
        finite = bool(torch.isfinite(torch.stack(torch._foreach_norm(grads))).all())
        if finite:
            return
        for g in optimizer.param_groups:
            for p in g["params"]:
                p.grad = None  # torch optimizers skip parameters without a gradient
        step = state.global_step + 1
        self.skipped_steps += 1
        self._guard(step, {"rule": "nonfinite_grad", "severity": "critical",
                           "message": "non-finite gradient: this optimizer step was skipped",
                           "action": self.cfg.guards.on_nonfinite, "evidence": {"step": step}}, control)

    def on_optimizer_step(self, args, state, control, **kwargs):
        optimizer = kwargs.get("optimizer")  # left in kwargs: _handle reads the optimizer and scheduler there
        if optimizer is not None:
            self.update_size.after([p for g in optimizer.param_groups for p in g["params"]])
        cmds = self._poll()
        if cmds:
            self._handle(cmds, args, state, control, kwargs, state.global_step + 1)

    def on_step_end(self, args, state, control, model=None, processing_class=None, **kwargs):
        now = time.perf_counter()
        if self._t_last_step is not None:
            self._step_times.append(now - self._t_last_step - self._pause_time)
            del self._step_times[:-64]
        self._t_last_step, self._pause_time = now, 0.0
        every = self.cfg.samples.every
        due = bool(every > 0 and state.global_step % every == 0 and self.cfg.samples.prompts)
        if not (due or self.want_sample):
            return
        cmds, self.want_sample = self.want_sample, []
        if not self.cfg.samples.prompts or self.sample_fn is None:
            for c in cmds:
                self.ack(c, state.global_step, False, reason="no samples.prompts in the config")
            return
        t0 = time.perf_counter()
        self._write_samples(state.global_step, model, processing_class, cmds)
        # Generation time is not training time: keep it out of step_time and tokens/s.
        self._pause_time += time.perf_counter() - t0

    def _write_samples(self, step: int, model, processing_class, cmds: list[dict[str, Any]]) -> None:
        if not self.is_zero:
            return
        try:
            for prompt, completion in self.sample_fn(model, processing_class):
                self.emit("sample", step=step, prompt=prompt, completion=completion,
                          max_new_tokens=self.cfg.samples.max_new_tokens)
            for c in cmds:
                self.ack(c, step, True, change="samples written")
        except Exception as e:  # a failed generation must never take the run down
            for c in cmds:
                self.ack(c, step, False, reason=f"generation failed: {e}")

    def on_log(self, args, state, control, logs=None, **kwargs):
        logs = logs or {}
        step = state.global_step
        mem = self.mem_reader() if self.mem_reader else {}
        per_rank = dist.gather_mem(mem.get("mem_used"))
        self.eval_watch.train_loss(logs.get("loss"))  # every rank: eval guards decide the same everywhere
        if not self.is_zero:
            return
        if any(k.startswith("eval_") for k in logs):
            self.emit("eval", step=step, epoch=state.epoch,
                      **{k: v for k, v in logs.items() if k.startswith(("eval_", "general_eval_"))})
            return
        if "loss" not in logs and "grad_norm" not in logs:
            if "train_runtime" in logs:
                self.emit("summary", step=step, **logs)
            return
        now = time.perf_counter()
        recent = self._step_times[-max(1, args.logging_steps):]
        step_time = sum(recent) / len(recent) if recent else None
        tokens = logs.get("num_tokens")
        tps = None
        if isinstance(tokens, (int, float)) and self._tokens_last_log is not None and step_time:
            n_steps = max(1, len(recent))
            tps = (tokens - self._tokens_last_log) / (step_time * n_steps)
        if isinstance(tokens, (int, float)):
            self._tokens_last_log = tokens
        self._t_last_log = now
        if step <= self.logged_upto:
            return
        ev = {"step": step, "epoch": state.epoch, **logs, "step_time": step_time, "tokens_per_s": tps,
              "update_ratio": self.update_size.take(), "mem_kind": self.mem_kind, **mem}
        if self.trainer is not None and hasattr(self.trainer, "take_batch_stats"):
            ev.update(self.trainer.take_batch_stats())
        if per_rank is not None and len(per_rank) > 1:
            ev["mem_per_rank"] = per_rank
            ev["mem_used"] = max(x for x in per_rank if x is not None)
        self.emit("metrics", **ev)
        self._check_guards(step, {**logs, "update_ratio": ev.get("update_ratio")}, control)

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        """Early stopping and the overfitting guard. The best evaluation so far is saved at this step
        (and kept from checkpoint rotation), so that it can become the adapter."""
        if not self.eval_watch.active or not metrics:
            return
        step = state.global_step
        decision = self.eval_watch.evaluated(step, metrics)
        keeps_best = self.cfg.guards.early_stop is not None or self.cfg.guards.on_overfit == "stop"
        if self.eval_watch.is_best and keeps_best:
            control.should_save = True
            self._best_step = step
        if decision is not None and step not in self.guarded_steps:
            self.restore_best = self.restore_best or decision.action == "stop"
            self._guard(step, _as_dict(decision), control)

    def _check_guards(self, step: int, logs: dict[str, Any], control) -> None:
        from cockpit.advisor.guards import check_step

        decision = check_step(step, logs.get("loss"), logs.get("grad_norm"), self.cfg.thresholds, self.cfg.guards,
                              self.guard_window, logs.get("update_ratio"))
        if decision is None or step in self.guarded_steps:
            return
        self._guard(step, _as_dict(decision), control)

    def _guard(self, step: int, d: dict[str, Any], control) -> None:
        """Act on a guard decision. Runs on world zero for logged metrics; the resulting stop/pause reaches
        the other ranks as a broadcast command at the next boundary."""
        self.guarded_steps.add(step)
        action = d.get("action", "stop")
        did = {"stop": "stopped", "pause": "paused", "warn": "warned"}.get(action, action)
        self.emit("guard", step=step, rule=d.get("rule"), severity=d.get("severity"), message=d.get("message"),
                  action=did, evidence=d.get("evidence"), last_good_checkpoint=self.last_good_checkpoint)
        print(f"[cockpit guard] step {step}: {d.get('message')} -> {did}", file=sys.stderr, flush=True)
        if action in ("stop", "pause") and dist.world_size() > 1 and d.get("rule") != "nonfinite_grad":
            # Only rank 0 saw this logged value: hand the decision to every rank through the next
            # broadcast, so all of them stop or pause at the same step.
            self.injected.append({"id": "", "cmd": action, "source": f"guard:{d.get('rule')}", "internal": True})
            return
        if action == "stop":
            self.stop_reason = f"guard:{d.get('rule')}"
            control.should_training_stop = True
            self.state("stopping", step, reason=f"guard {d.get('rule')}: {d.get('message')}")
        elif action == "pause" and not self.paused:
            self.paused = True
            self.state("paused", step, reason=f"guard {d.get('rule')}")

    def save_failed(self, step: int, message: str) -> None:
        self.emit("error", message=message, traceback=None, step=step, kind_detail="save_failed")
        print(f"[cockpit] {message}", file=sys.stderr, flush=True)

    def save_recovered(self, step: int, message: str) -> None:
        """Said with the checkpoint event that follows (on_save): the save that worked again."""
        self._save_note = message
        print(f"[cockpit] {message}", file=sys.stderr, flush=True)

    def on_save(self, args, state, control, **kwargs):
        # Checkpoint writing is not training time: restart the step clock after it.
        self._t_last_step = time.perf_counter()
        step = state.global_step
        path = Path(args.output_dir) / f"checkpoint-{step}"
        if path.exists() and step == self._best_step:
            self.best_checkpoint = str(path)
            state.best_model_checkpoint = str(path)  # checkpoint rotation keeps it
        if self.is_zero and path.exists():
            self.last_good_checkpoint = str(path)
            note, self._save_note = self._save_note, None
            self.emit("checkpoint", step=step, path=str(path), reason=self.stop_reason or "save",
                      **({"note": note} if note else {}))
        for cmd in self.pending_merge:
            if self.is_zero:
                self._spawn_merge(cmd, path, step)
        self.pending_merge = []

    def _spawn_merge(self, cmd: dict[str, Any], ckpt: Path, step: int) -> None:
        """The merge runs in its own process (never inside the trainer): training goes on meanwhile."""
        from cockpit.rundir import open_run_file  # never through a link planted as merge.log

        log = os.fdopen(open_run_file(self.rd.path / "merge.log", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644), "ab")
        argv = [sys.executable, "-m", "cockpit.merge", str(self.rd.path), "--checkpoint", str(step)]
        value = cmd.get("value")
        value = {"dtype": value} if isinstance(value, str) else value  # validated: a dtype or {dtype, out}
        if isinstance(value, dict):
            for k in ("dtype", "out"):
                if value.get(k):
                    argv += [f"--{k}", str(value[k])]
        subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                         start_new_session=True, env={**os.environ, "COCKPIT_MERGE_FROM_TRAINER": "1"})
        log.close()


def _as_dict(decision: Any) -> dict[str, Any]:
    if isinstance(decision, dict):
        return decision
    return {k: getattr(decision, k, None) for k in ("rule", "severity", "message", "action", "evidence")}


def finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x)
