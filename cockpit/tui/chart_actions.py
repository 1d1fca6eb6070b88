"""The keys that change what the metric tiles show: `k` picks a tile's metric, `y` its log scale, `S` the
EMA on every tile. A mixin of CockpitScreen (screen.py), which holds the tiles."""

from __future__ import annotations

from cockpit.chart_choice import save_choice
from cockpit.metrics import charted
from cockpit.tui.metric_picker import RESET, MetricPicker
from cockpit.tui.widgets.metric import MetricPanel


class ChartActions:
    """Needs from the screen: history, focused, _panels, _chosen, smoothed, shown_keys, run_kind,
    lead_panel, _render_all, _open, notify."""

    def metric_names(self) -> list[str]:
        """Every numeric series the run holds (its metrics, then its evals, then the system's), for the picker."""
        h = self.history
        names = [k for k in h.series if k != "t" and h.has(k)]
        return names + [k for k in (*h.eval_series, *h.sys_series) if k not in names]

    def action_pick_metric(self) -> None:
        method = self.run_kind().method
        shown = list(self.shown_keys(method))
        target = self.focused if isinstance(self.focused, MetricPanel) else self.lead_panel()

        def picked(key: str | None) -> None:
            if key is None:
                return
            if key == RESET:
                keys = None
                self._chosen[method] = [m.key for m in charted(method)]
            elif key in shown:  # already charted: go to it
                self._panels[key].focus()
                return
            else:
                shown[shown.index(target.key)] = key
                keys = self._chosen[method] = shown
            error = save_choice(method, keys)
            if error:
                self.notify(error, severity="warning")
            self._render_all()
            if key != RESET:
                self._panels[key].focus()

        self._open(MetricPicker(self.metric_names(), shown, target.title), picked)

    def action_log_scale(self) -> None:
        panel = self.focused if isinstance(self.focused, MetricPanel) else self.lead_panel()
        panel.toggle_log_scale()

    def action_smooth(self) -> None:
        smoothed = self.smoothed = not self.smoothed
        for panel in self._panels.values():
            panel.smoothed = smoothed
            panel.refresh()
        self.notify(f"EMA {'on: smoothed over faint raw values' if smoothed else 'off: raw values'}", timeout=2)
