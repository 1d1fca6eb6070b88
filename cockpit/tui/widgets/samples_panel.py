"""The latest generations the trainer made for the config's sample prompts."""

from __future__ import annotations

from rich.text import Text

from cockpit.tui.widgets.panel import Panel


class SamplesPanel(Panel):
    DEFAULT_CSS = """
    SamplesPanel { border: round $panel-lighten-2; padding: 0 1; height: 1fr; min-height: 3; }
    SamplesPanel:light { border: round $panel-darken-1; }
    """

    def show(self, samples: list[dict], *, can_ask: bool = True) -> None:
        t = Text()
        if not samples:
            t.append("samples: none yet (g asks for some)" if can_ask else "samples: none in this run", style="dim")
            self.update(t)
            return
        from cockpit.sample_signals import score_all, shown

        last_step = samples[-1].get("step")
        latest = [(s, sc) for s, sc in score_all(samples) if s.get("step") == last_step]
        t.append(f"samples @ step {last_step}", style="bold")
        t.append(f"  ({len(samples)} in all, v shows them)\n", style="dim")
        for s, sc in latest:
            prompt = str(s.get("prompt", "")).replace("\n", " ⏎ ")
            t.append(f"› {prompt[:40]}", style="dim")
            t.append(f"  {shown(s).strip()!r}")
            if sc.bad:  # the monitoring notes' look at the samples: repetition, garbage, template leakage
                t.append(f"  ⚠ {sc.summary()}", style="bold yellow")
            t.append("\n")
        self.update(t)
