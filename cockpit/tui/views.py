"""The views every cockpit screen opens over the charts: the zoom, all samples, the last traceback, the help."""

from __future__ import annotations

from rich.text import Text

from cockpit.logs.downsample import minmax_points
from cockpit.tui.chart import threshold_lines
from cockpit.tui.modals import TextModal, ZoomModal
from cockpit.tui.widgets.metric import MetricPanel


class ViewActions:
    """Mixed into `CockpitScreen`, which gives it `history`, `thresholds()`, `focused`, `query_one` and `_open()`."""

    def action_zoom(self) -> None:
        focused = self.focused if isinstance(self.focused, MetricPanel) else self.query_one("#m-loss", MetricPanel)
        th = self.thresholds()
        bands = threshold_lines(focused.key, th, focused.total)
        marks = [(m.step, m.label) for m in self.history.marks if m.kind in ("ack", "guard")]
        # Min/max per bucket: plotext draws 2,000 points at once, not a long run's 100,000, and keeps the spikes.
        steps, values = minmax_points(self.history.steps, self.history.series[focused.key], 2000)
        self._open(ZoomModal(focused.title, steps, values, bands, marks))

    def action_compare(self) -> None:
        """The compare view of the study or sweep this run belongs to, this run highlighted."""
        from pathlib import Path

        from cockpit.compare.feed import CompareFeed, group_of
        from cockpit.tui.compare_screen import CompareScreen

        group = group_of(self.run_dir)
        if group is not None:
            self._open(CompareScreen(CompareFeed([group]), highlight=Path(self.run_dir).resolve()))

    def action_all_samples(self) -> None:
        t = Text()
        for s in self.history.samples:
            t.append(f"step {s.get('step')}  ", style="bold")
            t.append(str(s.get("prompt", "")).replace("\n", " ⏎ "), style="dim")
            t.append(f"\n    → {str(s.get('completion', '')).strip()!r}\n")
        self._open(TextModal("All samples", t if self.history.samples else "no samples yet"))

    def action_traceback(self) -> None:
        errs = self.history.errors
        if errs:
            e = errs[-1]
            self._open(
                TextModal(
                    f"Error at step {e.get('step')}: {e.get('message')}", Text(traceback_text(e.get("traceback")))
                )
            )

    def action_help(self) -> None:
        from cockpit.tui.help import help_text

        self._open(TextModal("Keys", help_text(self)))


def traceback_text(tb) -> str:
    """An error event's traceback as text: a hand-written or foreign log may hold any JSON there."""
    if not tb:
        return "(no traceback recorded)"
    if isinstance(tb, str):
        return tb
    import json

    return json.dumps(tb, indent=1, default=str)
