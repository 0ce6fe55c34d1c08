"""Votes across many comparisons: win rates with Wilson intervals, and a Bradley-Terry ranking.

Every vote in a comparison is a contest between the sides shown. A win is one
point for the winner against each other side; a **tie counts half a win for
each side** (the chess convention), and ties are also reported separately, so
``wins`` = outright wins + ties / 2 and ``trials`` counts every contest a
variant took part in. The win rate is ``wins / trials`` and its 95% interval
is Wilson's score interval, which stays inside [0, 1] and behaves with few
votes (where the textbook p +- 1.96 SE does not).

With more than two variants (say three prompt styles voted on in pairs), the
variants are also ranked by Bradley-Terry strengths fitted with Hunter's MM
algorithm (2004): no SciPy needed, and every step raises the likelihood.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._export import require_pandas, write_csv
from ..errors import ValidationError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from .comparison import Comparison

__all__ = ["VoteTally", "bradley_terry", "tally_votes", "wilson_interval"]

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


def bradley_terry(wins: dict[str, dict[str, float]], *, iterations: int = 10_000,
                  tolerance: float = 1e-10) -> dict[str, float]:
    """Strengths ``p`` (summing to 1) with P(i beats j) = p_i / (p_i + p_j).

    ``wins[i][j]`` is how often i beat j (ties already split in halves). Hunter's
    MM update: p_i <- W_i / sum_j n_ij / (p_i + p_j). A variant that never won
    gets strength 0 (the maximum-likelihood answer).
    """
    names = sorted(set(wins) | {j for row in wins.values() for j in row})
    games = {i: {j: wins.get(i, {}).get(j, 0.0) + wins.get(j, {}).get(i, 0.0) for j in names if j != i}
             for i in names}
    total_wins = {i: sum(wins.get(i, {}).values()) for i in names}
    p = {i: 1.0 / len(names) for i in names} if names else {}
    for _ in range(iterations):
        new = {}
        for i in names:
            denom = sum(n / (p[i] + p[j]) for j, n in games[i].items() if n and p[i] + p[j] > 0)
            new[i] = total_wins[i] / denom if denom > 0 else 0.0
        norm = sum(new.values())
        if norm <= 0:
            return p
        new = {i: v / norm for i, v in new.items()}
        change = max(abs(new[i] - p[i]) for i in names)
        p = new
        if change < tolerance:
            break
    return p


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


def tally_votes(comparisons: Iterable[Comparison] | Comparison, *, by: str = "variant",
                blind_only: bool = False) -> VoteTally:
    """Sum the votes of many comparisons per variant.

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
    items = [comparisons] if isinstance(comparisons, Comparison) else list(comparisons)
    for i, cmp in enumerate(items):
        if not isinstance(cmp, Comparison):
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
