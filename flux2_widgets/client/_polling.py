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

from .._checks import check_number

__all__ = ["PollPolicy", "LatencyModel", "Estimate", "fit_intervals", "sibling_phase"]

#: The golden ratio's fractional part: successive multiples spread evenly over [0, 1).
_GOLDEN = 0.6180339887498949
LatencyKey = tuple[str, ...]


@dataclass(frozen=True)
class PollPolicy:
    """Tuning for status polling.

    ``first`` / ``growth``: first delay and backoff factor while nothing is known
    about this kind of task (each task starts somewhere in [first, first * growth)),
    and the backoff factor when a task is later than expected.
    ``min_interval`` / ``max_interval``: bounds on the gap between two polls of one task.
    ``precision``: how close to the completion a look should come once the duration
    is known, as a share of it (``min_interval`` at least).
    ``max_looks``: how many looks may be spread across the uncertainty about one task.
    ``late_share``: with nothing known, a task running for more than a few seconds
    is looked at again within this share of its age; ``crowd`` tasks of one kind polled
    together each take ``crowd`` times the share, at most ``max_late_share``.
    ``early``: one look at this share of the expected duration, for tasks expected to
    take ``early_after`` seconds or more (catches failures and a service that got faster).
    ``history``: how many recent tasks of each kind the estimate is drawn from.
    ``max_retry_after``: the longest a server's ``Retry-After`` on a status answer may
    hold the next poll back (larger values are treated as this).
    """

    first: float = 0.25
    growth: float = 1.6
    min_interval: float = 0.01
    max_interval: float = 8.0
    precision: float = 0.005
    max_looks: int = 3
    late_share: float = 0.06
    max_late_share: float = 0.5
    early: float = 0.5
    early_after: float = 2.0
    history: int = 12
    max_retry_after: float = 60.0

    def __post_init__(self) -> None:
        # A zero, negative or NaN setting would poll in a tight loop or never again:
        # refused here, naming the field, before any task is polled with it.
        for name in ("first", "min_interval", "precision", "late_share", "max_late_share"):
            check_number(f"PollPolicy.{name}", getattr(self, name))
        check_number("PollPolicy.growth", self.growth, minimum=1.0)
        check_number("PollPolicy.early", self.early, maximum=1.0)
        # math.inf means "no cap" / "never" for these three; 0 means "ignore Retry-After".
        if self.max_interval != math.inf:
            check_number("PollPolicy.max_interval", self.max_interval, minimum=self.min_interval,
                         strict=False)
        if self.early_after != math.inf:
            check_number("PollPolicy.early_after", self.early_after, strict=False)
        if self.max_retry_after != math.inf:
            check_number("PollPolicy.max_retry_after", self.max_retry_after, strict=False)
        check_number("PollPolicy.max_looks", self.max_looks, integer=True)
        check_number("PollPolicy.history", self.history, integer=True)

    def step(self, estimate: Estimate) -> float:
        """Spacing of the planned looks: fine enough to find the completion within
        ``precision`` once the duration is pinned down, coarser while it is not (never
        more than ``max_looks`` looks across the uncertainty)."""
        fine = 2 * max(self.min_interval, self.precision * estimate.mean)
        return max(fine, (estimate.high - estimate.low) / self.max_looks)

    def targets(self, estimate: Estimate, phase: float) -> list[float]:
        """Planned poll times (seconds after acceptance) for a task of this kind: a
        grid across the window where the completion is expected, from a look shortly
        before it to one at or past its end, so a task that keeps to the estimate is
        seen within one step.

        ``phase`` in [0, 1) shifts the grid, so that tasks running together, or one
        after another, look at different moments: between them they pin the duration
        down instead of confirming the same guess."""
        step = self.step(estimate)
        # The first look comes just before the window: its "not yet" keeps telling how
        # early a task can finish (without it, bounds of later tasks would only say
        # "done by then", and the window would widen back to zero).
        at = estimate.low - step * (1 - phase)
        plan = []
        while True:
            plan.append(max(0.0, at))
            if at >= estimate.high:
                break
            at += step
        early = self.early * estimate.mean
        if estimate.mean >= self.early_after and early < plan[0] - step:
            plan.insert(0, early)
        return plan

    def next_delay(self, elapsed: float, estimate: Estimate | None, phase: float = 0.5,
                   hints: tuple[float, ...] = (), crowd: int = 1) -> float:
        """Seconds to wait before the next poll of a task accepted ``elapsed`` s ago.

        ``hints``: further moments worth a look (a sibling's completion says when
        this task is likely done). ``crowd``: how many tasks of this kind are being
        polled now, this one included."""
        # A hint still ahead is always kept (its moment is when a sibling's end says
        # this task is likely done); the plan's own looks keep ``min_interval`` apart.
        hinted = [h - elapsed for h in hints if h > elapsed]
        if estimate is None:
            # Looks at first * growth ** (k + phase): geometric for each task, and tasks
            # on evenly spread phases interleave, covering the timeline between them.
            base = self.first * self.growth ** phase
            target = base
            if elapsed + self.min_interval > base:
                k = math.ceil(math.log((elapsed + self.min_interval) / base, self.growth))
                target = base * self.growth ** k
            # Past the first seconds, a long task is not left alone for more than a
            # share of its age: the first long task of a kind is seen within ~6% (not
            # ~60%), which leaves the next one a window narrow enough for 3 looks to
            # find its end within 3%: a one-time cost of more looks (about 50 for a
            # first 30 s task, where a 0.25 s poller spends 120 on every one).
            # Tasks started together share that: on their interleaved phases, n of them
            # each looking within n times the share sample the timeline as densely as one
            # alone, and the first to see its task done wakes the others. (A batch of 8
            # new 10 s tasks against the simulator: 92 status calls instead of 235, all
            # seen 5% late instead of 0.6%; the next batch as before, within 0.4%.)
            gap = target - elapsed
            if elapsed > self.first * 8:
                gap = min(gap, min(self.max_late_share, self.late_share * max(1, crowd)) * elapsed)
            return self._clamp(min([gap, *hinted]))
        plan = self.targets(estimate, phase)
        # A plan may leave long gaps in a long task (its early look covers failures).
        longest = max(self.max_interval, self.early * estimate.mean)
        ahead = [t - elapsed for t in plan if t >= elapsed + self.min_interval] + hinted
        if ahead:
            return max(self.min_interval, min(longest, *ahead))
        # Late: back off geometrically from the last planned look, so the lag stays
        # proportional to how late the task is, not to how long it has run.
        late = max(0.0, elapsed - plan[-1])
        return self._clamp(self.step(estimate) + (self.growth - 1) * late)

    def _clamp(self, gap: float) -> float:
        return min(self.max_interval, max(self.min_interval, gap))


