"""The `?` screen: the keys that apply to this run, grouped, with the names printed on the keyboard.

Live: the control keys, then the views. Replay: the transport keys, then the views. A key the config
remaps (`keys: {pause: ctrl+p}`) is shown as remapped; each key once.
"""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

NAMES = {
    "left": "←",
    "right": "→",
    "up": "↑",
    "down": "↓",
    "plus": "+",
    "minus": "-",
    "equals_sign": "=",
    "left_square_bracket": "[",
    "right_square_bracket": "]",
    "question_mark": "?",
    "space": "Space",
    "home": "Home",
    "end": "End",
    "escape": "Esc",
    "enter": "Enter",
    "tab": "Tab",
    "colon": ":",
    "less_than_sign": "<",
    "greater_than_sign": ">",
}

GROUPS = {
    "Control the run": {
        "pause/resume": "pause / resume at the next step boundary",
        "lr_half": "learning rate x0.5",
        "lr_double": "learning rate x2",
        "set_lr": "set an exact learning rate (or a factor: x0.5)",
        "save": "save a checkpoint now",
        "samples": "generate samples now",
        "stop": "stop the run (asks first; saves the adapter)",
        "merge": "merge the adapter into the base (asks first)",
        "apply_advice": "apply the advisor's next action (asks first)",
    },
    "Replay transport": {
        "play": "play / pause",
        "step_back": "one logged step back",
        "step_fwd": "one logged step forward",
        "jump_back": "10% back",
        "jump_fwd": "10% forward",
        "faster": "faster (1x .. 1000x)",
        "slower": "slower",
        "to_start": "to the start",
        "to_end": "to the end",
    },
    "Views": {
        "zoom": "zoom the focused metric (full chart with axes and bands)",
        "pick_metric": "pick any logged metric for the focused tile (filter by name)",
        "log_scale": "log scale on the focused chart (and in the zoom)",
        "smooth": "smoothed (EMA) over faint raw bars, or raw: every chart",
        "readout(-1)": "read the focused tile's step and value one column left (starts at the newest; a click reads any tile)",
        "readout(1)": "read one column right (the wheel over a tile opens its zoom around that step)",
        "compare": "compare this run with the other runs of its study or sweep",
        "focus": "move focus between metrics",
        "log_filter": "filter the event log by kind",
        "all_samples": "all samples",
        "traceback": "the last error's traceback",
        "run_info": "the run's metadata: host, Python, packages, command line, last system reading, config",
        "cycle_theme": "cycle themes",
        "help": "help: the keys that apply now",
        "command_palette": "command palette: every command that applies now, by name",
        "detach": "detach: the cockpit closes, the trainer keeps running",
    },
}
"""Each group's rows, `actions: what the row says`. One row per key: actions that share a key share a row
(`pause/resume`), and an action's several keys (`+` and `=`) share its row."""
LIVE_GROUPS = ("Control the run", "Views")
REPLAY_GROUPS = ("Replay transport", "Views")


def human_key(key: str) -> str:
    """`shift+right` -> `Shift+→`, `left_square_bracket` -> `[`, `ctrl+p` -> `Ctrl+p`."""
    *mods, base = key.split("+") if key != "+" else ["+"]
    name = NAMES.get(base, base)
    return "+".join([m.capitalize() for m in mods] + [name])


def bound(screen) -> dict:
    """key -> bindings of the screen as the keys reach it: Textual overlays the app's keymap (the config's
    `keys:`) on a copy of the screen's bindings for each key press; so does this."""
    bm = screen._bindings.copy()
    keymap = getattr(screen.app, "_keymap", None)
    if keymap:
        bm.apply_keymap(keymap)
    return bm.key_to_bindings


def keys_by_action(screen) -> dict[str, list[str]]:
    """Each action's keys as the screen binds them now (after the config's keymap), in binding order."""
    out: dict[str, list[str]] = {}
    for key, bs in bound(screen).items():
        for b in bs:
            out.setdefault(b.action, []).append(key)
    out.setdefault("focus", ["tab"])  # Textual's own focus key, not one of the screen's bindings
    palette = getattr(screen.app, "palette_keys", [])  # the app's bindings, not the screen's
    if getattr(screen.app, "use_command_palette", False) and palette:
        out.setdefault("command_palette", palette)
    return out


def groups(screen) -> list[tuple[str, list[tuple[tuple[str, ...], str]]]]:
    """(title, [(actions sharing one row, what the row says)]) for each group this screen shows."""
    own = getattr(screen, "HELP_GROUPS", None)  # a screen with keys of its own (the compare view)
    if own is not None:
        return own
    titles = REPLAY_GROUPS if screen.replay else LIVE_GROUPS
    return [(title, [(tuple(row.split("/")), what) for row, what in GROUPS[title].items()]) for title in titles]


def rows(screen) -> list[tuple[str, str, str, str]]:
    """(group, keys, what, note) for each row of the help: the README's key table is checked against it."""
    keys = keys_by_action(screen)
    out = []
    for title, items in groups(screen):
        for actions, what in items:
            ks: list[str] = []
            for a in actions:
                for k in keys.get(a, []):
                    if human_key(k) not in ks:
                        ks.append(human_key(k))
            if not ks:
                continue
            ok = [screen.check_action(a, ()) for a in actions if a in keys]
            note = "" if any(o for o in ok) else screen.why_not(actions[0]) or "not now"
            out.append((title, " / ".join(ks), what, note))
    return out


def help_text(screen) -> Table:
    t = Table(box=None, padding=(0, 2), show_header=False)
    t.add_column("key", style="bold", no_wrap=True)
    t.add_column("action")
    last = None
    for group, keys, what, note in rows(screen):
        if group != last:
            if last is not None:
                t.add_row("", "")
            t.add_row(Text(group, style="bold underline"), "")
            last = group
        line = Text(what)
        if note:
            line.append(f"  (not now: {note})", style="dim")
        t.add_row(keys, line)
    return t
