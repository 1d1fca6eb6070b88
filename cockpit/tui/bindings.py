"""The cockpit's keys, with ids (the config's `keys:` remaps them) and tooltips.

One list for both screens, in the footer's order: each screen greys out or hides the keys that do not
apply to it (`check_action`), so a control key pressed in a replay still says why it does nothing.
"""

from __future__ import annotations

from dataclasses import replace

from textual.binding import Binding

CONTROL = {"pause", "resume", "lr_half", "lr_double", "set_lr", "save", "stop", "merge", "samples", "apply_advice"}
"""Actions that send a command to the trainer: a live run's."""
REPLAY = {"play", "step_back", "step_fwd", "jump_back", "jump_fwd", "faster", "slower", "to_start", "to_end"}
"""Actions that move a replay's cursor."""

BINDINGS = [
    Binding("p", "pause", "Pause", id="pause", tooltip="Pause at the next step boundary"),
    Binding("p", "resume", "Resume", id="resume", tooltip="Resume training"),
    Binding("left_square_bracket", "lr_half", "lr×½", id="lr_half", tooltip="Halve the learning rate"),
    Binding("right_square_bracket", "lr_double", "lr×2", id="lr_double", tooltip="Double the learning rate"),
    Binding("l", "set_lr", "Set lr", id="set_lr", tooltip="Set an exact learning rate"),
    Binding("s", "save", "Save", id="save", tooltip="Write a checkpoint now"),
    Binding("x", "stop", "Stop", id="stop", tooltip="Stop the run (asks first)"),
    Binding("m", "merge", "Merge", id="merge", tooltip="Merge the adapter into the base (asks first)"),
    Binding("g", "samples", "Sample", id="samples", tooltip="Generate samples now"),
    Binding("a", "apply_advice", "Apply advice", id="apply_advice", tooltip="Apply the advisor's next action"),
    Binding("space", "play", "Play/Pause", id="play"),
    Binding("left", "step_back", "◀ step", id="step_back", show=False),
    Binding("right", "step_fwd", "step ▶", id="step_fwd", show=False),
    Binding("shift+left", "jump_back", "◀◀ 10%", id="jump_back", show=False),
    Binding("shift+right", "jump_fwd", "10% ▶▶", id="jump_fwd", show=False),
    Binding("plus,equals_sign", "faster", "Faster", id="faster", show=False),
    Binding("minus", "slower", "Slower", id="slower", show=False),
    Binding("home", "to_start", "Start", id="to_start", show=False),
    Binding("end", "to_end", "End", id="to_end", show=False),
    Binding("z", "zoom", "Zoom", id="zoom", tooltip="Full chart of the focused metric"),
    Binding("k", "pick_metric", "Metrics", id="pick_metric", show=False, tooltip="Chart any logged metric"),
    Binding("y", "log_scale", "Log y", id="log_scale", show=False, tooltip="Log scale on the focused chart"),
    # `s` saves here: the compare view's smoothing key, shifted.
    Binding("S", "smooth", "EMA", id="smooth", show=False, tooltip="Smoothed (EMA) over faint raw values, or raw"),
    Binding("less_than_sign", "readout(-1)", "◀ read", id="readout_back", show=False),
    Binding("greater_than_sign", "readout(1)", "read ▶", id="readout_fwd", show=False),
    Binding("c", "compare", "Compare", id="compare", tooltip="Compare with the other runs of its study or sweep"),
    Binding("f", "log_filter", "Log filter", id="log_filter", show=False),
    Binding("v", "all_samples", "Samples", id="all_samples", show=False),
    Binding("e", "traceback", "Error", id="traceback", show=False),
    Binding("i", "run_info", "Info", id="run_info", show=False, tooltip="Host, packages, command line, config"),
    Binding("t", "cycle_theme", "Theme", id="theme"),
    Binding("question_mark", "help", "Help", id="help"),
    Binding("q", "detach", "Detach", id="detach", tooltip="Close the cockpit; training goes on"),
]

REPLAY_BINDINGS = [
    replace(b, description="Quit", tooltip="Close the replay") if b.id == "detach" else b for b in BINDINGS
]
"""A replay has no run to detach from: its `q` quits."""
