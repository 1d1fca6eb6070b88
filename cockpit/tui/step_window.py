"""The compare view's step axis: which steps the charts show, zoomed and panned by keys.

All the steps (the default) grow with the runs. A zoomed window at the end of the axis follows the
newest steps while runs train ("the last N steps"); one panned back stays where it was put. `follow`:
where a following window ends when not at the axis's end: the compare view passes the newest step every
shown run reached, so zooming into a study keeps its 60-step trials beside its 300-step final run."""

from __future__ import annotations

from dataclasses import dataclass

MIN_SPAN = 4
"""The narrowest window, in steps: a chart of fewer points tells nothing."""


@dataclass
class StepWindow:
    span: float | None = None
    """Steps shown; None: all of them."""
    end: float | None = None
    """The window's last step; None: the newest step (the window follows the runs)."""

    def view(self, full: tuple[int, int] | None, follow: float | None = None) -> tuple[float, float] | None:
        """The steps to show, given all the steps the runs have; None when there are none."""
        if full is None:
            return None
        lo, hi = full
        if self.span is None or self.span >= hi - lo:
            return (lo, hi)
        end = (hi if follow is None else follow) if self.end is None else self.end
        end = min(hi, max(lo + self.span, end))
        return (end - self.span, end)

    def zoom(self, factor: float, full: tuple[int, int] | None, follow: float | None = None) -> bool:
        """Narrow (factor < 1) or widen the window around its centre, or keep its end at the newest step
        when it follows the runs; False when it cannot go further."""
        shown = self.view(full, follow)
        if shown is None:
            return False
        lo, hi = shown
        return self.zoom_at(factor, hi if self.end is None else (lo + hi) / 2, full, follow)

    def zoom_at(self, factor: float, step: float, full: tuple[int, int] | None, follow: float | None = None) -> bool:
        """Zoom around `step` (the mouse wheel's: under the pointer): it stays where it is on the axis while
        the window narrows or widens around it. False when it cannot go further."""
        shown = self.view(full, follow)
        if shown is None or full is None:
            return False
        lo, hi = shown
        width = hi - lo
        new = max(MIN_SPAN, width * factor)
        if new >= full[1] - full[0]:
            return self.reset()
        if abs(new - width) < 1e-9:
            return False
        self.span = new
        if self.end is None and step >= hi:  # at the end of a window that follows the runs: it still does
            return True
        share = min(1.0, max(0.0, (step - lo) / width)) if width > 0 else 1.0
        end = min(full[1], max(full[0] + new, step + (1 - share) * new))
        following_ends_here = follow is None or follow >= full[1]
        self.end = None if end >= full[1] and following_ends_here else end
        return True

    def pan(self, direction: int, full: tuple[int, int] | None, follow: float | None = None) -> bool:
        """Move a quarter of the window left (-1) or right (+1); at the newest step it follows again."""
        shown = self.view(full, follow)
        if shown is None or full is None or self.span is None:
            return False
        lo, hi = shown
        end = hi + direction * self.span / 4
        end = min(full[1], max(full[0] + self.span, end))
        if abs(end - hi) < 1e-9:
            return False
        following_ends_here = follow is None or follow >= full[1]
        self.end = None if end >= full[1] and following_ends_here else end
        return True

    def reset(self) -> bool:
        changed = self.span is not None
        self.span = self.end = None
        return changed

    @property
    def zoomed(self) -> bool:
        return self.span is not None
