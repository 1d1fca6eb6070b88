"""Running one trial of a study: its config, its directory, starting it, resuming a trainer that is still
there after a restart, waiting for it, and reading its outcome into the ledger. Mixed into the Runner,
whose ledger and launcher it uses."""

from __future__ import annotations

import signal
import threading
import time
from contextlib import contextmanager
from typing import Any

from cockpit.config import RunConfig
from cockpit.study import ledger as L
from cockpit.study.patching import apply_patch, show
from cockpit.study.signals import summary
from cockpit.study.types import TrialSpec


class TrialFailed(Exception):
    """A trial could not be started, or its trainer died twice without finishing."""

    def __init__(self, stage: int, message: str):
        super().__init__(message)
        self.stage = stage


@contextmanager
def ctrl_c_after():
    """Hold a Ctrl-C until the block is done. Interrupted while a trainer is being spawned,
    cockpit.launch releases the run's lock before handing it over: the trainer runs on, unseen, and
    the continued study would start a second one. (A caught signal's handler is reset by exec, so the
    trainer itself is unaffected.)"""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    got: list[int] = []
    old = signal.signal(signal.SIGINT, lambda signum, frame: got.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)
    if got:
        raise KeyboardInterrupt


class TrialRunning:
    # ---- running trials -----------------------------------------------------------------------------

    def run_config(self, n: int, spec: TrialSpec, dirname: str) -> RunConfig:
        cfg = apply_patch(self.carried(), spec.patch)
        o = self.ledger["options"]
        steps = int(o["final_steps"] if spec.final else o["trial_steps"])
        t = cfg.training
        t.max_steps = steps
        t.save_steps = max(1, steps // 4) if spec.final else 0  # a final run resumes from checkpoints
        # A trial is judged by its start and end eval (an eval costs as much as 10-20 steps on the CPU);
        # the final run gets a curve.
        every = max(1, steps // 5) if spec.final else steps
        t.eval_steps = every if (cfg.data.eval_path or cfg.data.eval_ratio > 0) else 0
        cfg.sop_stage = n
        cfg.name = f"{self.ledger['name']}-{dirname}"
        return cfg

    def dirname(self, n: int, spec: TrialSpec, attempt: int) -> str:
        base = f"s{n}-{spec.key}" + (f"-round{self.ledger['round']}" if self.ledger["round"] > 1 else "")
        return base + (f"-{attempt}" if attempt > 1 else "")

    def run_trial(self, n: int, spec: TrialSpec) -> None:
        st = self.ledger["stages"][n]
        rec = st["trials"].get(spec.key)
        if rec and rec["state"] == "ended":
            return
        if rec is None and spec.reuse == "candidate" and self.ledger.get("candidate"):
            cand = self.ledger["candidate"]
            st["trials"][spec.key] = {
                "key": spec.key,
                "why": spec.why + f" (the same config as {cand['key']}: its run is read, not repeated)",
                "patch": spec.patch,
                "run_dir": cand["run_dir"],
                "state": "ended",
                "reused": True,
            }
            st["runs"].append(cand["run_dir"])
            self._summarise(st["trials"][spec.key])
            self.save()
            return
        if rec and rec["state"] == "running":
            status = self.launcher.status(self.dir / rec["run_dir"])
            if status == "died" and rec.get("final") and self.resume(rec):
                return
            if status == "died":
                rec.setdefault("died", []).append(rec["run_dir"])
                rec["state"] = "died"
                L.note(self.ledger, n, f"{rec['run_dir']} died without a final state: running it again")
                self.out(f"  {rec['run_dir']}: the trainer died without finishing; running it again")
                self.save()
            else:
                self.wait(rec)
                return
        died = (rec or {}).get("died", [])
        if len(died) >= 2:
            raise TrialFailed(
                n,
                f"the trainer of {spec.key} died twice without finishing ({', '.join(died)}): "
                f"see {died[-1]}/trainer.log",
            )
        self.check_budget()
        attempt = 1 + len(died)
        name = self.dirname(n, spec, attempt)
        while (self.dir / name).exists():
            attempt += 1
            name = self.dirname(n, spec, attempt)
        rec = {
            **(rec or {}),
            "key": spec.key,
            "why": spec.why,
            "patch": spec.patch,
            "run_dir": name,
            "state": "running",
            "final": spec.final,
            "started": round(time.time(), 1),
        }
        st["trials"][spec.key] = rec
        st["runs"].append(name)
        self.ledger["runs_started"] += 1
        self.save()  # recorded before it starts: a crash from here on finds it and checks on it
        cfg = self.run_config(n, spec, name)
        self.out(f"  run {name}: {spec.why} [{show(spec.patch)}], {cfg.training.max_steps} steps")
        try:
            with ctrl_c_after():
                self.launcher.start(cfg, self.dir / name)
        except Exception as e:  # LaunchError, or a config the trainer refuses: the stage blocks with it
            rec["state"] = "failed"
            raise TrialFailed(n, f"{name} could not start: {e}") from None
        self.wait(rec)

    def resume(self, rec: dict[str, Any]) -> bool:
        """A final run that died after a checkpoint continues from it (`cockpit resume`) instead of
        starting over; False when there is no checkpoint or the resume is refused."""
        path = self.dir / rec["run_dir"]
        if not hasattr(self.launcher, "resume") or not any((path / "checkpoints").glob("checkpoint-*")):
            return False
        try:
            with ctrl_c_after():
                self.launcher.resume(path)
        except Exception as e:  # LaunchError: an edited config, a lock held; a fresh run is the way out
            self.out(f"  {rec['run_dir']}: cannot resume ({e}); running it again")
            return False
        rec.setdefault("resumed", []).append(round(time.time(), 1))
        L.note(self.ledger, None, f"{rec['run_dir']} died; resumed from its last checkpoint")
        self.out(f"  {rec['run_dir']}: the trainer died; resumed from its last checkpoint")
        self.save()
        self.wait(rec)
        return True

    def wait(self, rec: dict[str, Any]) -> None:
        path = self.dir / rec["run_dir"]
        shown, said = time.monotonic(), ""
        while (status := self.launcher.status(path)) == "running":
            time.sleep(self.poll)
            if time.monotonic() - shown >= 15:
                shown = time.monotonic()
                # every 15 s, only what moved: a slow model load printed "starting" a dozen times over
                if (now := self.launcher.progress(path)) != said:
                    said = now
                    self.out(f"    {rec['run_dir']}: {now}")
        if status == "died":
            rec.setdefault("died", []).append(rec["run_dir"])
            rec["state"] = "died"
            self.save()
            return
        rec["state"], rec["ended"] = "ended", round(time.time(), 1)
        self._summarise(rec)
        s = rec.get("summary") or {}
        self.out(
            f"    {rec['run_dir']}: {s.get('state')} at step {s.get('steps')}, {s.get('verdict')}: {s.get('reason')}"
        )
        self.save()

    def _summarise(self, rec: dict[str, Any]) -> None:
        try:
            rec["summary"] = summary(self.load_trial(rec))
        except (OSError, ValueError) as e:
            rec["summary"] = {"error": str(e)}
