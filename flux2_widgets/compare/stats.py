"""Statistics of votes: win rates, rankings with intervals, and a stop rule for a blind arena.

Every vote in a comparison is a contest between the sides shown. A win is one
point for the winner against each other side; a **tie counts half a win for
each side** (the chess convention), and ties are also reported separately, so
``wins`` = outright wins + ties / 2 and ``trials`` counts every contest a
variant took part in. The win rate is ``wins / trials`` and its 95% interval
is Wilson's score interval, which stays inside [0, 1] and behaves with few
votes (where the textbook p +- 1.96 SE does not).

With more than two variants (say three prompt styles voted on in pairs), the
variants are also ranked by Bradley-Terry strengths fitted with Hunter's MM
algorithm (2004): no SciPy needed, and every step raises the likelihood;
:func:`bradley_terry_intervals` adds bootstrap intervals for a projector.

A live A/B is looked at after every vote, which a fixed-n interval does not allow:
:func:`sequential_test` is a confidence sequence that stays valid however often it is
read (ties set aside there, see its docstring), and :func:`fixed_sample_size` says what
a fixed-n test of the same power would have needed.

Longer than most modules, for one job: turning votes into figures a room can trust. The
pieces share the Wilson interval, the MM fit and the input checks, and the arena reads
them side by side; no I/O, no widgets.
"""

from __future__ import annotations

import html
import math
import numbers
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from statistics import NormalDist
from typing import TYPE_CHECKING, Any, Literal, SupportsFloat, cast

from .._export import require_pandas, write_csv
from ..errors import ValidationError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from .comparison import Comparison
    from .history import History

__all__ = ["SequentialResult", "Standing", "Standings", "VoteTally", "bradley_terry",
           "bradley_terry_intervals", "fixed_sample_size", "sequential_test", "tally_votes",
           "wilson_interval"]

#: Two-sided 95% normal quantile.
Z95 = 1.959963984540054
_BY = ("variant", "side")


