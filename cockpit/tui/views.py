"""The views every cockpit screen opens over the charts: the zoom, all samples, the last traceback, the help."""

from __future__ import annotations

from rich.text import Text

from cockpit.tui.chart import threshold_lines
from cockpit.tui.modals import TextModal, ZoomModal
from cockpit.tui.widgets.metric import MetricPanel

PERCENT_KEYS = ("update_ratio",)
"""Metrics whose tile reads in percent: the zoom reads the same unit."""


class ViewActions:
    """Mixed into `CockpitScreen`, which gives it `history`, `thresholds()`, `focused`, `query_one` and `_open()`."""

    def action_zoom(self) -> None:
        self.zoom_tile(self.focused if isinstance(self.focused, MetricPanel) else self.lead_panel())

    def zoom_tile(self, focused: MetricPanel, around: int | None = None) -> None:
        """The tile's zoom; `around`: zoomed in around that step (the wheel over a tile)."""
        key = focused.key
        bands = threshold_lines(key, self.thresholds(), focused.total)

        def data():
            h = self.history  # read at each redraw: a live run's zoom follows it
            marks = [(m.step, m.label) for m in h.marks if m.kind in ("ack", "guard")]
            # Every point: the zoom draws its window's min and max per bucket and reads the exact values.
            if key not in h.series and key in h.eval_series:  # an eval metric picked with `k`
                return h.eval_steps, h.eval_series[key], marks
            return h.steps, h.series.get(key, ()), marks

        percent = key in PERCENT_KEYS
        title = f"{focused.title} (%)" if percent else focused.title
        scale = 100.0 if percent else 1.0
        self._open(ZoomModal(title, bands, data, scale=scale, log=focused.log_scale, around=around))

    def action_compare(self) -> None:
        """The compare view of the study or sweep this run belongs to, this run highlighted."""
        from pathlib import Path

        from cockpit.compare.feed import CompareFeed, group_of
        from cockpit.tui.compare_screen import CompareScreen

        group = group_of(self.run_dir)
        if group is not None:
            self._open(CompareScreen(CompareFeed([group]), highlight=Path(self.run_dir).resolve()))

    def action_all_samples(self) -> None:
        from cockpit.sample_signals import shown

        t = Text()
        for s in self.history.samples:
            t.append(f"step {s.get('step')}  ", style="bold")
            t.append(shown(s, "prompt").replace("\n", " ⏎ "), style="dim")
            t.append(f"\n    → {shown(s).strip()!r}\n")
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
