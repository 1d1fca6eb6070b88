"""The control keys of the live screen: each sends one command to the trainer through control.jsonl,
the destructive ones (stop, merge, applying advice) after a confirmation. Once the run is over there is
no trainer to ask: `m` then starts the merge itself."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text

from cockpit.tui.modals import ConfirmModal, LrModal
from cockpit.tui.study_step import (
    STUDY_LOG,
    continue_study,
    finished_study_line,
    next_step,
    open_study,
    running_pid,
)


class ControlActions:
    """Mixed into `LiveScreen`, which gives it `run_dir`, `history`, `pending`, `event_log`, `pacer`,
    `advice()`, `can_control()`, `merge_source()`, `why_not()`, `notify()` and `_open()`."""

    def _send(self, action: str, value: str | None = None) -> None:
        from cockpit.control import CommandError, send

        try:
            cmd = send(self.run_dir, action, value, source="tui")
        except CommandError as e:
            self.notify(str(e), severity="error", title="not sent")
            return
        self.pending[cmd["id"]] = cmd
        val = f" {cmd['value']:g}" if isinstance(cmd.get("value"), float) else ""
        self.event_log.add_line(
            "sent", Text(f"{' ' * 9}⧗ {cmd['cmd']}{val} sent, waiting for the trainer…", style="yellow")
        )
        self.pacer.dirty = True

    def action_pause(self) -> None:
        self._send("pause")

    def action_resume(self) -> None:
        self._send("resume")

    def action_lr_half(self) -> None:
        self._send("lr", "x0.5")

    def action_lr_double(self) -> None:
        self._send("lr", "x2")

    def action_set_lr(self) -> None:
        lr = self.history.last("learning_rate")

        def done(value: str | None) -> None:
            if value:
                self._send("lr", value)

        self._open(LrModal(lr if lr == lr else None), done)

    def action_save(self) -> None:
        self._send("save")

    def action_samples(self) -> None:
        self._send("sample")

    def _send_if_confirmed(self, question: ConfirmModal, action: str) -> None:
        """Ask `question`; send `action` once the answer is yes."""

        def done(ok: bool | None) -> None:
            if ok:
                self._send(action)

        self._open(question, done)

    def action_stop(self) -> None:
        self._send_if_confirmed(
            ConfirmModal(
                "Stop the run?",
                f"The trainer saves a checkpoint and the adapter ({self.run_dir}/adapter), "
                "then ends with state 'stopped'. `cockpit resume` can continue it later.",
                danger=True,
                yes="Stop",
            ),
            "stop",
        )

    def action_merge(self) -> None:
        cfg = self.history.config
        q = (cfg.get("model") or {}).get("quantization", "none")
        note = (
            "\nThe base was trained 4-bit: it is reloaded unquantized for the merge." if q in ("4bit", "8bit") else ""
        )
        source = self.merge_source()
        if source is not None:  # the run is over: no trainer to ask, the cockpit starts the merge itself
            if (Path(self.run_dir) / "merged").exists():
                note += f"\n{self.run_dir}/merged exists: the merge refuses to replace it (cockpit merge --force does)."
            self._open(
                ConfirmModal(
                    "Merge the adapter?",
                    f"source: {source}\noutput: {self.run_dir}/merged\n"
                    "dtype:  fp32 (cockpit merge --dtype bf16 for another)\nThe merge runs in its own "
                    f"process and is verified; the event log shows how it goes ({self.run_dir}/merge.log).{note}",
                    yes="Merge",
                ),
                lambda ok: self._merge_now() if ok else None,
            )
            return
        self._send_if_confirmed(
            ConfirmModal(
                "Merge the adapter?",
                f"source: a checkpoint saved now (step {self.history.step}), in {self.run_dir}/checkpoints\n"
                f"output: {self.run_dir}/merged\ndtype:  fp32 (cockpit merge --dtype bf16 for another)\n"
                f"The merge runs in its own process and is verified; training continues.{note}",
                yes="Merge",
            ),
            "merge",
        )

    def _merge_now(self) -> None:
        from cockpit.merge.spawn import spawn_merge

        try:
            spawn_merge(self.run_dir)
        except OSError as e:
            self.notify(f"the merge did not start: {e}", title="m", severity="error")
            return
        self.notify(f"merging into {self.run_dir}/merged; `merge` events follow", title="m: merge started")

    def action_apply_advice(self) -> None:
        done = finished_study_line(self.run_dir)
        if done is not None:  # the study decided what this run was for; there is no next step to apply
            self.notify(done, title="a: study", timeout=10)
            return
        a = self.advice()
        study = open_study(self.run_dir)
        if study is not None and (not a or not a.next_action or not self.can_control()):
            self._offer_study_step(study)  # this run's own advice is moot: the study decides what comes next
            return
        if not a or not a.next_action:
            self.notify(self.why_not("apply_advice") or "no advice", title="a: not now", severity="warning")
            return
        act = a.next_action
        live = act.command is not None and self.can_control()
        script = self.history.script  # a user's own script: no config of ours to write a next one from
        if not live and (not act.config_patch or script is not None):  # a new run this cockpit cannot write
            from cockpit.tui.advice_text import new_run

            line = new_run(act, self.run_dir, script=script)
            self.notify(f"{act.label}: {line}", title="a: nothing to send", timeout=8)
            return
        if live:
            what = f"send `{act.command['cmd']}" + (f" {act.command['value']}" if "value" in act.command else "") + "`"
        else:
            from cockpit.advisor import patch_to_set_args

            what = f"write {self.run_dir}/next-config.yaml with {patch_to_set_args(act.config_patch or {})}"

        def done(ok: bool | None) -> None:
            if not ok:
                return
            if live:
                cmd = act.command
                if cmd["cmd"] == "scale_lr":
                    self._send("lr", f"x{cmd['value']}")
                elif cmd["cmd"] == "set_lr":
                    self._send("lr", str(cmd["value"]))
                else:
                    self._send(cmd["cmd"])
            elif act.config_patch and self.run_dir is not None:
                from cockpit.config.patches import write_next_config

                try:
                    path = write_next_config(self.run_dir, act.config_patch)
                    self.notify(f"wrote {path}", title="next config")
                    self.event_log.add_line("advice", Text(f"{' ' * 9}✎ next config: {path}", style="cyan"))
                except Exception as e:
                    self.notify(str(e), severity="error")

        self._open(
            ConfirmModal(
                f"Apply: {act.label}?",
                f"{act.description}\n\nThis will {what}" + ("" if live else ", for a new run") + ".",
                yes="Apply",
            ),
            done,
        )

    def _offer_study_step(self, study: Path) -> None:
        pid = running_pid(study)
        if pid is not None:
            self.notify(
                f"the study is running (pid {pid or '?'}): it takes its next step itself", title="a: study", timeout=8
            )
            return
        step, startable = next_step(study)
        if not startable:  # continuing would only stop at the same place: say what it needs instead
            self.notify(step, title="a: study", timeout=10)
            return

        def done(ok: bool | None) -> None:
            if not ok:
                return
            proc = continue_study(study)
            line = f"study continued: `cockpit study {study} --auto` (pid {proc.pid}), output in {study / STUDY_LOG}"
            self.notify(line, title="study", timeout=8)
            self.event_log.add_line("advice", Text(f"{' ' * 9}▶ {line}", style="cyan"))

        self._open(
            ConfirmModal(
                "Continue the study?",
                f"{step}\n\nThis will run `cockpit study {study} --auto` in the background (output in "
                f"{study / STUDY_LOG}); it stops by itself where only a person can judge.",
                yes="Continue",
            ),
            done,
        )
