"""When to poll a task, learned from nothing but its status answers.

The real service sends no task timestamps, so the client learns durations from
what it saw itself: a task completed somewhere between its last "not done"
answer and its first "done" answer, both measured from when the service
accepted it (the POST answer). Each task leaves such an interval; durations are
estimated from the intervals (interval-censored), never from the moment the
completion was *noticed*, so the estimate cannot creep upward with the client's
own detection lag.

Planning follows the estimate: one poll shortly before the expected completion
and one shortly after (a long task gets one early look too), then geometric
fallback when the task is late. With nothing learned, polls start quick and
back off geometrically, each task on its own phase so that tasks started
together sample the timeline densely between them (the first to see its task
done wakes the others: see ``AsyncFlux2Client``).
"""

from __future__ import annotations

import math
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any

__all__ = ["PollPolicy", "LatencyModel", "Estimate", "fit_intervals", "sibling_phase"]

#: The golden ratio's fractional part: successive multiples spread evenly over [0, 1).
_GOLDEN = 0.6180339887498949
LatencyKey = tuple[str, ...]


@dataclass(frozen=True)
class PollPolicy:
    """Tuning for status polling.

    ``first`` / ``growth``: first delay and backoff factor while nothing is known
    about this kind of task (and, from the bracket on, when a task is late).
    ``min_interval`` / ``max_interval``: bounds on the gap between two polls of one task.
    ``precision``: half-width of the bracket around the expected completion, as a
    share of the expected duration (``min_interval`` at least).
    ``early``: one look at this share of the expected duration, for tasks expected to
    take ``early_after`` seconds or more (catches failures and a service that got faster).
    ``history``: how many recent tasks of each kind the estimate is drawn from.
    ``phase_spread``: spread of each task's own phase while nothing is known.
    ``max_retry_after``: the longest a server's ``Retry-After`` on a status answer may
    hold the next poll back (larger values are treated as this).
    """

    first: float = 0.25
    growth: float = 1.45
    min_interval: float = 0.02
    max_interval: float = 8.0
    precision: float = 0.01
    early: float = 0.5
    early_after: float = 2.0
    history: int = 12
    phase_spread: float = 0.3
    max_retry_after: float = 60.0

    def half_width(self, estimate: Estimate) -> float:
        """Half-width of the bracket of polls around the expected completion."""
        return max(self.min_interval, self.precision * estimate.mean, estimate.spread)

    def targets(self, estimate: Estimate, phase: float) -> list[float]:
        """Planned poll times (seconds after acceptance) for a task of this kind.

        ``phase`` in [0, 1) shifts the bracket inside the uncertainty, so that tasks
        running together, or one after another, look at different moments: between
        them they pin the duration down instead of confirming the same guess."""
        w = self.half_width(estimate)
        centre = estimate.mean + (2 * phase - 1) * 0.5 * w
        # A wide uncertainty gets a third poll in the middle of the bracket.
        inner = 3 if estimate.spread > 2 * max(self.min_interval, self.precision * estimate.mean) else 2
        step = 2 * w / (inner - 1)
        plan = [max(0.0, centre - w + i * step) for i in range(inner)]
        if estimate.mean >= self.early_after:
            plan.insert(0, self.early * estimate.mean)
        return plan

    def next_delay(self, elapsed: float, estimate: Estimate | None, phase: float = 0.5,
                   hints: tuple[float, ...] = ()) -> float:
        """Seconds to wait before the next poll of a task accepted ``elapsed`` s ago.

        ``hints``: further moments worth a look (a sibling's completion says when
        this task is likely done)."""
        if estimate is None:
            spread = 1.0 + self.phase_spread * (2 * phase - 1)
            planned = [h for h in hints if h >= elapsed + self.min_interval]
            gap = self.first * spread + (self.growth - 1) * elapsed
            return self._clamp(min([gap] + [h - elapsed for h in planned]))
        plan = sorted([*self.targets(estimate, phase), *hints])
        for target in plan:
            if target >= elapsed + self.min_interval:
                return self._clamp(target - elapsed)
        # Late: back off geometrically from the last planned look, so the lag stays
        # proportional to how late the task is, not to how long it has run.
        w = self.half_width(estimate)
        late = max(0.0, elapsed - plan[-1])
        return self._clamp(2 * w + (self.growth - 1) * late)

    def _clamp(self, gap: float) -> float:
        return min(self.max_interval, max(self.min_interval, gap))


def sibling_phase(n: int) -> float:
    """The n-th phase of a low-discrepancy sequence: any number of consecutive
    tasks are spread evenly over [0, 1)."""
    return (0.5 + n * _GOLDEN) % 1.0


@dataclass(frozen=True)
class Estimate:
    """Expected duration (seconds from acceptance to completion) and its spread."""

    mean: float
    spread: float
    #: How many observed tasks it rests on.
    samples: int


def _phi(x: float) -> float:
    return math.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)


def _cdf(x: float) -> float:
    return 0.5 * math.erfc(-x / math.sqrt(2))


