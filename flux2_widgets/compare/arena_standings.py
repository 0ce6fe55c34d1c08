"""An arena's standings: the leaderboard's rows, the verdict and the cost, for the board.

Two variants: win rates with Wilson intervals, and the anytime-valid sequential test on their
votes (ties set aside: ``stats.sequential_test``). More: Bradley-Terry strengths with bootstrap
intervals (``stats.bradley_terry_intervals``), and the same test between the two leaders on
their head-to-head votes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import WorkspaceError

if TYPE_CHECKING:  # pragma: no cover
    from .arena import Arena
    from .stats import SequentialResult, Standings

__all__ = ["ArenaVerdict", "arena_cost", "arena_cost_text", "leaderboard", "verdict"]


@dataclass(frozen=True)
class ArenaVerdict:
    """Whether the room's answer is known: ``text`` in plain words, ``decided``, the preferred
    variant (``None`` while undecided), and the test behind it."""

    text: str
    decided: bool
    winner: str | None
    votes: int
    test: SequentialResult | None
    standings: Standings | None

    def __str__(self) -> str:
        return self.text


def arena_cost(arena: Arena) -> float | None:
    """What the arena's images cost. In the kernel making them, its runs say (billed, may still
    be billed, estimates while running). Elsewhere the budget ledger does, by each create's
    Idempotency-Key (a billed image that could not be fetched counts; a failed one does not).
    An arena saved before its keys were kept: its results' costs. ``None``: a price unknown."""
    if arena.generation is not None:
        return arena.generation.total_cost
    from .arena_finish import ledger_cost

    by_ledger = ledger_cost(arena)
    if by_ledger is not None:
        return by_ledger[0]
    tasks = _made_tasks(arena)
    known = arena._costs
    for task in tasks:
        if known.get(task) is None:  # not indexed yet, or no price: ask again
            found = arena.workspace.results.get(task)
            known[task] = found.cost if found is not None else None
    total = 0.0
    for task in tasks:
        value = known[task]
        if value is None:
            return None
        total += value
    return round(total, 6)


def arena_cost_text(arena: Arena) -> str:
    """The arena's money in words, "(... of it may still be billed)" included."""
    from ..money import cost_text, format_usd
    from .arena_finish import ledger_cost

    if arena.generation is not None:
        return arena.generation.total_text
    by_ledger = ledger_cost(arena)
    if by_ledger is None:
        return cost_text(arena_cost(arena), "billed", arena.simulated)
    total, maybe = by_ledger
    text = cost_text(total, "billed", arena.simulated)
    return f"{text} ({format_usd(maybe)} of it may still be billed)" if maybe else text


def _made_tasks(arena: Arena) -> list[str]:
    """The task of every image made for the arena (its saved comparison's cells), else, for
    an arena made before that was kept, those of its pairs."""
    saved = arena.record.config.get("comparison")
    if isinstance(saved, str):
        try:
            return [c.task_id for c in arena.workspace.comparisons.get(saved).cells]
        except WorkspaceError:
            pass
    return list(dict.fromkeys(t for p in arena.pairs for t in (p.left_task_id, p.right_task_id)))


def _wins(arena: Arena, asked: str) -> tuple[dict[str, dict[str, float]], dict[tuple[str, str], list[int]]]:
    """(wins[i][j] with ties half, head-to-head [i wins, j wins, ties] per ordered pair)."""
    wins: dict[str, dict[str, float]] = {v: {} for v in arena.variants}
    h2h: dict[tuple[str, str], list[int]] = {}
    pairs = {p.pair_id: p for p in arena.pairs}
    for vote in arena.workspace.arenas.votes(arena.name, question=asked):
        p = pairs.get(vote.pair_id)
        if p is None:
            continue
        a, b = sorted((p.left_variant, p.right_variant), key=arena.variants.index)
        counts = h2h.setdefault((a, b), [0, 0, 0])
        if vote.variant is None:
            counts[2] += 1
            for x, y in ((a, b), (b, a)):
                wins[x][y] = wins[x].get(y, 0.0) + 0.5
        else:
            loser = b if vote.variant == a else a
            counts[0 if vote.variant == a else 1] += 1
            wins[vote.variant][loser] = wins[vote.variant].get(loser, 0.0) + 1.0
    return wins, h2h

def leaderboard(arena: Arena, question: str) -> list[dict[str, Any]]:
    """One row per variant, best first: wins, losses, ties, votes, win rate (ties half) with
    its 95% interval (Wilson for two variants; Bradley-Terry strength with a bootstrap
    interval too for more)."""
    from .stats import bradley_terry_intervals, wilson_interval

    wins, h2h = _wins(arena, question)
    counts = {v: [0, 0, 0] for v in arena.variants}
    for (a, b), (wa, wb, ties) in h2h.items():
        counts[a][0] += wa
        counts[a][1] += wb
        counts[b][0] += wb
        counts[b][1] += wa
        counts[a][2] += ties
        counts[b][2] += ties
    standings = bradley_terry_intervals(wins, seed=0) if len(arena.variants) > 2 and any(
        h2h.values()) else None
    rows = []
    for v in arena.variants:
        w, losses, ties = counts[v]
        n = w + losses + ties
        low, high = wilson_interval(w + ties / 2, n)
        rate = (w + ties / 2) / n if n else None
        row: dict[str, Any] = {"variant": v, "wins": w, "losses": losses, "ties": ties, "votes": n,
                               "win_rate": rate, "ci_low": low, "ci_high": high}
        if standings is not None:
            s = standings[v]
            row |= {"strength": s.strength, "strength_low": s.low, "strength_high": s.high,
                    "p_best": s.p_best}
        rows.append(row)
    if standings is not None:
        rows.sort(key=lambda r: -(r["strength"] if r["strength"] is not None else -1.0))
    else:
        rows.sort(key=lambda r: -(r["win_rate"] if r["win_rate"] is not None else -1.0))
    for i, row in enumerate(rows):
        row["rank"] = i + 1
    return rows

def verdict(arena: Arena, question: str, alpha: float = 0.05) -> ArenaVerdict:
    """Whether the answer is known, in plain words. Two variants: the anytime-valid
    sequential test on their votes (ties set aside). More: the Bradley-Terry ranking, and
    the same test between the two leaders on their head-to-head votes."""
    from .stats import bradley_terry_intervals, sequential_test

    wins, h2h = _wins(arena, question)
    votes = sum(sum(v) for v in h2h.values())
    if not votes:
        return ArenaVerdict("No votes yet.", False, None, 0, None, None)
    standings = None
    if len(arena.variants) > 2:
        standings = bradley_terry_intervals(wins, seed=0)
        first, second = standings.ranking[:2]
    else:
        first, second = arena.variants[0], arena.variants[1]
    a, b = sorted((first, second), key=arena.variants.index)
    wa, wb, ties = h2h.get((a, b), [0, 0, 0])
    test = sequential_test(wa, wb, alpha, ties=ties)
    winner = {"a": a, "b": b}.get(test.verdict)
    detail = test.text(a, b).split(": ", 1)[-1]
    if winner is not None:
        other = b if winner == a else a
        text = (f"{winner} is preferred over {other}. {detail}. The test stays valid however often "
                "the board is looked at.")
    else:  # the detail names the side ahead; a second "X leads (X wins ...)" only repeats it
        text = f"Not decided yet. {detail}. Keep voting."
    return ArenaVerdict(text, test.decided, winner, votes, test, standings)
