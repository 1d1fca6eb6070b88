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
        head = f"samples @ step {last_step}"
        t.append(head, style="bold")
        t.append(f"{header_hint(len(samples), self.content_size.width - len(head))}\n", style="dim")
        for s, sc in latest:
            prompt = str(s.get("prompt", "")).replace("\n", " ⏎ ")
            t.append(f"› {prompt[:40]}", style="dim")
            t.append(f"  {shown(s).strip()!r}")
            if sc.bad:  # the monitoring notes' look at the samples: repetition, garbage, template leakage
                t.append(f"  ⚠ {sc.summary()}", style="bold yellow")
            t.append("\n")
        self.update(t)


def header_hint(n: int, room: int) -> str:
    """The header's hint, the longest that fits on its line: a wrapped header pushed a sample out of sight
    and split "(12 in all, v" from "shows them)"."""
    for hint in (f"  ({n} in all, v shows them)", f"  ({n}, v shows all)", f"  ({n})"):
        if len(hint) <= room or room <= 0:  # no width yet (not laid out): the full hint
            return hint
    return ""
