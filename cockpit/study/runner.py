"""The study's loop: ask the current stage's decision function, run the trials it wants (one at a time,
each an ordinary run directory inside the study), record its decision, go on. Everything it knows is
in `study.json`, rewritten after every change, so a killed study continues where it stopped."""

from __future__ import annotations

import dataclasses
import math
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from cockpit.config import RunConfig
from cockpit.logs import resolve
from cockpit.study import ledger as L
from cockpit.study.data_check import run_audit
from cockpit.study.decide import decide
from cockpit.study.lr_range import model_width
from cockpit.study.merge_offer import offer_merge
from cockpit.study.patching import apply_patch, show
from cockpit.study.prompt import BY_DEFAULT, Asker
from cockpit.study.trials import TrialFailed, TrialRunning
from cockpit.study.types import Outcome, StageInput, Trial

EXIT_DONE, EXIT_PAUSED, EXIT_BLOCKED, EXIT_ASKS = 0, 1, 2, 3
BACKTRACK_FROM = 3  # stage 7 returns to the lr sweep; stages 3-7 start over with the new structure


class BudgetSpent(Exception):
    """The study's run or time budget is spent; the message says which."""


class StudyStopped(Exception):
    """The study cannot go on: a trial's directory is gone, the ledger was edited into something it
    cannot read, the disk is full. The message names the file and the trial; the ledger says so too
    (when it can still be written)."""


class TrialGone(StudyStopped, OSError):
    """A trial's run directory is gone (deleted to free space): an OSError too, so a reader that can do
    without that trial (an `except OSError`) skips it, and the loop stops with this message otherwise."""


LEDGER_TROUBLE = (OSError, KeyError, TypeError, AttributeError, IndexError, ValueError)
"""What a deleted trial directory, a hand-edited ledger or a full disk raises inside the loop."""


