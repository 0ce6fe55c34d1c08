"""One cell of a comparison: a request, its task, and its result or error."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..catalog import ImageRequest
from ..results import Generation, Task

__all__ = ["Cell"]


@dataclass(eq=False)
class Cell:
    """One slot of a comparison: a request and, once it finishes, its result or error."""

    index: int
    row: int
    col: int
    row_label: str
    col_label: str
    request: ImageRequest
    side: str | None = None
    status: str = "queued"  # queued, submitting, pending, processing, downloading, completed, failed
    task: Task | None = None
    result: Generation | None = None
    error: BaseException | None = None
    started_at: float | None = None
    finished_at: float | None = None
    submitted: bool = field(default=False, repr=False)
    #: The create's Idempotency-Key, kept across a retry that may find the first task.
    idempotency_key: str = field(default="", repr=False)

    @property
    def done(self) -> bool:
        return self.status in ("completed", "failed")

    @property
    def ok(self) -> bool:
        return self.result is not None

    @property
    def label(self) -> str:
        """``Pro · 1k`` plus the row (prompt) when there are several rows."""
        return f"{self.col_label} | {self.row_label}"

    @property
    def size(self) -> tuple[int, int] | None:
        """Real pixel size once downloaded, else the catalog's approximate size."""
        if self.result is not None and self.result.images and self.result.images[0].downloaded:
            try:
                return self.result.images[0].size
            except Exception:  # undecodable bytes: fall back to the catalog
                pass
        return self.request.size

    @property
    def size_text(self) -> str:
        size = self.size
        return f"{size[0]}x{size[1]}" if size else "auto"

    @property
    def estimated_cost(self) -> float | None:
        return self.request.estimated_cost

    @property
    def billed_cost(self) -> float | None:
        """What the API billed: ``usage.cost`` for a finished task, 0 for a failed one
        (failed generations are not charged), ``None`` while running or if not reported."""
        if self.result is not None:
            return self.result.task.billed_cost
        if self.status == "failed":
            return 0.0
        return None

    @property
    def cost(self) -> float | None:
        """Billed where known, else the estimate (0 for a failure)."""
        if self.result is not None:
            return self.result.cost
        if self.status == "failed":
            return 0.0
        return self.estimated_cost

    @property
    def cost_source(self) -> str:
        if self.result is not None:
            return self.result.cost_source
        return "not charged" if self.status == "failed" else "estimate"

    @property
    def latency(self) -> float | None:
        """Seconds from submit to the client seeing the task finish."""
        if self.result is not None:
            return self.result.elapsed
        if self.task is not None and self.done:
            return self.task.elapsed
        return None

    @property
    def error_text(self) -> str:
        if self.error is None:
            return ""
        return str(self.error) or type(self.error).__name__