def wilson_interval(successes: float, trials: float, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a proportion; ``(0, 1)`` when there are no trials.
    ``successes`` may be fractional (ties count half)."""
    if trials <= 0:
        return 0.0, 1.0
    p = successes / trials
    z2 = z * z
    denom = 1 + z2 / trials
    center = (p + z2 / (2 * trials)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials))
    return max(0.0, center - half), min(1.0, center + half)


def _fit(games: list[list[tuple[int, float]]], total_wins: list[float], start: list[float],
         iterations: int, tolerance: float) -> list[float]:
    """Hunter's MM, cyclic: ``games[i]`` holds ``(j, n_ij)`` per opponent met, ``total_wins[i]``
    is W_i, and each p_i <- W_i / sum_j n_ij / (p_i + p_j) uses the strengths already updated
    in this sweep (still an MM step, so the likelihood still rises; about half the sweeps of
    updating all at once). Strengths sum to 1; ``start`` back if nobody won."""
    p = list(start)
    for _ in range(iterations):
        before = p
        p = list(p)
        for i, row in enumerate(games):
            pi = p[i]
            denom = 0.0
            for j, n in row:
                if pi + p[j] > 0:
                    denom += n / (pi + p[j])
            p[i] = total_wins[i] / denom if denom > 0 else 0.0
        norm = sum(p)
        if norm <= 0:
            return list(start)
        p = [v / norm for v in p]
        if max(abs(a - b) for a, b in zip(p, before, strict=True)) < tolerance:
            break
    return p


def _games(names: list[str], wins: Mapping[str, Mapping[str, float]]) -> list[list[tuple[int, float]]]:
    at = {name: i for i, name in enumerate(names)}
    games: list[list[tuple[int, float]]] = [[] for _ in names]
    for i, a in enumerate(names):
        for b in names:
            n = wins.get(a, {}).get(b, 0.0) + wins.get(b, {}).get(a, 0.0)
            if b != a and n:
                games[i].append((at[b], n))
    return games


def bradley_terry(wins: dict[str, dict[str, float]], *, iterations: int = 10_000,
                  tolerance: float = 1e-10) -> dict[str, float]:
    """Strengths ``p`` (summing to 1) with P(i beats j) = p_i / (p_i + p_j).

    ``wins[i][j]`` is how often i beat j (ties already split in halves). Hunter's
    MM update: p_i <- W_i / sum_j n_ij / (p_i + p_j). A variant that never won
    gets strength 0 (the maximum-likelihood answer).
    """
    names = sorted(set(wins) | {j for row in wins.values() for j in row})
    if not names:
        return {}
    total_wins = [float(sum(wins.get(i, {}).values())) for i in names]
    start = [1.0 / len(names)] * len(names)
    strengths = _fit(_games(names, wins), total_wins, start, iterations, tolerance)
    return dict(zip(names, strengths, strict=True))


# -- a stop rule that stays valid however often it is looked at ----------------------------

#: The mixing prior of the sequential test: Beta(3, 3) over P(a beats b). Most of its
#: weight lies between 20/80 and 80/20, the preferences an arena meets; against a uniform
#: prior it decides a 60/40 or 70/30 preference sooner, and 10-0 is still a verdict.
_PRIOR = 3.0
_LN2 = math.log(2.0)


def _lbeta(x: float, y: float) -> float:
    return math.lgamma(x) + math.lgamma(y) - math.lgamma(x + y)


_LBETA_PRIOR = _lbeta(_PRIOR, _PRIOR)


def _real(value: Any) -> float | None:
    """A real number as a float (NumPy's too); ``None`` for anything else, bools included."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    return float(cast(SupportsFloat, value))


def _whole(name: str, value: Any) -> int:
    number = _real(value)
    if number is None or not number.is_integer() or number < 0:  # NaN and inf are not integers
        raise ValidationError(f"{name} must be a whole number of votes >= 0, not {value!r}", field=name,
                              value=value, allowed="a whole number >= 0")
    return int(number)


def _fraction(name: str, value: Any, low: float, high: float, *, high_open: bool = False) -> float:
    number = _real(value)
    if number is None or not (low < number < high or (number == high and not high_open)):
        allowed = f"a number in ({low:g}, {high:g}{')' if high_open else ']'}"
        raise ValidationError(f"{name} must be {allowed}, not {value!r}", field=name, value=value,
                              allowed=allowed)
    return number


@dataclass(frozen=True)
class SequentialResult:
    """What :func:`sequential_test` concluded from the counts so far.

    ``verdict`` is ``"a"``, ``"b"`` or ``"undecided"``; ``low``/``high`` bound P(a beats b)
    among votes that picked a side, with ``1 - alpha`` confidence at every look at once;
    ``evidence`` is the e-value against "no preference" (a verdict once it reaches
    ``threshold`` = 1 / alpha). Ties are counted and reported, and change nothing else.
    """

    verdict: Literal["a", "b", "undecided"]
    wins_a: int
    wins_b: int
    ties: int
    alpha: float
    low: float
    high: float
    log_evidence: float

    @property
    def decided(self) -> bool:
        return self.verdict != "undecided"

    @property
    def votes(self) -> int:
        """Every vote counted, ties included."""
        return self.wins_a + self.wins_b + self.ties

    @property
    def decisive(self) -> int:
        """Votes that picked a side: the ones the test reads."""
        return self.wins_a + self.wins_b

    @property
    def estimate(self) -> float | None:
        """Share of decisive votes for a; ``None`` before the first one."""
        return self.wins_a / self.decisive if self.decisive else None

    @property
    def evidence(self) -> float:
        return math.exp(self.log_evidence) if self.log_evidence < 709 else math.inf

    @property
    def threshold(self) -> float:
        return 1.0 / self.alpha

    @property
    def p_value(self) -> float:
        """An anytime-valid p-value, ``min(1, 1 / evidence)``: at most alpha exactly when decided."""
        return min(1.0, math.exp(-self.log_evidence))

    def text(self, a: str = "A", b: str = "B") -> str:
        """One line for a projector, with the sides' names."""
        head = {"a": f"{a} preferred", "b": f"{b} preferred"}.get(self.verdict, "No verdict yet")
        tie_text = f", {self.ties} tie{'s' if self.ties != 1 else ''} set aside" if self.ties else ""
        if not self.decisive:
            return f"{head}: {self.votes} vote{'s' if self.votes != 1 else ''}{tie_text}"
        # said of the side ahead: "Flex leads (Pro wins 20% ...)" reads backwards on a projector
        share, low, high, who = self.estimate or 0.0, self.low, self.high, a
        if share < 0.5:
            share, low, high, who = 1 - share, 1 - self.high, 1 - self.low, b
        return (f"{head}: {who} wins {share:.0%} of {self.decisive} decisive votes "
                f"({1 - self.alpha:.0%} anytime-valid interval {low:.0%}–{high:.0%}); "
                f"evidence {self.evidence:.3g} of {self.threshold:g} needed{tie_text}")

    def __str__(self) -> str:
        return self.text()


def _cs_bound(k: int, m: int, level: float, lower: bool) -> float:
    """One end of {p : k ln p + m ln(1-p) > level}. The log-likelihood is concave and above
    ``level`` at k / (k + m), so there is one root on each side; Newton's method started
    outside the root climbs to it without crossing (a concave curve lies under its tangents),
    so the bound is never narrower than the true one."""
    edge = 0.0 if lower else 1.0
    if (k == 0) if lower else (m == 0):
        return edge  # the log-likelihood stays above level up to the edge

    def f(x: float) -> float:
        return k * math.log(x) + m * math.log1p(-x) - level

    x = (k / (k + m) + edge) / 2
    while f(x) > 0:  # walk out past the root (f falls to -inf at the edge)
        x = (x + edge) / 2
    for _ in range(100):
        step = f(x) / (k / x - m / (1 - x))
        x -= step
        if abs(step) < 1e-12:
            break
    return x


def sequential_test(wins_a: int, wins_b: int, alpha: float = 0.05, *, ties: int = 0) -> SequentialResult:
    """Has a blind A/B found a preference? Valid however often it is asked.

    Re-checking a fixed-n interval after every vote finds a "winner" far more often than
    alpha when there is none. This is a confidence sequence instead: Robbins' beta-binomial
    mixture martingale (Robbins 1970; Howard et al. 2021). Let p = P(a beats b) among votes
    that pick a side. For any p0, the likelihood of the decisive votes averaged over a
    Beta(3, 3) prior on p, divided by their likelihood under p0,

        M_n(p0) = B(3 + wins_a, 3 + wins_b) / B(3, 3) / (p0^wins_a (1 - p0)^wins_b),

    is a nonnegative martingale with mean 1 when p0 is the truth, so by Ville's inequality
    it ever reaches 1 / alpha with probability at most alpha, *over the whole sequence of
    looks*, at any number of them and with stopping whenever you like. The interval is
    {p0 : M_n(p0) < 1 / alpha}; ``evidence`` is M_n(1/2) and the verdict is a side once
    it reaches 1 / alpha (exactly when 1/2 leaves the interval). A pure function of the
    counts: O(1) for the evidence, a few Newton steps for the interval.

    **Ties are set aside**: they are counted (``ties``, ``votes``) but neither the evidence
    nor the interval reads them. A tie says nothing about which side is better, so it must
    not move the test; counting it as half a win each would add trials and so narrow the
    interval around whatever lead there is, pushing toward a verdict. Because the
    martingale stays put on a tie, the guarantee holds whatever the tie rate.

    ``wins_a``, ``wins_b``, ``ties``: whole numbers >= 0; ``alpha`` in (0, 0.5].
    """
    k, m = _whole("wins_a", wins_a), _whole("wins_b", wins_b)
    t = _whole("ties", ties)
    alpha = _fraction("alpha", alpha, 0.0, 0.5)
    log_mix = _lbeta(_PRIOR + k, _PRIOR + m) - _LBETA_PRIOR
    log_e = log_mix + (k + m) * _LN2
    level = log_mix + math.log(alpha)
    low, high = _cs_bound(k, m, level, True), _cs_bound(k, m, level, False)
    verdict: Literal["a", "b", "undecided"] = "undecided"
    if log_e >= -math.log(alpha):
        verdict = "a" if k > m else "b"
    return SequentialResult(verdict, k, m, t, alpha, low, high, log_e)


def fixed_sample_size(p_a: float, alpha: float = 0.05, power: float = 0.8) -> int:
    """Decisive (non-tie) votes a fixed-n two-sided binomial test of "no preference" needs
    to detect P(a beats b) = ``p_a`` with this ``power``: the normal approximation without
    continuity correction, n = ((z_{1-alpha/2} / 2 + z_power sqrt(p_a (1 - p_a))) /
    (p_a - 1/2))^2, rounded up. 70/30 at alpha 0.05 and power 0.8 gives 47.

    For "a fixed test would have needed N votes": with a tie share s, divide by (1 - s).
    Give the preference worth detecting, not the estimate where a sequential test stopped
    (stopping on a lead overstates it).
    ``p_a`` in (0, 1) but not 1/2; ``alpha`` in (0, 0.5]; ``power`` in [0.5, 1).
    """
    p = _fraction("p_a", p_a, 0.0, 1.0, high_open=True)
    if p == 0.5:
        raise ValidationError("p_a = 0.5 is no preference: no number of votes detects it",
                              field="p_a", value=p_a, allowed="a number in (0, 1) other than 0.5")
    alpha = _fraction("alpha", alpha, 0.0, 0.5)
    beta = _real(power)
    if beta is None or not 0.5 <= beta < 1:
        raise ValidationError(f"power must be a number in [0.5, 1), not {power!r}", field="power",
                              value=power, allowed="a number in [0.5, 1)")
    normal = NormalDist()
    z = normal.inv_cdf(1 - alpha / 2) * 0.5 + normal.inv_cdf(beta) * math.sqrt(p * (1 - p))
    return math.ceil((z / (p - 0.5)) ** 2 - 1e-9)


# -- rankings with intervals --------------------------------------------------------------

#: Bootstrap refits stop at this change in any strength (the standings show 3 decimals).
_BOOT_TOLERANCE = 1e-7
_BOOT_ITERATIONS = 2_000


@dataclass(frozen=True)
class Standing:
    """One variant in :class:`Standings`. ``strength`` is its Bradley-Terry strength with the
    bootstrap interval ``low``-``high`` and ``p_best`` the share of resamples it came first
    in; ``win_rate`` (ties half) has its Wilson interval. ``None``: the variant met nobody."""

    rank: int
    variant: str
    strength: float | None
    low: float | None
    high: float | None
    p_best: float | None
    wins: float
    trials: int
    win_rate: float | None
    win_low: float
    win_high: float


@dataclass(frozen=True)
class Standings:
    """Variants best first, from :func:`bradley_terry_intervals`. ``groups`` > 1 means some
    variants were never compared, directly or through others: strengths across groups
    are then not comparable."""

    standings: tuple[Standing, ...]
    level: float
    resamples: int
    seed: int | None
    groups: int

    @property
    def ranking(self) -> list[str]:
        return [s.variant for s in self.standings]

    def __getitem__(self, variant: str) -> Standing:
        for s in self.standings:
            if s.variant == variant:
                return s
        raise KeyError(variant)

    def rows(self) -> list[dict[str, Any]]:
        return [dict(vars(s)) for s in self.standings]

    def __str__(self) -> str:
        lines = [f"Bradley-Terry, {self.level:.0%} bootstrap intervals ({self.resamples} resamples)"]
        for s in self.standings:
            bt = "no votes" if s.strength is None else (
                f"{s.strength:.3f} ({s.low:.3f}–{s.high:.3f}), best in {s.p_best:.0%}")
            lines.append(f"{s.rank}. {s.variant}: {bt}; won {s.wins:g} of {s.trials}")
        if self.groups > 1:
            lines.append(f"({self.groups} groups never compared with each other)")
        return "\n".join(lines)


def _check_wins(wins: Any) -> tuple[list[str], list[tuple[int, int, int, int, int]]]:
    """Names (sorted) and per pair (i, j, i's wins, j's wins, ties): a tie is the half
    point each side holds in ``wins``; a win each is never read as two ties."""
    if not isinstance(wins, Mapping):
        raise ValidationError(f"wins must be a dict {{winner: {{loser: count}}}}, not {type(wins).__name__}",
                              field="wins", value=wins, allowed="dict of dicts")
    halves: dict[tuple[str, str], int] = {}
    for a, row in wins.items():
        if not isinstance(a, str) or not isinstance(row, Mapping):
            raise ValidationError(f"wins[{a!r}] must map loser names to counts", field="wins", value=row,
                                  allowed="dict of dicts")
        for b, count in row.items():
            number = _real(count)
            if not isinstance(b, str) or b == a or number is None or number < 0 or not (
                    number * 2).is_integer():
                raise ValidationError(f"wins[{a!r}][{b!r}] = {count!r}: counts are whole or half wins "
                                      ">= 0 against another variant", field="wins", value=count,
                                      allowed="a multiple of 0.5 >= 0")
            halves[a, b] = int(number * 2)
    names = sorted(set(wins) | {b for row in wins.values() for b in row})
    pairs = []
    for i, a in enumerate(names):
        for j in range(i + 1, len(names)):
            b = names[j]
            h_ab, h_ba = halves.get((a, b), 0), halves.get((b, a), 0)
            if h_ab % 2 != h_ba % 2:
                raise ValidationError(f"wins[{a!r}][{b!r}] and wins[{b!r}][{a!r}] do not add up: a tie "
                                      "gives half a win to each side", field="wins", value=(a, b),
                                      allowed="ties as 0.5 on both sides")
            if h_ab or h_ba:
                t = h_ab % 2
                pairs.append((i, j, (h_ab - t) // 2, (h_ba - t) // 2, t))
    return names, pairs


def _groups(n: int, pairs: list[tuple[int, int, int, int, int]]) -> int:
    parent = list(range(n))

    def root(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for i, j, *_ in pairs:
        parent[root(i)] = root(j)
    played = {i for p in pairs for i in p[:2]}
    return len({root(i) for i in played})


def _quantile(sorted_values: list[float], q: float) -> float:
    h = (len(sorted_values) - 1) * q
    lo = math.floor(h)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (h - lo) * (sorted_values[hi] - sorted_values[lo])


def bradley_terry_intervals(wins: Mapping[str, Mapping[str, float]], *, level: float = 0.95,
                            resamples: int = 1000, seed: int | None = 0) -> Standings:
    """Bradley-Terry strengths with bootstrap intervals, and win rates with Wilson's.

    ``wins[i][j]`` is how often i beat j, ties as half a win to each (as :func:`tally_votes`
    counts them). Each pair's contests are resampled with replacement, keeping how many
    contests each pair had (the arena chose which pairs to show; voters chose the winners),
    and refitted with Hunter's MM, warm-started at the full fit and stopped at a 1e-7
    change. The interval is the percentile one; ``p_best`` is the share of resamples in
    which a variant came first. The same ``seed`` gives the same figures (``None``:
    fresh randomness), so a projector's numbers do not jitter between refreshes.
    """
    names, pairs = _check_wins(wins)
    level = _fraction("level", level, 0.0, 1.0, high_open=True)
    if isinstance(resamples, bool) or not isinstance(resamples, int) or not 100 <= resamples <= 100_000:
        raise ValidationError(f"resamples must be a whole number in 100-100000, not {resamples!r}",
                              field="resamples", value=resamples, allowed="100-100000")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise ValidationError(f"seed must be an integer or None, not {seed!r}", field="seed", value=seed,
                              allowed="int or None")
    k = len(names)
    games: list[list[tuple[int, float]]] = [[] for _ in names]
    base_wins = [0.0] * k
    trials = [0] * k
    for i, j, w_i, w_j, t in pairs:
        n = w_i + w_j + t
        games[i].append((j, float(n)))
        games[j].append((i, float(n)))
        base_wins[i] += w_i + t / 2
        base_wins[j] += w_j + t / 2
        trials[i] += n
        trials[j] += n
    fit = _fit(games, base_wins, [1.0 / k] * k, 10_000, 1e-10) if k else []
    rng = random.Random(seed)
    # Each pair's contests as the points they gave its first side: 1 a win, 0 a loss, 1/2 a tie.
    contests = [(i, j, [1.0] * w_i + [0.0] * w_j + [0.5] * t) for i, j, w_i, w_j, t in pairs]
    draws: list[list[float]] = [[] for _ in names]
    best = [0.0] * k
    for _ in range(resamples if pairs else 0):
        total = [0.0] * k
        for i, j, points in contests:
            got = sum(rng.choices(points, k=len(points)))
            total[i] += got
            total[j] += len(points) - got
        p = _fit(games, total, fit, _BOOT_ITERATIONS, _BOOT_TOLERANCE)
        top = max(p)
        leaders = [i for i in range(k) if trials[i] and p[i] >= top - 1e-12]
        for i in range(k):
            draws[i].append(p[i])
        for i in leaders:
            best[i] += 1 / len(leaders)
    z = NormalDist().inv_cdf(0.5 + level / 2)
    rows = []
    for i, name in enumerate(names):
        played = trials[i] > 0
        ordered = sorted(draws[i])
        low, high = wilson_interval(base_wins[i], trials[i], z)
        rows.append((name, fit[i] if played else None,
                     _quantile(ordered, (1 - level) / 2) if played else None,
                     _quantile(ordered, (1 + level) / 2) if played else None,
                     best[i] / resamples if played else None, base_wins[i], trials[i],
                     base_wins[i] / trials[i] if played else None, low, high))
    rows.sort(key=lambda r: (r[1] is None, -(r[1] or 0.0)))
    standings = tuple(Standing(rank, *row) for rank, row in enumerate(rows, start=1))
    return Standings(standings, level, resamples, seed, _groups(k, pairs))


class VoteTally:
    """Per variant: wins, ties, trials, win rate, its 95% Wilson interval and rank
    (Bradley-Terry strength as well when there are more than two variants).

    ``rows()`` / ``to_csv()`` / ``to_pandas()`` export it like the comparisons.
    """

    def __init__(self, rows: list[dict[str, Any]], *, votes: int, comparisons: int, by: str) -> None:
        self._rows = rows
        self.votes = votes
        self.comparisons = comparisons
        self.by = by

    def rows(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self._rows]

    @property
    def ranking(self) -> list[str]:
        """Variants, best first."""
        return [r["variant"] for r in self._rows]

    def __getitem__(self, variant: str) -> dict[str, Any]:
        for row in self._rows:
            if row["variant"] == variant:
                return dict(row)
        raise KeyError(variant)

    def to_pandas(self) -> pd.DataFrame:
        return require_pandas().DataFrame(self.rows())

    def to_csv(self, path: str | Path) -> Path:
        return write_csv(path, self.rows())

    def _lines(self) -> list[tuple[str, ...]]:
        out: list[tuple[str, ...]] = []
        for r in self._rows:
            bt = f"{r['bt_strength']:.3f}" if r["bt_strength"] is not None else ""
            out.append((str(r["rank"]), r["variant"], f"{r['wins']:g}", str(r["ties"]), str(r["trials"]),
                        f"{r['win_rate']:.0%}" if r["trials"] else "n/a",
                        f"{r['ci_low']:.0%}–{r['ci_high']:.0%}" if r["trials"] else "n/a", bt))
        return out

    _HEAD = ("rank", "variant", "wins", "ties", "trials", "win rate", "95% CI (Wilson)", "Bradley-Terry")

    def __str__(self) -> str:
        lines = [self._HEAD, *self._lines()]
        widths = [max(len(line[i]) for line in lines) for i in range(len(self._HEAD))]
        text = ["  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in lines]
        return "\n".join([f"{self.votes} votes in {self.comparisons} comparisons (ties count half)", *text])

    def __repr__(self) -> str:
        return f"<VoteTally {self.votes} votes, ranking {self.ranking}>"

    def _repr_html_(self) -> str:
        head = "".join(f'<th style="padding:2px 8px">{html.escape(h)}</th>' for h in self._HEAD)
        body = "".join("<tr>" + "".join(f'<td style="padding:2px 8px">{html.escape(c)}</td>' for c in line)
                       + "</tr>" for line in self._lines())
        return (f'<div style="font:13px sans-serif"><b>{self.votes} votes in {self.comparisons} '
                f"comparisons</b> (ties count half a win for each side)<table><thead><tr>{head}</tr>"
                f"</thead><tbody>{body}</tbody></table></div>")


def _variant_names(cmp: Comparison, by: str) -> dict[str, str]:
    """side key -> the name a vote for it is counted under."""
    if by == "side":
        return dict(cmp.sides)
    names = {}
    for key, label in cmp.sides:
        cell = next((c for c in cmp.cells if c.side == key), None)
        names[key] = cell.request.prompt if cell is not None and cmp.kind == "prompts" else label
    return names


def tally_votes(comparisons: Iterable[Comparison] | Comparison | History, *, by: str = "variant",
                blind_only: bool = False) -> VoteTally:
    """Sum the votes of many comparisons per variant: a list of comparisons, one, or a
    ``History()`` (every comparison saved in the folder, across sessions and kernels).

    ``by="variant"`` (default) counts a tier comparison's votes under the tier
    (``Pro``), a resolution comparison's under the resolution and a prompt A/B's
    under the prompt text, so the same prompt met in several A/B tests adds
    up; ``by="side"`` counts under the side labels (``A`` / ``B``) instead.
    ``blind_only=True`` keeps only votes cast before the sides were revealed.
    """
    from .comparison import Comparison

    if by not in _BY:
        raise ValidationError(f"by must be one of {', '.join(_BY)}, not {by!r}", field="by", value=by,
                              allowed=_BY)
    from .history import History
    from .saved import _Tallied, tally_sources

    if isinstance(comparisons, History):
        items: list[Any] = tally_sources(comparisons)
    else:
        items = [comparisons] if isinstance(comparisons, Comparison) else list(comparisons)
    for i, cmp in enumerate(items):
        if not isinstance(cmp, (Comparison, _Tallied)):
            raise ValidationError(f"comparisons[{i}] is a {type(cmp).__name__}, not a Comparison",
                                  field="comparisons", value=type(cmp).__name__, allowed="Comparison")
    beat: dict[str, dict[str, float]] = {}
    ties: dict[str, int] = {}
    trials: dict[str, int] = {}
    order: list[str] = []
    n_votes = 0
    for cmp in items:
        names = _variant_names(cmp, by)
        for name in names.values():
            if name not in order:
                order.append(name)
        for vote in cmp.votes:
            if blind_only and not vote.get("blind"):
                continue
            n_votes += 1
            shown = list(names.values())
            for a_i, a in enumerate(shown):
                for b in shown[a_i + 1:]:
                    if a == b:
                        continue
                    trials[a] = trials.get(a, 0) + 1
                    trials[b] = trials.get(b, 0) + 1
                    if vote["choice"] == "tie":
                        for x, y in ((a, b), (b, a)):
                            beat.setdefault(x, {})[y] = beat.get(x, {}).get(y, 0.0) + 0.5
                            ties[x] = ties.get(x, 0) + 1
                    else:
                        winner = names.get(vote["choice"])
                        if winner in (a, b):
                            loser = b if winner == a else a
                            beat.setdefault(winner, {})[loser] = beat.get(winner, {}).get(loser, 0.0) + 1
    strengths = bradley_terry({v: beat.get(v, {}) for v in order}) if len(order) > 2 else {}
    rows: list[dict[str, Any]] = []
    for name in order:
        won = sum(beat.get(name, {}).values())
        n = trials.get(name, 0)
        low, high = wilson_interval(won, n)
        rows.append({"variant": name, "wins": won, "ties": ties.get(name, 0), "trials": n,
                     "win_rate": won / n if n else None, "ci_low": low, "ci_high": high,
                     "bt_strength": strengths.get(name) if strengths else None})
    # Rank by strength where fitted, else by win rate; unvoted variants last, in first-seen order.
    rows.sort(key=lambda r: (-(r["bt_strength"] if r["bt_strength"] is not None else -1.0),
                             -(r["win_rate"] if r["win_rate"] is not None else -1.0)))
    for i, row in enumerate(rows):
        row["rank"] = i + 1
    return VoteTally([{"rank": r.pop("rank"), **r} for r in rows], votes=n_votes, comparisons=len(items),
                     by=by)