def sibling_phase(n: int) -> float:
    """The n-th phase of a low-discrepancy sequence: any number of consecutive
    tasks are spread evenly over [0, 1)."""
    return (0.5 + n * _GOLDEN) % 1.0


@dataclass(frozen=True)
class Estimate:
    """Expected duration (seconds from acceptance to completion), its spread, and the
    window where the next one is expected to end."""

    mean: float
    spread: float
    #: How many observed tasks it rests on.
    samples: int
    low: float = 0.0
    high: float = 0.0


def _phi(x: float) -> float:
    return math.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)


def _cdf(x: float) -> float:
    return 0.5 * math.erfc(-x / math.sqrt(2))


def fit_intervals(intervals: list[tuple[float, float]]) -> Estimate | None:
    """Estimate a duration from intervals each known to contain one task's duration.

    When the intervals all overlap (a steady service), the duration lies in their
    intersection: its middle is the estimate and its width the uncertainty, so the
    estimate tightens as tasks land at different places in their brackets. When they
    do not (durations vary), fit a normal distribution to the censored data by
    expectation-maximisation; when the newest ones agree on a place away from all
    older ones, the service changed pace and only the newest count. Either way only
    the bounds matter, never when a completion happened to be noticed: the estimate
    does not drift with detection lag."""
    if not intervals:
        return None
    recent = _consistent_suffix(intervals)
    older = intervals[: len(intervals) - len(recent)]
    if not older or (len(recent) >= 2 and _moved(recent, older)):
        # Steady (or steady again since the service changed pace): the duration lies
        # where the recent bounds overlap.
        lo = max(a for a, _ in recent)
        hi = min(b for _, b in recent)
        if hi < lo:  # overlapping only within the tolerance
            lo = hi = (lo + hi) / 2
        mean = (lo + hi) / 2
        return Estimate(mean, max(_noise(mean), (hi - lo) / 4), len(recent), lo, hi)
    return _censored_normal(intervals)


def _moved(recent: list[tuple[float, float]], older: list[tuple[float, float]]) -> bool:
    """The recent bounds agree on a place none of the older tasks ended near: the
    service changed pace, and the older history no longer applies."""
    lo = max(a for a, _ in recent)
    hi = min(b for _, b in recent)
    old_lo = max(a for a, _ in older)
    old_hi = min(b for _, b in older)
    if old_lo <= old_hi + _noise(old_hi):
        # The older tasks were steady: the recent ones agree on a duration they rule out.
        return hi < old_lo - _noise(old_lo) or lo > old_hi + _noise(old_hi)
    # Durations that merely vary stay near each other; a change of pace moves them
    # clear of everything seen before.
    mids = [(a + b) / 2 for a, b in older]
    margin = 0.1 * hi + _noise(hi)
    return hi < min(mids) - margin or lo > max(mids) + margin


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
    return Estimate(mean, sd, len(intervals), max(0.0, mean - 1.5 * sd), mean + 1.5 * sd)


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
        if not (math.isfinite(lower) and math.isfinite(upper)) or upper <= max(0.0, lower):
            return
        lower = max(0.0, lower)
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
