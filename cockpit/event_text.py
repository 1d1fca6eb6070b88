"""One wording for a run's events. The cockpit's event log, `--headless` and the history's marks (which
the zoom, the report and `diagnose` show) describe an event with the same words, from here.

Pure: no Textual, no Rich. A `tone` names what the line means; each front end picks its own colour.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

TONES = ("good", "bad", "warn", "info", "strong", "quiet", "merge")
"""good: an accepted command; bad: a refusal, a guard, an error, a crash; warn: a degraded side path;
info: a checkpoint, an evaluation; strong: the run's state; quiet: samples; merge: a merge under way or done."""


@dataclass(frozen=True)
class EventText:
    """What one event says: an icon, the words, its tone, and a key hint only a cockpit can offer."""

    icon: str
    text: str
    tone: str
    hint: str = ""
    """e.g. "e: traceback": the cockpit appends it; a plain-text reader has no such key."""


def step_prefix(ev: dict[str, Any]) -> str:
    """`[    30] ` for an event with an int step, nine spaces otherwise (the log's columns line up)."""
    step = ev.get("step")
    return f"[{step:>6}] " if isinstance(step, int) and not isinstance(step, bool) else " " * 9


def describe_event(ev: dict[str, Any], *, sender: str = "") -> EventText | None:
    """The words for one event, or None for kinds that make no line (metrics, unknown kinds).

    `sender`: who sent the command an `ack` answers, as the reader knows it (" (from another cockpit)");
    only the reader can tell whether it sent the command itself."""
    k = ev.get("kind")
    if k == "ack":
        if ev.get("ok"):
            return EventText("✓", f"{ev.get('cmd')} acked{sender}: {ev.get('change') or 'ok'}", "good")
        return EventText("✖", f"{ev.get('cmd')} refused{sender}: {ev.get('reason')}", "bad")
    if k == "state":
        st = ev.get("state")
        return EventText(
            "●",
            f"state {st}" + (f" ({ev['reason']})" if ev.get("reason") else ""),
            "bad" if st == "crashed" else "strong",
        )
    if k == "checkpoint":
        return EventText(
            "⬇",
            f"checkpoint {Path(str(ev.get('path', ''))).name}" + (f"  ({ev['note']})" if ev.get("note") else ""),
            "info",
        )
    if k == "guard":
        return EventText("☠", f"guard {ev.get('rule')}: {ev.get('message')} → {ev.get('action')}", "bad")
    if k == "error":
        return EventText("✖", f"error: {ev.get('message')}", "bad", "e: traceback" if ev.get("traceback") else "")
    if k == "merge":
        out = f" → {ev['out']}" if ev.get("out") else ""
        return EventText(
            "⛙",
            f"merge {ev.get('status')}: {ev.get('message', '')}{out}",
            "bad" if ev.get("status") == "failed" else "merge",
        )
    if k == "notify" and not ev.get("ok", True):
        return EventText("✖", f"alert via {ev.get('channel')} failed: {ev.get('reason')}", "warn")
    if k == "sample":
        prompt = str(ev.get("prompt", "")).replace("\n", " ⏎ ")[:24]
        return EventText("✎", f"samples: {prompt} → {str(ev.get('completion', '')).strip()[:24]!r}…", "quiet", "v: all")
    if k == "run_started":
        # A Hugging Face trainer_state.json says neither device nor parameters: say only what is known.
        where = f" on {ev['device']}" if ev.get("device") else ""
        tp, total = ev.get("trainable_params"), ev.get("total_steps")
        facts = [f"{tp:,} trainable params"] if isinstance(tp, int) and tp else []
        facts += [f"{total:,} steps"] if isinstance(total, int) and total else []
        return EventText("▶", f"started{where}" + (f" ({', '.join(facts)})" if facts else ""), "strong")
    if k == "eval":
        vals = [
            f"{key[5:]} {v:.4g}"
            for key, v in ev.items()
            if key.startswith("eval_") and isinstance(v, (int, float)) and not isinstance(v, bool)
        ]
        return EventText("◆", "eval" + (f": {', '.join(vals)}" if vals else ""), "info")
    return None


def event_line(ev: dict[str, Any], *, sender: str = "") -> str | None:
    """The plain-text line for an event (`--headless`): step column, icon, words; None when it makes none."""
    d = describe_event(ev, sender=sender)
    return None if d is None else f"{step_prefix(ev)}{d.icon} {d.text}"
