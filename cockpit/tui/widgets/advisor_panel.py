"""The advisor: SOP stage, standing findings (most severe first) with evidence, the next action."""

from __future__ import annotations

from rich.text import Text
from cockpit.tui.widgets.panel import Panel

from cockpit.tui.bands import SYMBOL

SEV_VAR = {"ok": "success", "warn": "warning", "danger": "error", "critical": "error"}


class AdvisorPanel(Panel):
    DEFAULT_CSS = """
    AdvisorPanel { border: round $panel-lighten-2; padding: 0 1; height: 9; }
    AdvisorPanel.-danger { border: heavy $error; }
    AdvisorPanel.-warn { border: round $warning; }
    """

    def show(self, advice, *, can_apply: bool, compact: bool = False) -> None:
        max_findings = 1 if compact else 4
        v = self.app.theme_variables
        t = Text()
        if advice is None:
            t.append("advisor: waiting for metrics…", style="dim")
            self.update(t)
            return
        t.append(f"SOP stage {advice.stage}: {advice.stage_name}", style="bold")
        a = advice.next_action
        if advice.stage_needs and not compact and a is not None:
            t.append(f"  · needs: {advice.stage_needs[0]}", style="dim")
        t.append("\n")
        if not advice.findings:
            t.append(f"{SYMBOL['ok']} ", style=v.get("success", ""))
            t.append(advice.verdict + "\n")
        for f in advice.findings[:max_findings]:
            color = v.get(SEV_VAR[f.severity], "")
            t.append(f"{SYMBOL[f.severity]} {f.severity.upper():<9}", style=f"bold {color}")
            span = f" [{f.first_step}-{f.last_step}]" if f.first_step is not None and f.first_step != f.last_step \
                else (f" [{f.first_step}]" if f.first_step is not None else "")
            t.append(f"{f.message}{span}")
            if f.folded and not compact:  # symptoms this cause explains: their own advice is moot
                t.append(f" (explains {', '.join(k.rule for k in f.folded)})", style="dim")
            t.append("\n")
        more = len(advice.findings) - max_findings
        if more > 0:
            t.append(f"  +{more} more\n", style="dim")
        if a is None and advice.stage_needs:
            # No action to apply: what the SOP stage still needs is the next step (done outside this run).
            t.append("next: ", style="bold")
            t.append(advice.stage_needs[0])
        if a is not None:
            t.append("next: ", style="bold")
            t.append(a.label, style=f"bold {v.get('accent', '')}")
            if not compact:
                t.append(f" — {a.description}")
            if can_apply:
                t.append("  [a] apply", style=f"bold {v.get('accent', '')}")
            elif a.config_patch and not a.command:
                t.append("  [a] write next config", style="dim")
        worst = advice.worst
        self.set_class(worst in ("danger", "critical"), "-danger")
        self.set_class(worst == "warn", "-warn")
        self.update(t)
