"""When the cockpit draws a frame, and when the reader hands events over. Pure: no Textual.

A frame costs Textual's compositor tens of ms, so the live cockpit draws 10 frames a second while the
operator is at the keys and 1 when it is only being watched (nvitop and htop refresh every 1.5-2 s):
bursts of events are always coalesced into one frame (the cost per frame rate: bench/README.md). A
replay draws at every tick, since its cursor moves by itself.
"""

from __future__ import annotations

TICK = 0.05
"""Seconds between the screen's ticks: the fastest a frame can follow a change."""
FRAME_ACTIVE = 0.1
"""Seconds between frames while the operator is at the keys."""
FRAME_IDLE = 1.0
"""Seconds between frames while the cockpit is only watched."""
ACTIVE_FOR = 15.0
"""Seconds after the last key press that the operator counts as at the keys."""


class FramePacer:
    """Decides, at each tick, whether a frame is drawn now.

    Usage:
        pacer = FramePacer(now=time.monotonic())
        pacer.dirty = True                 # something changed
        if pacer.frame_due(now, has_data=len(history) > 0):
            draw()

    Args:
        now: the monotonic time the screen opened. Opened, the cockpit counts as watched: it draws at
            the fast rate only once a key is pressed.
        fixed: a fixed frame interval (a replay: every tick) instead of the watched/active rates.
    """

    def __init__(self, *, now: float, fixed: float | None = None):
        self.fixed = fixed
        self.last_key = now - ACTIVE_FOR
        """When a key was last pressed (monotonic)."""
        self.last_render = 0.0
        """When the last frame was drawn (monotonic)."""
        self.dirty = True
        """Something changed since the last frame."""
        self.urgent = False
        """The change must be drawn at the next tick: a backlog, an alarm, a state change."""
        self.drew_data = False
        """A frame with the run's data has been drawn (the first one is drawn at once)."""

    def key_pressed(self, now: float) -> None:
        self.last_key = now

    def interval(self, now: float) -> float:
        """Seconds between frames now."""
        if self.fixed is not None:
            return self.fixed
        return FRAME_ACTIVE if now - self.last_key < ACTIVE_FOR else FRAME_IDLE

    def frame_due(self, now: float, *, has_data: bool) -> bool:
        """Whether to draw now; when it says so, the frame counts as drawn. Drawn: a change that is the
        run's first data (an attach's history), an urgent one, or any change once the interval is up."""
        first_data = not self.drew_data and has_data
        due = now - self.last_render >= self.interval(now)
        if not (self.dirty and (first_data or self.urgent or due)):
            return False
        self.drew_data = self.drew_data or first_data
        self.urgent = self.dirty = False
        self.last_render = now
        return True

    def hand_over_now(self, now: float, poll: float) -> bool:
        """For a reader polling every `poll` s: hand what it read over now rather than hold it for the
        frame that will draw it. Now before the first frame with data, and when a frame is due within
        the reader's next two polls (every poll while the operator is at the keys)."""
        if not self.drew_data:
            return True
        return now - self.last_render >= self.interval(now) - 2 * poll