def fit_intervals(intervals: list[tuple[float, float]]) -> Estimate | None:
    """Estimate a duration from intervals each known to contain one task's duration.

    When the newest intervals all overlap (a steady service), the duration lies in
    their intersection: its middle is the estimate and its width the uncertainty, so
    the estimate tightens as tasks land at different places in their brackets. When
    they do not (durations vary), fit a normal distribution to the censored data by
    expectation-maximisation. Either way only the bounds matter, never when a
    completion happened to be noticed: the estimate does not drift with detection lag."""
    if not intervals:
        return None
    consistent = _consistent_suffix(intervals)
    if len(consistent) >= min(3, len(intervals)):
        lo = max(a for a, _ in consistent)
        hi = min(b for _, b in consistent)
        if hi < lo:  # overlapping only within the tolerance
            lo = hi = (lo + hi) / 2
        mean = (lo + hi) / 2
        return Estimate(mean, max(_noise(mean), (hi - lo) / 4), len(consistent))
    return _censored_normal(intervals)


def _noise(mean: float) -> float:
    """Timing noise of one observation (scheduling, network), below which two
    bounds are not really in conflict."""
    return 0.005 + 0.002 * mean


def _consistent_suffix(intervals: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The longest run of newest intervals that share a common point."""
    lo, hi = -math.inf, math.inf
    kept: list[tuple[float, float]] = []
    for a, b in reversed(intervals):
        tol = _noise(b)
        new_lo, new_hi = max(lo, a - tol), min(hi, b + tol)
        if new_lo > new_hi:
            break
        lo, hi = new_lo, new_hi
        kept.append((a, b))
    kept.reverse()
    return kept


def _censored_normal(intervals: list[tuple[float, float]], rounds: int = 60) -> Estimate:
    mids = [(a + b) / 2 for a, b in intervals]
    mean = sum(mids) / len(mids)
    var = sum((m - mean) ** 2 for m in mids) / len(mids)
    floor = _noise(mean)
    sd = max(math.sqrt(var), floor)
    for _ in range(rounds):
        first = second = 0.0
        for a, b in intervals:
            za, zb = (a - mean) / sd, (b - mean) / sd
            mass = _cdf(zb) - _cdf(za)
            if mass < 1e-12:  # far in a tail: the nearer bound is the best guess
                x = a if za > 0 else b
                first += x
                second += x * x
                continue
            ratio = (_phi(za) - _phi(zb)) / mass
            m1 = mean + sd * ratio
            v = sd * sd * (1 + (za * _phi(za) - zb * _phi(zb)) / mass - ratio * ratio)
            first += m1
            second += max(0.0, v) + m1 * m1
        new_mean = first / len(intervals)
        new_sd = max(floor, math.sqrt(max(0.0, second / len(intervals) - new_mean ** 2)))
        done = abs(new_mean - mean) < 1e-6 and abs(new_sd - sd) < 1e-6
        mean, sd = new_mean, new_sd
        if done:
            break
    return Estimate(mean, sd, len(intervals))


class LatencyModel:
    """What tasks of each kind took here: per (endpoint, tier, resolution, action),
    the bounds of each recent task's duration. Shared by a sync client's per-loop
    clients (hence the lock); exported and loaded to survive kernel restarts."""

    def __init__(self, history: int = 12) -> None:
        self._lock = threading.Lock()
        self._history = history
        self._seen: dict[LatencyKey, deque[tuple[float, float]]] = {}
        self._fits: dict[LatencyKey, Estimate | None] = {}
        #: Result folders whose saved estimates were already read (see ``AsyncFlux2Client``).
        self.loaded_from: set[str] = set()

    def observe(self, key: LatencyKey, lower: float, upper: float) -> None:
        """A task of this kind completed after ``lower`` and by ``upper`` seconds
        from its acceptance."""
        lower = max(0.0, lower)
        if not (math.isfinite(lower) and math.isfinite(upper)) or upper <= lower:
            return
        with self._lock:
            seen = self._seen.setdefault(key, deque(maxlen=self._history))
            seen.append((lower, upper))
            self._fits.pop(key, None)

    def estimate(self, key: LatencyKey) -> Estimate | None:
        with self._lock:
            if key not in self._fits:
                self._fits[key] = fit_intervals(list(self._seen.get(key, ())))
            return self._fits[key]

    def expected(self, key: LatencyKey) -> float | None:
        fit = self.estimate(key)
        return fit.mean if fit else None

    def export(self) -> dict[LatencyKey, list[tuple[float, float]]]:
        with self._lock:
            return {k: list(v) for k, v in self._seen.items() if v}

    def load(self, saved: dict[LatencyKey, Any]) -> None:
        """Add intervals saved by an earlier kernel, older than anything seen here."""
        with self._lock:
            for key, bounds in saved.items():
                clean = [(float(a), float(b)) for a, b in _pairs(bounds)]
                mine = list(self._seen.get(key, ()))
                self._seen[key] = deque(clean + mine, maxlen=self._history)
                self._fits.pop(key, None)


def _pairs(bounds: Any) -> list[tuple[float, float]]:
    out = []
    for pair in bounds if isinstance(bounds, list) else []:
        if (isinstance(pair, (list, tuple)) and len(pair) == 2
                and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in pair)
                and 0 <= pair[0] < pair[1] < 86_400):
            out.append((float(pair[0]), float(pair[1])))
    return out
