"""The compare view's keys, with ids (the config's `keys:` remaps them), and its help rows."""

from __future__ import annotations

from textual.binding import Binding

from cockpit.compare.model import METRICS

BINDINGS = [
    Binding("up", "move(-1)", "↑ run", id="compare_up", show=False),
    Binding("down", "move(1)", "↓ run", id="compare_down", show=False),
    Binding("space", "toggle_run", "Run on/off", id="compare_toggle_run"),
    *(
        Binding(str(i + 1), f"toggle_metric({i})", m.short, id=f"compare_metric_{i + 1}", show=False)
        for i, m in enumerate(METRICS)
    ),
    Binding("m", "cycle_large", "Large", id="compare_large", tooltip="Show one metric large, in turn"),
    Binding("plus,equals_sign,z", "zoom(0.5)", "Zoom +", id="compare_zoom_in"),
    Binding("minus", "zoom(2.0)", "Zoom -", id="compare_zoom_out"),
    Binding("left", "pan(-1)", "◀ pan", id="compare_pan_left", show=False),
    Binding("right", "pan(1)", "pan ▶", id="compare_pan_right", show=False),
    Binding("less_than_sign", "readout(-1)", "◀ read", id="compare_readout_back", show=False),
    Binding("greater_than_sign", "readout(1)", "read ▶", id="compare_readout_fwd", show=False),
    Binding("0", "reset", "Reset", id="compare_reset", tooltip="All steps, all runs, all metrics"),
    Binding("s", "smooth", "EMA", id="compare_smooth", tooltip="Smoothed (EMA) or raw values"),
    Binding("enter", "open_run", "Open run", id="compare_open", tooltip="The highlighted run's own cockpit"),
    Binding("t", "cycle_theme", "Theme", id="compare_theme", show=False),
    Binding("question_mark", "help", "Help", id="compare_help"),
    Binding("q,escape,c", "back", "Back", id="compare_back"),
]

METRIC_NAMES = ", ".join(f"{i + 1} {m.short}" for i, m in enumerate(METRICS))
HELP_GROUPS = [
    (
        "Compare runs",
        [
            (("move(-1)",), "highlight the run above"),
            (("move(1)",), "highlight the run below"),
            (("toggle_run",), "show / hide the highlighted run on the charts"),
            (tuple(f"toggle_metric({i})" for i in range(len(METRICS))), f"show / hide a chart ({METRIC_NAMES})"),
            (("cycle_large",), "one chart large, each in turn, then all"),
            (("zoom(0.5)",), "zoom in on the steps (the newest all shown runs have; the middle once panned)"),
            (("zoom(2.0)",), "zoom out"),
            (("pan(-1)",), "earlier steps"),
            (("pan(1)",), "later steps (back at the newest, the charts follow the runs)"),
            (("readout(-1)",), "readout: the values of every run one logged step earlier (starts at the newest)"),
            (("readout(1)",), "readout: one logged step later (a click on a chart reads the step clicked)"),
            (("reset",), "reset: all steps, all runs, all charts, no readout"),
            (("smooth",), "smoothed (EMA) or raw values"),
            (("open_run",), "open the highlighted run's cockpit (live while it runs; q comes back)"),
            (("cycle_theme",), "cycle themes"),
            (("help",), "help: these keys"),
            (("back",), "back (the runs go on)"),
        ],
    )
]
"""(title, [(actions, what)]) as help.py lays out a screen's keys."""
