"""What the workspace hands back: frozen records, one per kind of row. Amounts are USD
(floats, rounded to the micro-dollar the ledger keeps), times epoch seconds."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["ArenaCount", "ArenaPair", "ArenaRecord", "ArenaVote", "BudgetStatus", "ComparisonCell",
           "ComparisonRecord", "ComparisonVote", "Reservation", "ResultFilter", "ResultRecord"]


@dataclass(frozen=True)
class ResultRecord:
    """One saved result as the index holds it. ``files`` and ``sidecar`` are relative to
    the results folder; ``meta`` is the sidecar itself."""

    folder: str
    task_id: str
    prompt: str
    tier: str
    resolution: str
    aspect_ratio: str
    action: str
    width: int | None
    height: int | None
    cost: float | None
    cost_source: str
    simulated: bool
    submitted_at: float
    completed_at: float
    sidecar: str
    files: tuple[str, ...]
    base_url: str
    meta: dict[str, Any] = field(repr=False, compare=False, hash=False)
    starred: bool = False
    tags: tuple[str, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class ResultFilter:
    """Which results a page shows. Text matches anywhere in the prompt, any case;
    ``since``/``until`` are epoch seconds (``since`` included, ``until`` not)."""

    prompt: str | None = None
    tier: str | None = None
    resolution: str | None = None
    since: float | None = None
    until: float | None = None
    starred: bool | None = None
    tag: str | None = None


@dataclass(frozen=True)
class ComparisonCell:
    """Which result (task id) the cell at ``row``, ``col`` of a comparison got."""

    row: int
    col: int
    task_id: str


@dataclass(frozen=True)
class ComparisonRecord:
    """A saved comparison: its plan (kind, title, labels, sides, blind and seed), the
    result each cell got, and when it was made. ``plan`` holds whatever else its maker
    keeps (the requests, a budget): JSON."""

    id: str
    kind: str
    title: str
    row_labels: tuple[str, ...]
    col_labels: tuple[str, ...]
    #: (key, label) of what a vote can pick, besides "tie"
    sides: tuple[tuple[str, str], ...]
    blind: bool
    seed: int | None
    created_at: float
    cells: tuple[ComparisonCell, ...] = ()
    plan: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def task_id(self, row: int, col: int) -> str | None:
        return next((c.task_id for c in self.cells if (c.row, c.col) == (row, col)), None)


@dataclass(frozen=True)
class ComparisonVote:
    """One vote on a comparison, as it was cast."""

    id: int
    comparison_id: str
    voter: str
    at: float
    #: the side's key (or "tie")
    choice: str
    #: cast before anything was revealed
    blind: bool
    question: str
    note: str
    #: where the chosen side was shown ("left"/"right"), for a blind test
    shown_as: str | None


@dataclass(frozen=True)
class Reservation:
    """Money held for one call (its key, e.g. the create's Idempotency-Key) on each scope.
    ``state``: "reserved" (may still be billed), "settled" (billed ``cost``), "released"
    (not charged)."""

    key: str
    amount: float
    scopes: tuple[str, ...]
    state: str
    cost: float | None
    day: str
    reserved_at: float
    closed_at: float | None


@dataclass(frozen=True)
class BudgetStatus:
    """Where a scope stands. ``reserved`` is held for calls not settled yet: it may still
    be billed, so it counts against the caps. ``left`` is ``None`` without a cap. The
    "today" figures are for the current UTC day (``day``)."""

    scope: str
    cap: float | None
    per_day: float | None
    spent: float
    reserved: float
    left: float | None
    day: str
    spent_today: float
    reserved_today: float
    left_today: float | None

    @property
    def committed(self) -> float:
        """Spent plus reserved: what the caps are checked against."""
        return round(self.spent + self.reserved, 6)


@dataclass(frozen=True)
class ArenaRecord:
    """An arena: its unique name, its config (``variants``, ``questions`` and whatever
    else its maker keeps, JSON) and when it was made."""

    name: str
    config: dict[str, Any] = field(compare=False, hash=False)
    created_at: float = 0.0

    @property
    def variants(self) -> tuple[str, ...]:
        return tuple(str(v) for v in self.config.get("variants") or ())

    @property
    def questions(self) -> tuple[str, ...]:
        return tuple(str(q) for q in self.config.get("questions") or ())


@dataclass(frozen=True)
class ArenaPair:
    """Two results shown side by side, each a variant. Previews (small JPEGs) are read
    with ``Workspace.arenas.preview``: listing pairs does not carry their bytes."""

    arena: str
    pair_id: str
    position: int
    prompt: str
    left_variant: str
    right_variant: str
    left_task_id: str
    right_task_id: str
    created_at: float


@dataclass(frozen=True)
class ArenaVote:
    """One vote: ``choice`` as shown ("left", "right" or "tie") and ``variant``, the
    variant it means (``None`` for a tie)."""

    id: int
    arena: str
    pair_id: str
    voter: str
    question: str
    choice: str
    variant: str | None
    at: float
    note: str


@dataclass(frozen=True)
class ArenaCount:
    """One variant's standing: pairs it won, lost and tied, for the votes counted."""

    variant: str
    wins: int = 0
    losses: int = 0
    ties: int = 0

    @property
    def votes(self) -> int:
        return self.wins + self.losses + self.ties
