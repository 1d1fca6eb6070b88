"""The advisor: SOP stage, standing findings (most severe first) with evidence, the next action."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text

from cockpit.severity import ICON, THEME_VARIABLE
from cockpit.tui.widgets.panel import Panel


class AdvisorPanel(Panel):
    DEFAULT_CSS = """
    AdvisorPanel { border: round $panel-lighten-2; padding: 0 1; height: 9; }
    AdvisorPanel:light { border: round $panel-darken-1; }
    AdvisorPanel.-danger { border: heavy $error; }
    AdvisorPanel.-warn { border: round $warning; }
    """

    def show(self, advice, *, can_apply: bool, compact: bool = False, run_dir=None, script=None) -> None:
        max_findings = 1 if compact else 4
        v = self.app.theme_variables
        t = Text()
        if advice is None:
            t.append("advisor: waiting for metrics…", style="dim")
            self.update(t)
            return
        a = advice.next_action
        # A study's run: its stage and the SOP map come from study.json, not from a guess over the config.
        study = study_line(t, run_dir)
        in_study = study is not None
        stage = f"SOP stage {advice.stage}: {advice.stage_name}"
        # At 80x24 the panel has 4 rows: the stage goes on its border, so a finding that wraps onto three
        # rows leaves the next action its row (it was cut off below the finding).
        self.border_title = stage if compact and not in_study else None
        if not in_study and not compact:
            t.append(stage, style="bold")
        if advice.stage_needs and not compact and a is not None and not in_study:
            t.append(f"  · needs: {advice.stage_needs[0]}", style="dim")
        if in_study or not compact:
            t.append("\n")
        if not advice.findings:
            t.append(f"{ICON['ok']} ", style=v.get(THEME_VARIABLE["ok"], ""))
            t.append(advice.verdict + "\n")
        for f in advice.findings[:max_findings]:
            color = v.get(THEME_VARIABLE[f.severity], "")
            t.append(f"{ICON[f.severity]} {f.severity.upper():<9}", style=f"bold {color}")
            span = (
                f" [{f.first_step}-{f.last_step}]"
                if f.first_step is not None and f.first_step != f.last_step
                else (f" [{f.first_step}]" if f.first_step is not None else "")
            )
            t.append(f"{f.message}{span}")
            if f.folded and not compact:  # symptoms this cause explains: their own advice is moot
                t.append(f" (explains {', '.join(k.rule for k in f.folded)})", style="dim")
            t.append("\n")
        more = len(advice.findings) - max_findings
        if more > 0 and self.border_title:
            self.border_title += f" · +{more} more"
        elif more > 0:
            t.append(f"  +{more} more\n", style="dim")
        if a is None and in_study:  # the study, not this run's stage, says what comes next
            from cockpit.study.ledger import next_step

            t.append("next: ", style="bold")
            t.append(next_step(study, Path(run_dir).parent))
        elif a is None and advice.stage_needs:
            # No action to apply: what the SOP stage still needs is the next step (done outside this run).
            need = advice.stage_needs[0]
            from cockpit.tui.advice_text import command_in

            t.append("next (a new run): " if command_in(need) else "next: ", style="bold")
            t.append(need)
        if a is not None:
            from cockpit.tui.advice_text import new_run

            fresh = new_run(a, None, can_write=can_apply, script=script)  # no paths: the panel is narrow
            # Compact: the shorter words keep "[a] write config" on the row at 80 columns.
            new_run_words = "new run: " if compact else "next (a new run): "
            t.append(new_run_words if fresh else "next: ", style="bold")
            t.append(a.label, style=f"bold {v.get('accent', '')}")
            if can_apply and (a.command or (a.config_patch and script is None)):
                write = "  [a] write config" if compact else "  [a] write next config"
                t.append("  [a] apply" if a.command else write, style=f"bold {v.get('accent', '')}")
            if fresh:  # before the description: the panel's last lines are the first cut
                t.append(f"\n  {fresh.removeprefix('a new run: ')}", style="dim")  # the label said so
            if not compact:
                t.append(f"\n  {a.description}" if fresh else f" — {a.description}")
        worst = advice.worst
        self.set_class(worst in ("danger", "critical"), "-danger")
        self.set_class(worst == "warn", "-warn")
        self.update(t)


def study_line(t: Text, run_dir) -> dict | None:
    """When the run belongs to a study, append the study's stage and its SOP map to t and return the
    study's ledger; None otherwise."""
    if run_dir is None:
        return None
    from cockpit.advisor.stage import MAP_MARK, STAGES, sop_map, study_stage
    from cockpit.study.ledger import study_of

    ledger = study_of(run_dir)
    if ledger is None:
        return None
    states = [s.get("state", "todo") for s in ledger["stages"]]
    n = study_stage(states)
    t.append(f"study: stage {n} {STAGES[n]}  " if n is not None else "study: complete  ", style="bold")
    t.append(" ".join(f"{i}{MAP_MARK[m]}" for i, _, m in sop_map(states)), style="dim")
    return ledger
