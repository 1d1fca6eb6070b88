"""The latest generations the trainer made for the config's sample prompts."""

from __future__ import annotations

from rich.text import Text
from cockpit.tui.widgets.panel import Panel


class SamplesPanel(Panel):
    DEFAULT_CSS = """
    SamplesPanel { border: round $panel-lighten-2; padding: 0 1; height: 1fr; min-height: 3; }
    """

    def show(self, samples: list[dict], *, can_ask: bool = True) -> None:
        t = Text()
        if not samples:
            t.append("samples: none yet (g asks for some)" if can_ask else "samples: none in this run", style="dim")
            self.update(t)
            return
        last_step = samples[-1].get("step")
        latest = [s for s in samples if s.get("step") == last_step]
        t.append(f"samples @ step {last_step}", style="bold")
        t.append(f"  ({len(samples)} in all, v shows them)\n", style="dim")
        for s in latest:
            prompt = str(s.get("prompt", "")).replace("\n", " ⏎ ")
            t.append(f"› {prompt[:40]}", style="dim")
            t.append(f"  {str(s.get('completion', '')).strip()!r}\n")
        self.update(t)
