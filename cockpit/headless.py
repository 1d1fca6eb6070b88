"""`--headless`: follow a run in plain text, one line per logged step and per event (worded as in the
cockpit's event log); exit with the run's outcome."""

from __future__ import annotations

import math
import sys
import time

from cockpit.durations import clock
from cockpit.event_text import event_line
from cockpit.rundir import RunDir, Tail, pid_alive, read_lock_pid, tail_text

EXIT = {"finished": 0, "stopped": 1, "crashed": 3}


def fmt(x, spec: str = ".4g") -> str:
    if x is None:
        return "-"
    if isinstance(x, float) and math.isnan(x):
        return "NaN"
    try:
        return format(x, spec)
    except (TypeError, ValueError):
        return str(x)


def fmt_bytes(n) -> str:
    if not isinstance(n, (int, float)):
        return "-"
    return f"{n / 2**30:.2f}G" if n >= 2**30 else f"{n / 2**20:.0f}M"


def bar(frac: float, width: int = 20) -> str:
    frac = min(max(frac, 0.0), 1.0)
    full = int(frac * width)
    return "█" * full + "·" * (width - full)


def metrics_line(ev: dict, total: int | None) -> str:
    step = ev.get("step", 0)
    frac = step / total if total else 0.0
    st = ev.get("step_time")
    remaining = (total - step) * st if (total and isinstance(st, (int, float))) else None
    mem = f"{'vram' if ev.get('mem_kind') == 'vram' else 'ram'} {fmt_bytes(ev.get('mem_used'))}"
    return (
        f"[{bar(frac)}] {step}/{total or '?'}  loss {fmt(ev.get('loss'))}  gn {fmt(ev.get('grad_norm'), '.3g')}"
        f"  ent {fmt(ev.get('entropy'), '.3g')}  lr {fmt(ev.get('learning_rate'), '.2e')}  {mem}"
        f"  {fmt(ev.get('tokens_per_s'), '.0f')} tok/s  eta {clock(remaining)}"
    )


SAMPLE_CHARS = 240
"""A headless sample line shows this much of the prompt and of the completion: enough to judge the answer
(the cockpit's event log has room for 24; a terminal log has the whole width and scrollback)."""


def sample_line(ev: dict) -> str:
    def clip(text) -> str:
        text = str(text or "").strip().replace("\n", " ⏎ ")
        return text if len(text) <= SAMPLE_CHARS else text[:SAMPLE_CHARS] + "…"

    return f"✎ sample at step {ev.get('step', '?')}: {clip(ev.get('prompt'))} → {clip(ev.get('completion'))!r}"


def ending(rd: RunDir) -> str:
    """What a headless run ends with: the advisor's verdict on the whole run, where the adapter is, and the
    commands that come next (with the path of this cockpit when the shell would not find it)."""
    from cockpit.advisor import advise
    from cockpit.invocation import cockpit_command
    from cockpit.logs import LogError, load_history

    lines = []
    try:
        history, _ = load_history(rd.path)
        advice = advise(history)
        lines.append(f"verdict: {advice.verdict}")
        if advice.next_action is not None:
            lines.append(f"advice: {advice.next_action.label}")
    except (LogError, OSError) as e:
        lines.append(f"verdict: not read ({e})")
    adapter = rd.adapter_to_merge()
    lines.append(f"adapter: {adapter}" if adapter else "adapter: none written (no checkpoint either)")
    cockpit = cockpit_command()
    lines.append(f"next: {cockpit} report {rd.path}    ({cockpit} replay {rd.path} to look back)")
    return "".join(line + "\n" for line in lines)


def follow(
    rd: RunDir,
    out=None,
    poll: float = 0.2,
    stall_timeout: float | None = None,
    *,
    pid: int | None = None,
    offset: int = 0,
) -> int:
    """Print the run from `offset` on (a resume starts at the end: the old history ended in a crash).
    `pid` is the trainer we started; a run_started event read later names it too."""
    out = out or sys.stdout
    tail = Tail(rd.events, offset=offset)
    total = None
    last_seen = time.monotonic()
    out.write(f"run: {rd.path}\n")
    read_error = None
    while True:
        evs = tail.poll()
        if (tail.error is None) != (read_error is None):  # an I/O error reading the log, or its end
            read_error = tail.error
            out.write(f"read error: {read_error}; retrying\n" if read_error else f"{rd.events.name} reads again\n")
        if evs:
            last_seen = time.monotonic()
        for ev in evs:
            k = ev.get("kind")
            if k == "metrics":
                out.write(metrics_line(ev, total) + "\n")
                continue
            if k == "run_started":
                total, pid = ev.get("total_steps"), ev.get("pid") or pid
            if k == "sample":
                out.write(sample_line(ev) + "\n")
                continue
            line = event_line(ev)  # the cockpit's event log says the same, in the same words
            if line is not None:
                out.write(line + (f"  pid {pid}" if k == "run_started" and pid else "") + "\n")
            if k == "state" and ev.get("state") in EXIT:
                out.write(ending(rd))
                out.flush()
                return EXIT[ev["state"]]
        out.flush()
        if not evs:
            holder = pid or read_lock_pid(rd)
            if holder and not pid_alive(holder) and not tail.poll():
                gone = {
                    "kind": "state",
                    "state": "crashed",
                    "reason": "the trainer process is gone without a final state",
                }
                out.write(f"{event_line(gone)}\n")
                out.write("\n".join(tail_text(rd.log, 15)) + "\n")
                return EXIT["crashed"]
            if stall_timeout and time.monotonic() - last_seen > stall_timeout:
                return 4
            time.sleep(poll)
