"""The advisor's answer for the screen, recomputed only as often as the keys can afford. Pure: no Textual."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from cockpit.history import History

log = logging.getLogger(__name__)


class AdviceThrottle:
    """Re-advise when the history changed, at most every `min_interval` s and never more than a tenth of
    the time: on a million-step run one pass of the whole-run rules takes long enough to be felt, and the
    keys must stay responsive. The state counts as a change too: a run's final state adds no metrics row,
    and the advice of a finished run is another (a live "lr x2 now" becomes "next run: lr x2").

    Args:
        min_interval: 0.5 s live; 0 in a replay, where each cursor move is a new question.
        clock: monotonic seconds.
    """

    def __init__(self, min_interval: float, clock: Callable[[], float] = time.monotonic):
        self.min_interval = min_interval
        self.clock = clock
        self.deferred = False
        """The last call returned stale advice: the caller asks again at a later tick, so a quiet run
        still gets advice."""
        self._advice: Any = None
        self._at = 0.0
        self._cost = 0.0
        self._seen: tuple[int, str] = (-1, "")

    @property
    def last(self):
        """The advice last computed, without asking again."""
        return self._advice

    def advice(self, h: History):
        now = self.clock()
        seen = (len(h), h.state)
        stale = seen != self._seen
        wait = max(self.min_interval, 10 * self._cost)
        self.deferred = stale and self._seen[0] > 0 and now - self._at < wait
        if stale and not self.deferred:
            try:
                from cockpit.advisor import advise

                self._advice = advise(h) if len(h) else None
            except Exception as e:  # the advisor must never take the cockpit down
                log.error("advisor failed: %s", e)
                self._advice = None
            self._cost = self.clock() - now
            self._at, self._seen = now, seen
        return self._advice
