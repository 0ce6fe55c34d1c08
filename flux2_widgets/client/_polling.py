"""When to poll a task: sparse early, dense around the expected completion.

A fixed interval wastes requests on long tasks and detects short ones late.
Instead the client learns how long tasks of each (tier, resolution) take on
this endpoint and concentrates its polls just before and after that moment.
With nothing learned yet it starts quick and backs off geometrically.
"""

from __future__ import annotations

import statistics
import threading
from collections import defaultdict, deque
from dataclasses import dataclass


@dataclass(frozen=True)
class PollPolicy:
    """Tuning for status polling.

    ``first``: delay before the first status check when nothing is known.
    ``growth``: backoff factor for the unknown / overdue phases.
    ``min_interval`` / ``max_interval``: bounds on the gap between two polls.
    ``around``: fractions of the expected duration at which to poll once
    the duration has been learned.
    ``overdue_fraction``: past every planned poll, wait this share of the time
    elapsed so far (keeps detection lag proportional to latency).
    """

    first: float = 0.25
    growth: float = 1.45
    min_interval: float = 0.08
    max_interval: float = 8.0
    around: tuple[float, ...] = (0.55, 0.82, 0.95, 1.02, 1.09, 1.18)
    overdue_fraction: float = 0.12
    #: How many recent durations of each kind of task the expectation is drawn from.
    history: int = 8

    #: Spread of each task's own phase in the unknown phase (0.3: gaps x 0.7-1.3).
    phase_spread: float = 0.3

    def next_delay(self, elapsed: float, last_gap: float | None, expected: float | None,
                   phase: float = 1.0) -> float:
        """Seconds to wait before the next poll, given time since acceptance.

        ``phase`` (around 1.0) staggers tasks started together while nothing is
        known: between them they sample the timeline densely, and the first to
        see a completion wakes the others (see ``AsyncFlux2Client.wait``)."""
        if expected is None:
            gap = self.first * phase if last_gap is None else last_gap * self.growth
            return self._clamp(gap)
        min_gap = max(self.min_interval, 0.04 * expected)
        for fraction in self.around:
            target = fraction * expected
            if target - elapsed >= min_gap:
                return self._clamp(target - elapsed)
        return self._clamp(max(min_gap, self.overdue_fraction * elapsed))

    def _clamp(self, gap: float) -> float:
        return min(self.max_interval, max(self.min_interval, gap))


class LatencyModel:
    """Recent task durations per (endpoint, tier, resolution), shared by clients."""

    def __init__(self, history: int = 8) -> None:
        self._lock = threading.Lock()
        self._seen: dict[tuple[str, str, str], deque[float]] = defaultdict(lambda: deque(maxlen=history))

    def observe(self, key: tuple[str, str, str], seconds: float) -> None:
        if seconds > 0:
            with self._lock:
                self._seen[key].append(seconds)

    def expected(self, key: tuple[str, str, str]) -> float | None:
        with self._lock:
            seen = self._seen.get(key)
            return statistics.median(seen) if seen else None