def clean(x: Any) -> Any:
    """JSON-safe: NaN and inf become null (the ledger is strict JSON), tuples lists, numpy scalars numbers."""
    if isinstance(x, dict):
        return {str(k): clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [clean(v) for v in x]
    if hasattr(x, "item") and not isinstance(x, (str, bytes)):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


PERSON = re.compile(r"\b(?:a|the) person\b(?!')")


def credited(out: Outcome, st: dict[str, Any]) -> Outcome:
    """A decision taken on a default answer (--accept-defaults) says so: nobody chose it, whatever
    the stage's wording ("a person accepted it") assumes."""
    if BY_DEFAULT not in (st.get("answered_by") or {}).values():
        return out
    by = f"{BY_DEFAULT} (the default answer)"

    def swap(x: Any) -> Any:
        if isinstance(x, str):
            return PERSON.sub(by, x)
        if isinstance(x, dict):
            return {k: swap(v) for k, v in x.items()}
        if isinstance(x, list):
            return [swap(v) for v in x]
        return x

    return dataclasses.replace(out, reason=swap(out.reason), evidence=swap(out.evidence))


class Runner(TrialRunning):
    """The stage loop over the ledger; starting, resuming and waiting for trials is `TrialRunning`'s."""

    def __init__(
        self,
        study_dir: Path,
        *,
        auto: bool,
        asker: Asker,
        launcher: Any,
        out: Callable[[str], None] = print,
        poll: float = 1.0,
        audit: Callable[[RunConfig], dict[str, Any]] | None = None,
    ):
        self.dir = Path(study_dir)
        self.audit = audit or run_audit
        self.auto, self.asker, self.launcher, self.out, self.poll = auto, asker, launcher, out, poll
        self.ledger = L.load(self.dir)
        self.reading: dict[str, Any] | None = None
        """The trial record being read back: named when that fails."""
        self.session_start = time.monotonic()
        self.elapsed_before = float(self.ledger.get("elapsed_s") or 0.0)

    # ---- bookkeeping ------------------------------------------------------------------------------

    def save(self) -> None:
        self.ledger["elapsed_s"] = round(self.elapsed_before + time.monotonic() - self.session_start, 1)
        try:
            L.save(self.dir, clean(self.ledger))
        except OSError as e:  # a full disk, a folder turned read-only
            raise StudyStopped(f"{self.dir / L.STUDY_FILE}: cannot write: {e.strerror or e}") from None

    def carried(self) -> RunConfig:
        return RunConfig.model_validate(self.ledger["config"])

    def check_budget(self) -> None:
        o = self.ledger["options"]
        if o.get("max_runs") is not None and self.ledger["runs_started"] >= o["max_runs"]:
            raise BudgetSpent(f"the run budget is spent ({self.ledger['runs_started']} of --max-runs {o['max_runs']})")
        hours = (self.elapsed_before + time.monotonic() - self.session_start) / 3600
        if o.get("max_hours") is not None and hours >= o["max_hours"]:
            raise BudgetSpent(f"the time budget is spent ({hours:.2f} h of --max-hours {o['max_hours']:g})")

    # ---- reading trials back ------------------------------------------------------------------------

    def load_trial(self, rec: dict[str, Any]) -> Trial:
        self.reading = rec
        path = self.dir / rec["run_dir"]
        if not (path / "config.yaml").is_file():
            raise TrialGone(
                f"{path}: the run directory of trial '{rec['key']}' is gone or holds no config.yaml; the "
                "study's decisions read it: put it back, or start a new study"
            )
        cfg = RunConfig.model_validate(yaml.safe_load((path / "config.yaml").read_text()) or {})
        trial = Trial(rec["key"], dict(rec.get("patch") or {}), cfg, resolve(path).history(), str(path))
        self.reading = None
        return trial

    def stage_input(self, n: int) -> StageInput:
        st = self.ledger["stages"][n]
        trials = {k: self.load_trial(r) for k, r in st["trials"].items() if r.get("state") == "ended"}
        cand = self.ledger.get("candidate")
        return StageInput(
            stage=n,
            config=self.carried(),
            trials=trials,
            candidate=self.load_trial(cand) if cand else None,
            answers=dict(st.get("answers") or {}),
            reference_eval_loss=self.ledger.get("reference_eval_loss"),
            audit=self.ledger.get("audit"),
            backtracked=tuple(self.ledger.get("backtracked") or ()),
            model_width=self.model_width() if n == 3 else None,
            runs_left=self.runs_left(),
            measured=self.measured() if n == 8 else (),
        )

    def runs_left(self) -> int | None:
        cap = self.ledger["options"].get("max_runs")
        return None if cap is None else max(0, cap - self.ledger["runs_started"])

    def model_width(self) -> int | None:
        if "model_width" not in self.ledger:
            self.ledger["model_width"] = model_width(self.carried().model.name_or_path)
        return self.ledger["model_width"]

    def measured(self) -> tuple[Trial, ...]:
        """This round's ended short trials from every stage, each run once (a reused one is the same run),
        keyed `s<stage>-<key>` so equal keys of two stages stay apart."""
        out, seen = [], set()
        for st in self.ledger["stages"][:8]:
            for key, rec in st["trials"].items():
                if rec.get("state") != "ended" or rec.get("final") or rec["run_dir"] in seen:
                    continue
                seen.add(rec["run_dir"])
                try:
                    t = self.load_trial(rec)
                except (OSError, ValueError):  # a trial directory gone: it cannot be a candidate any more
                    continue
                t.key = f"s{st['stage']}-{key}"
                out.append(t)
        return tuple(out)

    # ---- the loop -----------------------------------------------------------------------------------

    def take_answers(self) -> None:
        """`--answer` given again for a question a stage recorded but has not acted on (it blocked on
        the old answer, or the merge was declined): the new answer replaces the recorded one."""
        n = L.current_stage(self.ledger)
        given = self.asker.given
        if n is not None:
            st = self.ledger["stages"][n]
            for qid, old in list((st.get("answers") or {}).items()):
                if qid in given and given[qid] != old:
                    del st["answers"][qid]  # asked again at once: the asker gives the new one
                    L.note(self.ledger, n, f"answer {qid}: {old} replaced by {given[qid]} (--answer)")
        extra = self.ledger["stages"][-1].get("extra") or {}
        if n is None and given.get("merge") == "yes" and extra.get("merge") == "declined":
            del extra["merge"]  # offered again: finish() merges
            L.note(self.ledger, 8, "merge: declined replaced by yes (--answer)")

    def run(self) -> int:
        """The loop, with what stops it written back: the ledger never says `running` after it ended."""
        try:
            return self._run()
        except StudyStopped as e:
            raise self.stopped(str(e)) from None
        except LEDGER_TROUBLE as e:
            raise self.stopped(self.trouble(e)) from None
        except Exception as e:  # a bug: the ledger must still not say `running`
            self.stopped(f"{type(e).__name__}: {e}")
            raise

    def _run(self) -> int:
        self.ledger["state"], self.ledger["reason"] = "running", ""
        self.take_answers()
        self.save()
        try:
            while (n := L.current_stage(self.ledger)) is not None:
                code = self.step(n)
                if code is not None:
                    return code
        except BudgetSpent as e:
            self.ledger["state"], self.ledger["reason"] = "paused", str(e)
            L.note(self.ledger, L.current_stage(self.ledger), f"paused: {e}")
            self.save()
            self.out(f"study paused: {e}; `cockpit study {self.dir} --max-runs N --max-hours H` continues")
            return EXIT_PAUSED
        except TrialFailed as e:
            return self.block(e.stage, Outcome("blocked", reason=str(e)), EXIT_BLOCKED)
        self.ledger["state"] = "done"
        self.save()
        self.finish()
        return EXIT_DONE

    def trouble(self, e: Exception) -> str:
        """What went wrong, naming the file and, when one was being read, the trial."""
        if isinstance(e, OSError) and e.filename:
            what = f"{e.filename}: {e.strerror or e}"
        else:
            what = f"{self.dir / L.STUDY_FILE}: unexpected content ({type(e).__name__}: {e})"
        rec = getattr(self, "reading", None)
        if isinstance(rec, dict):
            where = f", {self.dir / rec['run_dir']}" if isinstance(rec.get("run_dir"), str) else ""
            what += f" (trial '{rec.get('key')}'{where})"
        return what

    def stopped(self, message: str) -> StudyStopped:
        """Write the stop into the ledger (best effort: the disk may be full) and return the error."""
        self.ledger["state"], self.ledger["reason"] = "blocked", message
        try:
            L.note(self.ledger, None, f"stopped: {message}")
            self.save()
        except StudyStopped:
            message += "; it keeps its last complete state (free space, then `cockpit study DIR` continues)"
        except Exception as e:  # noqa: BLE001 - the ledger itself may be what is broken
            message += f"; {self.dir / L.STUDY_FILE} could not be updated ({type(e).__name__}: {e})"
        return StudyStopped(message)

    def finish(self) -> None:
        """The study is complete: offer the merge once (until it is answered or done)."""
        final = self.ledger["stages"][-1]
        extra = final.setdefault("extra", {})
        if "merge_command" not in extra or extra.get("merge") in ("merged", "declined"):
            return
        run_dir = self.dir / final["trials"][extra.get("final_trial", "final")]["run_dir"]
        got = offer_merge(run_dir, resolve(run_dir).history(), self.asker, lambda d: self.launcher.merge(d), self.out)
        if got is not None:
            extra.update(got)
            L.note(self.ledger, 8, f"merge: {got['merge']}")
            self.save()

    def step(self, n: int) -> int | None:
        st = self.ledger["stages"][n]
        if n == 0:
            self.ledger["audit"] = self.audit(self.carried())
        out = decide(self.stage_input(n))
        st["sop"] = out.sop
        if out.kind == "run":
            if st["state"] != "running":
                st["state"] = "running"
                self.out(f"stage {n} {st['name']}:")
            for spec in out.trials:
                self.run_trial(n, spec)
            return None
        if out.kind == "ask":
            answer = self.asker.answer(out.question)
            if answer is None:
                return self.block(n, out, EXIT_ASKS, question=out.question)
            st["answers"][out.question.id] = answer
            st.setdefault("answered_by", {})[out.question.id] = self.asker.source
            st["question"] = None
            L.note(self.ledger, n, f"answer {out.question.id}={answer} ({self.asker.source})")
            self.save()
            return None
        out = credited(out, st)
        if out.kind == "blocked":
            return self.block(n, out, EXIT_BLOCKED)
        if not self.record(n, out):
            return EXIT_BLOCKED
        nxt = L.current_stage(self.ledger)
        if nxt is not None and not self.auto and not self.asker.confirm(f"go on to stage {nxt}?"):
            self.ledger["state"], self.ledger["reason"] = "paused", f"waiting to start stage {nxt}"
            self.save()
            self.out(f"stopped before stage {nxt}; `cockpit study {self.dir}` continues (--auto runs through)")
            return EXIT_PAUSED
        return None

    def block(self, n: int, out: Outcome, code: int, question=None) -> int:
        st = self.ledger["stages"][n]
        st.update(
            state="blocked",
            reason=out.reason or (question.text if question else ""),
            evidence=out.evidence,
            question=dataclasses.asdict(question) if question else None,
        )
        self.ledger["state"], self.ledger["reason"] = "blocked", st["reason"]
        L.note(self.ledger, n, f"blocked: {st['reason']}")
        self.save()
        if question:
            self.out(
                f"stage {n} {st['name']} asks: {question.text}\n  answer with `cockpit study {self.dir} "
                f"--answer {question.id}={question.default}` (or run it in a terminal, or --accept-defaults)"
            )
        else:
            self.out(f"stage {n} {st['name']} blocked: {st['reason']}")
        return code

    def record(self, n: int, out: Outcome) -> bool:
        """Write the stage's decision into the ledger; False when it blocked instead (no adapter at the end)."""
        st = self.ledger["stages"][n]
        if n == 8 and out.kind == "done" and out.candidate:
            adapter = self.dir / st["trials"][out.candidate]["run_dir"] / "adapter" / "adapter_config.json"
            if not adapter.exists():
                self.block(
                    n,
                    Outcome(
                        "blocked",
                        sop=out.sop,
                        evidence=out.evidence,
                        reason=f"the final run left no adapter ({adapter})",
                    ),
                    EXIT_BLOCKED,
                )
                return False
        st.update(
            state="skipped" if out.kind == "skipped" else "done",
            decision=out.patch,
            reason=out.reason,
            evidence=out.evidence,
            question=None,
            **({"extra": out.extra} if out.extra else {}),
        )
        self.ledger["config"] = apply_patch(self.carried(), out.patch).model_dump(mode="json")
        if out.candidate:
            rec = st["trials"][out.candidate]
            self.ledger["candidate"] = {
                "stage": n,
                "key": out.candidate,
                "run_dir": rec["run_dir"],
                "patch": rec["patch"],
            }
        if "reference_eval_loss" in out.extra:
            self.ledger["reference_eval_loss"] = out.extra["reference_eval_loss"]
        L.note(self.ledger, n, f"{st['state']}: {show(out.patch)}: {out.reason}")
        self.out(
            f"stage {n} {st['name']}: {st['state']}: {out.reason}"
            + (f"\n  carried forward: {show(out.patch)}" if out.patch else "")
        )
        if out.kind == "back":
            self.backtrack(n, out)
        self.save()
        return True

    def backtrack(self, n: int, out: Outcome) -> None:
        stages = self.ledger["stages"]
        self.ledger["earlier_rounds"].append(
            {"round": self.ledger["round"], "stages": [stages[i] for i in range(BACKTRACK_FROM, n + 1)]}
        )
        self.ledger.setdefault("backtracked", []).append({"round": self.ledger["round"], "patch": out.patch})
        for i in range(BACKTRACK_FROM, n + 1):
            stages[i] = L.empty_stage(i)
        self.ledger["round"] += 1
        self.out(f"  back to stage {BACKTRACK_FROM} (round {self.ledger['round']})")
