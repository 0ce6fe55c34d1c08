"""One cell of a comparison (one image: where it sits, which take, and the run that fills it),
and a :class:`Position`: one place of the grid, holding its takes or the reason it is empty."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..catalog import ImageRequest
from ..results import Generation, Task
from ..runs import Run

__all__ = ["Cell", "Position"]


@dataclass(eq=False)
class Cell:
    """One slot of a comparison: its place, labels and request, and once the comparison
    exists, ``run`` (the ``runs.Run`` that holds its status, task, result, error and money;
    everything below reads it)."""

    index: int
    row: int
    col: int
    row_label: str
    col_label: str
    request: ImageRequest
    side: str | None = None
    #: The axis values that made this cell (grids: {"tier": "pro", "animal": "fox", ...}).
    values: dict[str, Any] = field(default_factory=dict)
    #: Which take of its position this cell is (0-based), of ``takes`` (grids with takes).
    take: int = 0
    page: int = 0
    run: Run | None = field(default=None, repr=False)
    takes: int = 1
    #: The header of the grid's page (its page axes' values), "" without page axes.
    page_label: str = ""

    @property
    def take_label(self) -> str:
        """``take 2/3``; "" when its position has one take."""
        return f"take {self.take + 1}/{self.takes}" if self.takes > 1 else ""

    # -- the run, read ------------------------------------------------------------------------
    @property
    def status(self) -> str:
        return self.run.status if self.run is not None else "queued"

    @property
    def task(self) -> Task | None:
        return self.run.task if self.run is not None else None

    @property
    def result(self) -> Generation | None:
        return self.run.generation if self.run is not None and self.run.status == "completed" else None

    @property
    def error(self) -> BaseException | None:
        return self.run.error if self.run is not None else None

    @property
    def done(self) -> bool:
        return self.run.done if self.run is not None else False

    @property
    def ok(self) -> bool:
        return self.result is not None

    @property
    def money(self) -> str:
        return self.run.money if self.run is not None else "estimate"

    @property
    def label(self) -> str:
        """``Pro · 1k`` plus the row (prompt) when there are several rows."""
        return f"{self.col_label} | {self.row_label}"

    @property
    def size(self) -> tuple[int, int] | None:
        """Real pixel size once downloaded, else the catalog's approximate size."""
        return self.run.size if self.run is not None else self.request.size

    @property
    def size_text(self) -> str:
        size = self.size
        return f"{size[0]}x{size[1]}" if size else "auto"

    @property
    def estimated_cost(self) -> float | None:
        return self.run.estimate if self.run is not None else self.request.estimated_cost

    @property
    def billed_cost(self) -> float | None:
        """What the service reported billing; ``None`` until it did (never 0 for a task that
        may still be billed)."""
        return self.run.billed_cost if self.run is not None else None

    @property
    def cost(self) -> float | None:
        """Billed where known, what it may still be billed, 0 only when not charged."""
        return self.run.cost if self.run is not None else self.request.estimated_cost

    @property
    def cost_source(self) -> str:
        return self.run.cost_source if self.run is not None else "estimate"

    @property
    def cost_text(self) -> str:
        return self.run.cost_text if self.run is not None else ""

    @property
    def latency(self) -> float | None:
        """Seconds from submit to the client seeing the task finish (watched runs only)."""
        return self.run.latency if self.run is not None else None

    @property
    def error_text(self) -> str:
        return self.run.error_text if self.run is not None else ""


@dataclass(eq=False)
class Position:
    """One place of a comparison's grid (page, row, column) and the cells there: its takes,
    in take order. A place the tier does not offer (``skip_unoffered=True``) has no cells and
    says why in ``reason`` (``Max: 1k only``)."""

    page: int
    row: int
    col: int
    page_label: str
    row_label: str
    col_label: str
    cells: list[Cell] = field(default_factory=list)
    reason: str = ""

    @property
    def skipped(self) -> bool:
        return not self.cells

    @property
    def label(self) -> str:
        """``Pro · 1k | fox | page``: its headers that are not empty."""
        return " | ".join(p for p in (self.col_label, self.row_label, self.page_label) if p)

    @property
    def shown(self) -> Cell | None:
        """The take a picture of the grid shows: the first finished one, else the first."""
        return next((c for c in self.cells if c.ok), self.cells[0] if self.cells else None)
