"""Axis ticks and human units for the report's charts: memory in GiB, lr in scientific notation,
tokens/s with thousands separators, and round tick values on linear and log axes."""

from __future__ import annotations

import math

GIB = 2**30

UNIT_OF = {"mem_used": "GiB", "learning_rate": "lr", "tokens_per_s": "tokens/s", "step_time": "s"}
"""The unit a metric's axis is labelled in; metrics not named here are plain numbers (loss, entropy)."""


def scale_for(key: str) -> float:
    """What a metric's raw values are divided by before they are drawn (bytes become GiB)."""
    return GIB if key == "mem_used" else 1.0


def fmt_value(v: float, unit: str | None = None) -> str:
    """One value as a person reads it: `1.5e-04` for an lr, `3,120` tokens/s, `0.73 GiB`, `2.41` loss."""
    if not math.isfinite(v):
        return str(v)
    if unit == "lr":
        return f"{v:.1e}" if v else "0"
    if unit == "GiB":
        return f"{v:.2f} GiB" if v < 10 else f"{v:.1f} GiB"
    if unit == "tokens/s":
        return f"{v:,.0f}" if abs(v) >= 10 else f"{v:.2g}"
    return fmt_plain(v)


def fmt_tick(v: float, unit: str | None, step: float) -> str:
    """A tick label: as many decimals as the tick spacing needs, no unit suffix (the axis title has it)."""
    if v == 0:
        return "0"
    if unit == "lr" or abs(v) < 1e-3 or abs(v) >= 1e15:
        return f"{v:.1e}"
    for above, size, suffix in ((1e12, 1e12, "T"), (1e9, 1e9, "G"), (1e6, 1e6, "M"), (1e4, 1e3, "k")):
        if abs(v) >= above:  # 900k, 1.2M: a six-digit label crowds the axis and reads slower
            text = f"{v / size:.{_decimals(step / size) + 1}f}"  # 12.5k between 10k and 15k
            return (text.rstrip("0").rstrip(".") if "." in text else text) + suffix
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.{_decimals(step)}f}"


def _decimals(step: float) -> int:
    """Decimals that tell ticks `step` apart: 0 for 1 or more, 1 for 0.5, 2 for 0.05 ... (at most 4)."""
    return min(4, max(0, -math.floor(math.log10(step)))) if step > 0 and math.isfinite(step) else 2


def fmt_plain(v: float) -> str:
    if v == 0:
        return "0"
    if abs(v) >= 1e6 or abs(v) < 1e-3:
        return f"{v:.2e}"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.3g}"


def nice_step(span: float, target: int = 5) -> float:
    """A round spacing (1, 2 or 5 times a power of ten) giving about `target` ticks over `span`."""
    if span <= 0 or not math.isfinite(span):
        return 1.0
    raw = span / target
    mag = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if raw <= m * mag:
            return m * mag
    return 10 * mag


def linear_ticks(lo: float, hi: float, target: int = 5) -> tuple[float, float, list[float]]:
    """(axis low, axis high, ticks): the range widened to round values that hold [lo, hi]."""
    if hi - lo <= 1e-9 * max(abs(lo), abs(hi)):  # one value, give or take rounding: pad around it
        hi = lo
        pad = max(abs(lo) * 0.1, 1e-12) if lo else 1.0
        lo, hi = lo - pad, hi + pad
    if not math.isfinite(hi - lo):  # values near the float limits: no round numbers to find
        return lo, hi, [lo, hi]
    step = nice_step(hi - lo, target)
    a, b = math.floor(lo / step) * step, math.ceil(hi / step) * step
    n = int(round((b - a) / step))
    ticks = [a + i * step for i in range(n + 1)]
    return a, b, [0.0 if abs(t) < step * 1e-9 else t for t in ticks]


def log_ticks(lo: float, hi: float) -> tuple[float, float, list[float]]:
    """(axis low, axis high, ticks) on a log axis: powers of ten, with 2 and 5 between when the range
    spans few decades (a grad_norm of 0.3-8 still gets several labels)."""
    lo = max(lo, 1e-12)
    hi = max(hi, lo * 1.0001)
    a, b = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
    if b == a:
        b += 1
    mults = (1, 2, 5) if b - a <= 3 else (1,)
    ticks = [m * 10.0**e for e in range(a, b + 1) for m in mults if lo <= m * 10.0**e <= hi * 1.0001]
    bottom = max((m * 10.0**e for e in range(a, b + 1) for m in mults if m * 10.0**e <= lo), default=10.0**a)
    top = min((m * 10.0**e for e in range(a, b + 2) for m in mults if m * 10.0**e >= hi), default=10.0**b)
    ticks = sorted({bottom, *ticks, top})
    return bottom, top, ticks


def log_step(t: float) -> float:
    """The spacing a log tick is printed with (its own order of magnitude)."""
    return 10 ** math.floor(math.log10(t)) if t > 0 else 1.0


def round_y_axis(plt, lo: float, hi: float, log_y: bool, unit: str | None, target: int = 5) -> None:
    """Round ticks (0.5, 1, 1.5; or 1, 2, 5, 10 on a log axis) over [lo, hi] on a plotext figure, the
    axis spanning exactly them so each label sits on its row and a band line at 10 sits at 10."""
    if log_y:
        plt.yscale("log")
        a, b, ticks = log_ticks(lo, hi)
        labels = [fmt_tick(t, unit, log_step(t)) for t in ticks]
    else:
        a, b, ticks = linear_ticks(lo, hi, target=target)
        spacing = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
        labels = [fmt_tick(t, unit, spacing) for t in ticks]
    plt.ylim(*((math.log10(a), math.log10(b)) if log_y else (a, b)))  # plotext takes a log axis' limits as log10
    plt.yticks(ticks, labels)


def step_axis(plt, first: float, last: float, target: int = 5) -> None:
    """Round whole steps on a plotext figure's x axis (200, 400, 600), not plotext's even fractions of the
    range (5.0, 173.8, 342.5); left to plotext when fewer than two fall inside."""
    _, _, ticks = linear_ticks(first, last, target=target)
    inside = [int(t) for t in ticks if first <= t <= last and t == int(t)]
    if len(inside) >= 2:
        plt.xticks(inside, [str(t) for t in inside])
