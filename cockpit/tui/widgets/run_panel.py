"""The run: state, step/total with a progress bar, epoch, ETA, elapsed, lr, device, world size."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from cockpit.durations import clock as hms
from cockpit.general.reading import eval_label
from cockpit.history import History
from cockpit.tui.widgets.panel import Panel

STATE_STYLE = {
    "running": "bold $success",
    "paused": "bold $warning",
    "stopping": "bold $warning",
    "finished": "bold $accent",
    "stopped": "bold $warning",
    "crashed": "bold $error",
    "starting": "$text-muted",
    "resumed": "bold $success",
    "unknown": "$text-muted",
    "suspended": "bold $warning",
    "stalled": "bold $warning",
    "unreadable": "bold $error",
}
STATE_ICON = {
    "running": "▶",
    "paused": "⏸",
    "stopping": "■",
    "finished": "✔",
    "stopped": "■",
    "crashed": "✖",
    "starting": "…",
    "resumed": "▶",
    "unknown": "?",
    "suspended": "⏸",
    "stalled": "⚠",
    "unreadable": "⚠",
}


def bar(frac: float, width: int) -> str:
    frac = min(max(frac, 0.0), 1.0)
    full = int(frac * width)
    return "█" * full + "░" * (width - full)


def lora_variants(lora: dict) -> str:
    """One compact line for a LoRA that is not plain (`r8 a16 DoRA rsLoRA PiSSA LoRA+16`); "" when plain,
    so a plain run keeps its rows."""
    init = lora.get("init_lora_weights", True)
    tags = [name for key, name in (("use_dora", "DoRA"), ("use_rslora", "rsLoRA")) if lora.get(key)]
    if init is not True:
        tags.append(
            {"pissa": "PiSSA", "olora": "OLoRA", "gaussian": "gaussian-init"}.get(
                str(init), str(init).replace("pissa_niter_", "PiSSA-niter")
            )
        )
    if lora.get("loraplus_lr_ratio"):
        tags.append(f"LoRA+{lora['loraplus_lr_ratio']:g}")
    if lora.get("target_modules") == "all-linear":
        tags.append("all-linear")
    if lora.get("rank_pattern") or lora.get("alpha_pattern"):
        pat = {**{k: f"r{v}" for k, v in (lora.get("rank_pattern") or {}).items()}}
        for k, v in (lora.get("alpha_pattern") or {}).items():
            pat[k] = pat.get(k, "") + f"a{v:g}"
        tags.append(" ".join(f"{k}:{v}" for k, v in pat.items()))
    if not tags:
        return ""
    r = lora.get("r", 8)
    alpha = lora.get("lora_alpha") or 2 * r
    return f"r{r} a{alpha:g} " + " ".join(tags)


class RunPanel(Panel):
    DEFAULT_CSS = """
    RunPanel { border: round $panel-lighten-2; padding: 0 1; height: 11; }
    RunPanel:light { border: round $panel-darken-1; }
    RunPanel.-crashed { border: heavy $error; }
    """

    def show(
        self,
        h: History,
        *,
        state: str,
        replay: str | None = None,
        pending: int = 0,
        now: float | None = None,
        note: str | None = None,
    ) -> None:
        """`note`: why the state is not the log's own (a suspended or stalled trainer, one that is gone)."""
        rs = h.run_started or {}
        total = h.total_steps
        step = h.step
        rows: list[tuple[str, str | Text]] = []
        add = rows.append
        color = self.app.theme_variables.get(STATE_STYLE.get(state, "").split("$")[-1], "") if self.app else ""
        st = Text(f"{STATE_ICON.get(state, '?')} {state.upper()}", style=f"bold {color}".strip())
        add(("state", st))
        if note:
            add(("why", Text(note, style="yellow")))
        if replay:
            # A row of its own: appended to the state it was cut off in the 80x24 layout.
            add(("replay", Text(replay, style="bold")))
        frac = step / total if total else 0.0
        # The value column's width: the bar shrinks to fit it (the 80x24 layout), the figures never do.
        room = self.content_size.width - 7 if self.content_size.width else 40
        counts = f"{step}/{total}"
        width = min(16, room - len(counts) - 6)
        add(("step", f"{counts} {bar(frac, width) + ' ' if width >= 4 else ''}{frac:.0%}" if total else f"{step}"))
        ep = h.last("epoch")
        times = [x for x in h.series["step_time"][-20:] if x == x]
        per = sum(times) / len(times) if times else None
        # No ETA in a replay (nothing is coming), nor for a trainer that is not making steps.
        eta = (
            (total - step) * per
            if (per and total and not replay and state in ("running", "paused", "resumed"))
            else None
        )
        end_t = h.last_event_t if (h.finished or replay or now is None) else now
        elapsed = (end_t - h.first_event_t) if (end_t and h.first_event_t) else None
        add(("epoch", f"{ep:.2f}" if ep == ep else "-"))
        if replay:
            add(("time", f"{hms(elapsed)} elapsed"))
        else:
            when = f"{hms(elapsed)} elapsed  eta {hms(eta)}"
            add(("time", when if len(when) <= room else f"{hms(elapsed)} eta {hms(eta)}"))
        lr = h.last("learning_rate")
        add(("lr", f"{lr:.3e}" if lr == lr else "-"))
        evals = eval_label(h)  # the latest task eval loss, and the general one against the base model's
        if evals:
            add(("eval", evals))
        dev = rs.get("device") or "-"
        ws = h.world_size
        add(("device", f"{dev}" + (f"  x{ws} ranks" if ws > 1 else "")))
        tp = rs.get("trainable_params")
        if tp:
            tot = rs.get("total_params") or 0
            add(("params", f"{tp:,} trainable" + (f" ({tp / tot:.2%})" if tot else "")))
        variants = lora_variants((rs.get("config") or {}).get("lora") or {})
        if variants:
            add(("lora", variants))
        if h.per_rank_mem and len(h.per_rank_mem) > 1:
            add(("rank mem", "  ".join(f"r{i} {v / 2**30:.1f}G" for i, v in enumerate(h.per_rank_mem) if v == v)))
        if pending:
            add(("pending", f"{pending} command(s) waiting for the trainer's ack"))
        self.set_class(state == "crashed", "-crashed")
        # Most frames change nothing here (elapsed time moves once a second): skip their repaint.
        lines = [repr((k, v.markup if isinstance(v, Text) else v)) for k, v in rows]
        lines[0] += color
        key = "\n".join(lines)
        if key == self._key:
            return
        t = Table.grid(padding=(0, 1))
        t.add_column(style="bold", no_wrap=True, min_width=6)
        t.add_column(no_wrap=True, overflow="ellipsis")
        for row in rows:
            t.add_row(*row)
        self.update(t, key=key, line_keys=lines)  # no_wrap columns: one row is one line
