"""The `?` screen: every key, what it does, and whether it applies right now."""

from __future__ import annotations

from rich.table import Table


def help_text(screen) -> Table:
    t = Table(box=None, padding=(0, 2))
    t.add_column("key", style="bold")
    t.add_column("action")
    t.add_column("now")
    seen = set()
    for b in screen.BINDINGS:
        key = screen.app.get_key_display(b) if hasattr(screen.app, "get_key_display") else b.key
        ok = screen.check_action(b.action, ())
        if ok is False and b.action in seen:
            continue
        seen.add(b.action)
        state = "yes" if ok else ("greyed" if ok is None else "n/a here")
        t.add_row(key, b.tooltip or b.description, state)
    t.add_row("", "", "")
    t.add_row("q", "detach: the cockpit closes, the trainer keeps running; `cockpit attach RUN_DIR` re-attaches", "")
    return t
