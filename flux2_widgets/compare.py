"""Side-by-side comparisons: Pro vs Flex, 1k vs 2k, prompt A/B, and small grids.

Every helper validates its whole plan (tiers, resolutions, prompts, budget)
before a single request is sent, then starts all cells at once and returns a
:class:`Comparison` straight away. The comparison keeps its data (requests,
results, errors, votes, costs), exports it as rows / pandas / CSV, and shows
itself as a live widget grid in Jupyter (static HTML elsewhere).

How it runs, and how to wait for it:

- In a notebook cell (the kernel's loop is running) the cells run as tasks on
  that loop: the helper returns at once and the view fills in as each task
  completes, without blocking the kernel.
- In async code the comparison is awaitable: ``cmp = await compare_tiers(...)``
  (or ``await cmp`` later) returns the comparison once every cell is done.
- In a plain script (no loop) the helper submits every task before returning,
  on the same per-thread private loop the sync client uses, so the service is
  already working; ``cmp.wait()`` then polls and downloads.
- ``cmp.wait(timeout=None)`` works everywhere; in a notebook cell it nests
  on the kernel's loop (nest_asyncio2, applied only then).

This module imports no ipywidgets: the widget view loads on first display.
"""

from __future__ import annotations

import asyncio
import base64
import csv
import html
import io
import logging
import time
from collections import Counter
from collections.abc import Callable, Generator, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import _sync
from ._budget import check_budget
from .catalog import (
    ASPECT_RATIOS,
    RESOLUTIONS,
    TIER_INFO,
    TIERS,
    ImageRequest,
    estimate_cost,
    format_usd,
    pixel_size,
    price,
    tier_label,
)
from .errors import Flux2Error, TaskTimeoutError, ValidationError
from .results import Generation, Task

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from .client import AsyncFlux2Client, Flux2Client

__all__ = [
    "Cell",
    "Comparison",
    "CostTable",
    "compare_tiers",
    "compare_resolutions",
    "compare_prompts",
    "compare_grid",
    "cost_table",
    "MAX_CELLS",
    "Plan",
    "plan_for",
]

log = logging.getLogger("flux2_widgets")

#: Largest comparison one call may start; bigger plans are almost always a mistake
#: (and a projector cannot show them anyway).
MAX_CELLS = 48
#: Longest prompt shown in a row header before it is shortened.
_HEADER_CHARS = 90

# ----------------------------------------------------------------------------- cells


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


# ----------------------------------------------------------------------------- costs


class CostTable:
    """A table of costs that shows itself in Jupyter, prints as text and exports.

    ``rows`` holds raw numbers (``None`` where a price is unknown); display
    formats them, so unknown prices read "n/a" and totals "+ n/a".
    """

    def __init__(self, title: str, columns: Sequence[tuple[str, str]], rows: list[dict[str, Any]],
                 totals: dict[str, Any], *, money: Iterable[str] = (), notes: Iterable[str] = ()) -> None:
        self.title = title
        self.columns = list(columns)
        self.rows = rows
        self.totals = totals
        self.money = set(money)
        self.notes = [n for n in notes if n]

    # totals are what people read first
    @property
    def total_estimated(self) -> float | None:
        return self.totals.get("estimated_cost")

    @property
    def total_billed(self) -> float | None:
        return self.totals.get("billed_cost")

    def _shown(self) -> list[tuple[str, str]]:
        """Columns worth printing: a column with nothing in it (no notes) is left out."""
        return [(k, h) for i, (k, h) in enumerate(self.columns)
                if i == 0 or k in self.totals or any(r.get(k) not in (None, "") for r in self.rows)]

    def _right(self, key: str) -> bool:
        """Numbers line up on the right, words on the left."""
        return key in self.money or all(isinstance(r.get(key), (int, float)) for r in self.rows)

    def _cell_text(self, key: str, value: Any, *, total: bool = False) -> str:
        if key in self.money:
            if total and isinstance(value, str):
                return value
            return format_usd(value)
        if value is None:
            return ""
        return str(value)

    def _total_row(self) -> list[str]:
        out = []
        for i, (key, _) in enumerate(self._shown()):
            if i == 0:
                out.append("total")
            elif key in self.totals:
                value = self.totals[key]
                if key in self.money:
                    value = _sum_text(value, self.totals.get(f"{key}_unknown", 0))
                out.append(self._cell_text(key, value, total=True))
            else:
                out.append("")
        return out

    def _matrix(self) -> list[list[str]]:
        return [[self._cell_text(k, row.get(k)) for k, _ in self._shown()] for row in self.rows]

    def __str__(self) -> str:
        headers = [h for _, h in self._shown()]
        body = self._matrix()
        total = self._total_row()
        widths = [max(len(headers[i]), *(len(r[i]) for r in [*body, total])) for i in range(len(headers))]

        right = [i > 0 and self._right(k) for i, (k, _) in enumerate(self._shown())]

        def line(cells: list[str]) -> str:
            return "  ".join(c.rjust(w) if r else c.ljust(w)
                             for c, w, r in zip(cells, widths, right, strict=True)).rstrip()

        rule = "  ".join("-" * w for w in widths)
        parts = [self.title, line(headers), rule, *(line(r) for r in body), rule, line(total)]
        parts += [f"* {n}" for n in self.notes]
        return "\n".join(parts)

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        shown = self._shown()
        align = ["right" if i > 0 and self._right(k) else "left" for i, (k, _) in enumerate(shown)]
        th = "".join(f'<th style="text-align:{a};padding:2px 10px">{html.escape(h)}</th>'
                     for a, (_, h) in zip(align, shown, strict=True))

        def tr(cells: list[str], bold: bool = False) -> str:
            tds = "".join(f'<td style="text-align:{a};padding:2px 10px">'
                          f"{'<b>' if bold else ''}{html.escape(c)}{'</b>' if bold else ''}</td>"
                          for a, c in zip(align, cells, strict=True))
            return f"<tr>{tds}</tr>"

        body = "".join(tr(r) for r in self._matrix())
        notes = "".join(f'<div style="color:#666;font-size:12px">{html.escape(n)}</div>' for n in self.notes)
        return (f'<div style="font:13px sans-serif"><div><b>{html.escape(self.title)}</b></div>'
                f'<table style="border-collapse:collapse"><thead><tr>{th}</tr></thead>'
                f'<tbody>{body}</tbody><tfoot style="border-top:1px solid #999">'
                f"{tr(self._total_row(), bold=True)}</tfoot></table>{notes}</div>")

    def to_pandas(self) -> pd.DataFrame:
        """The rows as a DataFrame (raw numbers, ``None``/NaN where unknown)."""
        return _pandas().DataFrame(self.rows, columns=[k for k, _ in self.columns] or None)

    def to_csv(self, path: str | Path) -> Path:
        return _write_csv(path, self.rows)


def _sum_text(known: float | None, unknown: int) -> str:
    if known is None or (unknown and known == 0):
        return "n/a"
    return format_usd(known) + (" + n/a" if unknown else "")


def _sum(values: Iterable[float | None]) -> tuple[float, int]:
    """(sum of the known values, how many were unknown)."""
    total, unknown = 0.0, 0
    for v in values:
        if v is None:
            unknown += 1
        else:
            total += v
    return round(total, 6), unknown


def cost_table(tiers: Sequence[str] | str = TIERS, resolutions: Sequence[str] | str = RESOLUTIONS,
               images: int = 1, aspect_ratio: str = "1:1") -> CostTable:
    """What a plan costs before running anything: one row per tier x resolution.

    ``images`` is how many images of each combination you plan (e.g. the number
    of prompts in a grid). Unpublished prices (Max) show "n/a" and the total
    says "+ n/a"; combinations a tier does not offer are listed and not counted.
    Prices are the catalog's per-image figures.
    """
    tiers_ = _tiers(tiers)
    resolutions_ = _resolutions(resolutions)
    if not isinstance(images, int) or isinstance(images, bool) or images < 1:
        raise ValidationError(f"images must be a whole number of at least 1, got {images!r}",
                              field="images", value=images, allowed=">= 1")
    if aspect_ratio not in ASPECT_RATIOS:
        raise ValidationError(f"aspect_ratio {aspect_ratio!r} is not allowed; use one of: "
                              f"{', '.join(ASPECT_RATIOS)}", field="aspect_ratio", value=aspect_ratio,
                              allowed=ASPECT_RATIOS)
    rows: list[dict[str, Any]] = []
    for tier in tiers_:
        for res in resolutions_:
            offered = res in TIER_INFO[tier].resolutions
            size = pixel_size(aspect_ratio, res)
            rows.append({
                "tier": tier_label(tier), "resolution": res,
                "size": f"{size[0]}x{size[1]}" if size else "auto",
                "unit_price": price(tier, res) if offered else None,
                "images": images if offered else 0,
                "estimated_cost": estimate_cost(tier, res, images) if offered else None,
                "note": "" if offered else f"not offered ({tier_label(tier)}: "
                                             f"{', '.join(TIER_INFO[tier].resolutions)} only)",
                "_offered": offered,
            })
    counted = [r for r in rows if r.pop("_offered")]
    total, unknown = _sum(r["estimated_cost"] for r in counted)
    notes = ["sizes are approximate; prices are per image from the catalog (live pricing may differ)"]
    if unknown:
        notes.append("n/a: price not published")
    return CostTable(
        f"Cost plan: {len(counted)} combination{'s' if len(counted) != 1 else ''} x {images} "
        f"image{'s' if images != 1 else ''}",
        [("tier", "tier"), ("resolution", "resolution"), ("size", "size"), ("unit_price", "per image"),
         ("images", "images"), ("estimated_cost", "estimated"), ("note", "note")],
        rows,
        {"images": sum(r["images"] for r in counted), "estimated_cost": total,
         "estimated_cost_unknown": unknown},
        money=("unit_price", "estimated_cost"), notes=notes,
    )


# ----------------------------------------------------------------------------- the comparison


class Comparison:
    """A set of generations run side by side.

    ``cells`` are in row-major order (rows = prompts, columns = tier x
    resolution, or A/B). The object is awaitable (``await cmp`` returns it when
    every cell is done) and displays itself as a live grid.
    """

    def __init__(self, cells: list[Cell], *, kind: str, title: str, row_labels: Sequence[str],
                 col_labels: Sequence[str], sides: Sequence[tuple[str, str]] = (),
                 client: Any = None, budget: float | None = None, timeout: float | None = None) -> None:
        self.cells = cells
        self.kind = kind
        self.title = title
        self.row_labels = list(row_labels)
        self.col_labels = list(col_labels)
        #: (key, label) of what a vote can pick, besides "tie"
        self.sides = list(sides)
        self.budget = budget
        self.timeout = timeout
        self.created_at = time.time()
        self._votes: list[dict[str, Any]] = []
        self._listeners: list[Callable[[Cell | None], None]] = []
        self._side: set[asyncio.Future[Any]] = set()
        self._client = _async_client(client)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._main: asyncio.Future[None] | None = None
        self._view: Any = None

    # -- running ---------------------------------------------------------------------
    @property
    def client(self) -> AsyncFlux2Client:
        return self._client

    @property
    def simulated(self) -> bool:
        return bool(getattr(self._client, "simulated", False))

    @property
    def started(self) -> bool:
        return self._main is not None

    @property
    def done(self) -> bool:
        return all(c.done for c in self.cells)

    def start(self) -> Comparison:
        """Start every cell at once (idempotent). Called by the helpers."""
        if self._main is not None:
            return self
        try:
            loop = asyncio.get_running_loop()
            running = True
        except RuntimeError:
            loop, running = _sync.private_loop(), False
        self._loop = loop
        self._main = loop.create_task(self._run_all())
        if not running:
            # No loop runs between statements of a plain script: submit now, so the service
            # is already working when the caller gets the comparison back; wait() finishes it.
            loop.run_until_complete(self._until_submitted())
        return self

    async def _run_all(self) -> None:
        await asyncio.gather(*(self._run_cell(c) for c in self.cells))
        await self._settle()

    async def _settle(self) -> None:
        # Views render thumbnails in side tasks; finishing after them means a finished
        # comparison is also a fully drawn one (and no render is left on a stopped loop).
        while self._side:
            await asyncio.gather(*list(self._side), return_exceptions=True)
        self._emit(None)

    def _track(self, future: asyncio.Future[Any]) -> None:
        """Let ``wait()`` / ``await`` also wait for a view's render task."""
        self._side.add(future)
        future.add_done_callback(self._side.discard)

    async def _until_submitted(self) -> None:
        # The client may queue cells behind its concurrency limit: only wait for the ones it can take.
        limit = getattr(self._client, "max_concurrency", None) or len(self.cells)
        need = min(len(self.cells), int(limit))
        while sum(c.submitted or c.done for c in self.cells) < need and not self._main.done():  # type: ignore[union-attr]
            await asyncio.sleep(0.005)

    async def _run_cell(self, cell: Cell) -> None:
        cell.status, cell.started_at = "submitting", time.time()
        cell.result = cell.error = cell.task = None
        cell.submitted = False
        self._emit(cell)

        def on_update(task: Task) -> None:
            cell.task, cell.submitted = task, True
            # "completed" here means the images are still downloading: the cell is done with its result.
            cell.status = "downloading" if task.status == "completed" else task.status
            self._emit(cell)

        try:
            gen = await self._client.generate(cell.request, timeout=self.timeout, on_update=on_update)
        except asyncio.CancelledError:
            cell.error, cell.status = Flux2Error("cancelled before it finished"), "failed"
            cell.finished_at, cell.submitted = time.time(), True
            self._emit(cell)
            raise
        except Exception as exc:  # one failed cell must never stop the others
            cell.error, cell.status = exc, "failed"
            if isinstance(exc, Flux2Error) and exc.task_id and cell.task is None:
                cell.task = Task(id=exc.task_id, action=cell.request.action or "text_to_image",
                                 status="failed", request=cell.request, error=exc.message,
                                 submitted_at=cell.started_at)
        else:
            cell.result, cell.task, cell.status = gen, gen.task, "completed"
        cell.finished_at, cell.submitted = time.time(), True
        self._emit(cell)

    def retry(self, cell: Cell | int) -> None:
        """Run a failed cell again (same request), on the comparison's loop."""
        cell = self.cells[cell] if isinstance(cell, int) else cell
        if not cell.done or cell.ok:
            return
        loop = self._loop
        if loop is None or loop.is_closed():
            raise RuntimeError("this comparison's event loop has closed; start a new comparison")
        previous = self._main
        retry = loop.create_task(self._run_cell(cell))

        async def both() -> None:
            if previous is not None:
                await asyncio.gather(previous, return_exceptions=True)
            await retry
            await self._settle()

        self._main = loop.create_task(both())

    # -- waiting -----------------------------------------------------------------------
    def wait(self, timeout: float | None = None) -> Comparison:
        """Block until every cell is done and return the comparison.

        Works in a plain script and in a notebook cell (where it nests on the
        kernel's running loop, so widgets keep updating). Raises
        ``TaskTimeoutError`` after ``timeout`` seconds; the cells keep running.
        """
        if self._main is None:
            self.start()
        assert self._loop is not None and self._main is not None
        if self._main.done():
            return self
        loop = self._loop
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is not None and running is not loop:
            raise RuntimeError("wait() was called from a different event loop than the one this "
                               "comparison runs on; use `await comparison` there instead")
        if loop.is_closed():
            raise RuntimeError("the event loop this comparison started on has closed before it "
                               "finished (e.g. an asyncio.run() that returned); start it again")
        if running is loop:
            _sync.allow_nesting(loop)  # only now: a sync wait inside a running (notebook) loop
        elif loop.is_running():
            raise RuntimeError("this comparison runs on a loop busy in another thread; use `await`")
        loop.run_until_complete(self._wait(timeout))
        return self

    async def _wait(self, timeout: float | None) -> Comparison:
        while True:
            main = self._main
            assert main is not None
            try:
                # shield: a timeout stops the waiting, not the comparison
                await asyncio.wait_for(asyncio.shield(main), timeout)
            except asyncio.TimeoutError:
                left = sum(not c.done for c in self.cells)
                raise TaskTimeoutError(
                    f"{left} of {len(self.cells)} cells still running after {timeout:g} s; they keep "
                    "running - call wait() again or show the comparison to watch them") from None
            if main is self._main:  # a retry may have replaced it meanwhile
                return self

    def __await__(self) -> Generator[Any, None, Comparison]:
        if self._main is None:
            self.start()
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is not None and running is not self._loop:
            raise RuntimeError("this comparison was started outside this event loop (from sync "
                               "code); call .wait() instead of awaiting it")
        return self._wait(None).__await__()

    # -- change notifications (the view listens) ------------------------------------------
    def on_change(self, callback: Callable[[Cell | None], None], remove: bool = False) -> None:
        """Call ``callback(cell)`` on every cell change (``None`` when all are done).
        Runs on the comparison's loop thread; keep it quick."""
        if remove:
            if callback in self._listeners:
                self._listeners.remove(callback)
        elif callback not in self._listeners:
            self._listeners.append(callback)

    def _emit(self, cell: Cell | None) -> None:
        for callback in list(self._listeners):
            try:
                callback(cell)
            except Exception:  # a broken view must not break the comparison
                log.exception("comparison listener failed")

    # -- results -----------------------------------------------------------------------
    @property
    def results(self) -> list[Generation | BaseException | None]:
        """Per cell: the ``Generation``, the error, or ``None`` while running."""
        return [c.result if c.result is not None else c.error for c in self.cells]

    @property
    def generations(self) -> list[Generation]:
        return [c.result for c in self.cells if c.result is not None]

    @property
    def errors(self) -> list[BaseException]:
        return [c.error for c in self.cells if c.error is not None]

    def cell(self, row: int | str, col: int | str) -> Cell:
        """A cell by row/column index or label (``cmp.cell(0, "Flex · 1k")``)."""
        r = row if isinstance(row, int) else self.row_labels.index(row)
        c = col if isinstance(col, int) else self.col_labels.index(col)
        for cell in self.cells:
            if cell.row == r and cell.col == c:
                return cell
        raise KeyError((row, col))

    def __len__(self) -> int:
        return len(self.cells)

    def __iter__(self) -> Any:
        return iter(self.cells)

    def __getitem__(self, index: int) -> Cell:
        return self.cells[index]

    # -- costs -----------------------------------------------------------------------
    @property
    def estimated_cost(self) -> float | None:
        """The plan's estimate (catalog price x cells); ``None`` if any price is unknown."""
        total, unknown = _sum(c.estimated_cost for c in self.cells)
        return None if unknown else total

    @property
    def billed_cost(self) -> float:
        """What finished cells were billed (failed cells are not charged)."""
        return _sum(c.billed_cost for c in self.cells if c.done)[0]

    @property
    def total_cost(self) -> float | None:
        """Billed where the API reported it, else estimates; failures count 0."""
        total, unknown = _sum(c.cost for c in self.cells)
        return None if unknown else total

    @property
    def total_text(self) -> str:
        total, unknown = _sum(c.cost for c in self.cells)
        sources = {c.cost_source for c in self.cells if c.cost_source != "not charged"}
        text = _sum_text(total, unknown)
        if not self.done or "estimate" in sources:
            text = f"about {text}" if text != "n/a" else text
        if self.simulated:
            text = f"would have cost {text}"
        return text

    def cost_table(self) -> CostTable:
        """Estimated vs billed per cell, with totals."""
        rows = []
        for c in self.cells:
            note = ""
            if c.status == "failed":
                note = "failed: not charged"
            elif not c.done:
                note = c.status
            elif c.cost_source == "estimate":
                note = "not reported by the API"
            rows.append({
                "prompt": c.request.prompt, "cell": c.col_label, "tier": c.request.tier,
                "resolution": c.request.resolution, "size": c.size_text, "status": c.status,
                "estimated_cost": c.estimated_cost,
                "billed_cost": c.billed_cost if c.done else None, "note": note,
            })
        est, est_unknown = _sum(r["estimated_cost"] for r in rows)
        billed, billed_unknown = _sum(c.billed_cost for c in self.cells if c.done)
        notes = ["billed: usage.cost reported by the API; failed tasks are not charged"]
        if self.simulated:
            notes.append("SIMULATED: nothing was charged; 'billed' is what it would have cost")
        if not self.done:
            notes.append(f"{sum(not c.done for c in self.cells)} cell(s) still running")
        return CostTable(
            f"{self.title}: estimated vs billed",
            [("prompt", "prompt"), ("cell", "cell"), ("size", "size"), ("status", "status"),
             ("estimated_cost", "estimated"), ("billed_cost", "billed"), ("note", "note")],
            rows,
            {"estimated_cost": est, "estimated_cost_unknown": est_unknown,
             "billed_cost": billed, "billed_cost_unknown": billed_unknown},
            money=("estimated_cost", "billed_cost"), notes=notes,
        )

    # -- votes -------------------------------------------------------------------------
    @property
    def votes(self) -> list[dict[str, Any]]:
        """Every vote so far, oldest first: ``choice``, ``winner`` (label), ``note``, ``time``."""
        return [dict(v) for v in self._votes]

    def vote(self, choice: str, note: str | None = None) -> dict[str, Any]:
        """Record which side wins: ``"a"``, ``"b"`` or ``"tie"`` for A/B (for tier or
        resolution comparisons, a tier or resolution). Several votes are kept (a class
        can vote); :meth:`tally` and the ``verdict`` column sum them up."""
        if not self.sides:
            raise ValidationError(
                "voting needs a one-row comparison (compare_prompts, compare_tiers or "
                "compare_resolutions); a grid has no two sides to pick from",
                field="choice", value=choice, allowed=())
        keys = {k: k for k, _ in self.sides} | {"tie": "tie"}
        keys |= {label.lower(): k for k, label in self.sides}
        key = keys.get(choice.strip().lower()) if isinstance(choice, str) else None
        if key is None:
            allowed = [k for k, _ in self.sides] + ["tie"]
            raise ValidationError(f"vote {choice!r} is not a side of this comparison; use one of: "
                                  f"{', '.join(allowed)}", field="choice", value=choice, allowed=allowed)
        if note is not None and not isinstance(note, str):
            raise ValidationError("note must be text", field="note", value=note, allowed="str")
        label = "tie" if key == "tie" else dict(self.sides)[key]
        record = {"choice": key, "winner": label, "note": note or "",
                  "time": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        self._votes.append(record)
        self._emit(None)
        return dict(record)

    def tally(self) -> dict[str, int]:
        """Votes per side (and "tie"), in side order."""
        counts = Counter(v["choice"] for v in self._votes)
        return {k: counts.get(k, 0) for k in [*(k for k, _ in self.sides), "tie"]}

    @property
    def verdict(self) -> str:
        """The side with most votes, "tie" when even, "" with no votes."""
        if not self._votes:
            return ""
        ranked = Counter(v["choice"] for v in self._votes).most_common()
        if len(ranked) > 1 and ranked[0][1] == ranked[1][1]:
            return "tie"
        return ranked[0][0]

    # -- export ------------------------------------------------------------------------
    def rows(self) -> list[dict[str, Any]]:
        """One dict per cell (same keys for every cell): request, status, size, costs,
        latency, task id, URLs and, for two-sided comparisons, the votes."""
        tally = self.tally() if self.sides else {}
        notes = " | ".join(f"{v['winner']}: {v['note']}" for v in self._votes if v["note"])
        out = []
        for c in self.cells:
            size = c.size
            row: dict[str, Any] = {
                "comparison": self.kind, "row": c.row, "column": c.col, "cell": c.col_label,
                "side": c.side or "", "prompt": c.request.prompt, "tier": c.request.tier,
                "resolution": c.request.resolution, "aspect_ratio": c.request.aspect_ratio,
                "width": size[0] if size else None, "height": size[1] if size else None,
                "status": c.status, "error": c.error_text,
                "task_id": c.task.id if c.task is not None else "",
                "estimated_cost": c.estimated_cost, "billed_cost": c.billed_cost if c.done else None,
                "cost": c.cost, "cost_source": c.cost_source,
                "latency_s": round(c.latency, 3) if c.latency is not None else None,
                "images": len(c.result.images) if c.result else 0,
                "urls": " ".join(i.url for i in c.result.images) if c.result else "",
                "simulated": self.simulated,
            }
            if self.sides:
                row |= {"votes_won": tally.get(c.side or "", 0), "votes_tied": tally.get("tie", 0),
                        "verdict": self.verdict, "vote_notes": notes}
            out.append(row)
        return out

    def to_pandas(self) -> pd.DataFrame:
        """The rows as a pandas DataFrame (needs ``pip install pandas``)."""
        return _pandas().DataFrame(self.rows())

    def to_csv(self, path: str | Path) -> Path:
        """Write the rows (votes included) as CSV; returns the path."""
        return _write_csv(path, self.rows())

    # -- display -----------------------------------------------------------------------
    def view(self) -> Any:
        """The live widget view (built once, on first use)."""
        if self._view is None:
            from .widgets._compare_views import ComparisonView

            self._view = ComparisonView(self)
        return self._view

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any] | None:
        try:
            view = self.view()
        except Exception:  # no widget support here: IPython falls back to _repr_html_
            log.debug("comparison widget view unavailable", exc_info=True)
            return None
        bundle = view._repr_mimebundle_(include=include, exclude=exclude)
        if isinstance(bundle, tuple):
            bundle = bundle[0]
        if bundle:
            bundle = dict(bundle)
            bundle["text/plain"] = repr(self)
        return bundle

    def _repr_html_(self) -> str:
        """Static table with thumbnails, for frontends without widgets (and saved HTML)."""
        cols = len(self.col_labels)
        head = "".join(f'<th style="padding:4px 8px">{html.escape(lbl)}</th>' for lbl in self.col_labels)
        body = []
        for r, row_label in enumerate(self.row_labels):
            tds = []
            for c in range(cols):
                try:
                    inner = _cell_html(self.cell(r, c))
                except KeyError:
                    inner = ""
                tds.append(f'<td style="vertical-align:top;padding:4px 8px">{inner}</td>')
            body.append(f'<tr><th style="text-align:left;vertical-align:top;max-width:220px;'
                        f'padding:4px 8px;font-weight:normal">{html.escape(_short(row_label))}</th>'
                        f"{''.join(tds)}</tr>")
        badge = (' <span style="background:#f59e0b;color:#fff;border-radius:4px;padding:0 6px;'
                 'font-size:11px">SIMULATED</span>') if self.simulated else ""
        done = sum(c.done for c in self.cells)
        return (f'<div style="font:13px sans-serif"><div><b>{html.escape(self.title)}</b>{badge}</div>'
                f'<table style="border-collapse:collapse"><thead><tr><th></th>{head}</tr></thead>'
                f"<tbody>{''.join(body)}</tbody></table>"
                f"<div>{done}/{len(self.cells)} done &middot; total {html.escape(self.total_text)}"
                f"{_votes_html(self)}</div></div>")

    def __repr__(self) -> str:
        done = sum(c.done for c in self.cells)
        failed = sum(c.status == "failed" for c in self.cells)
        return (f"<Comparison {self.kind}: {self.title!r}, {len(self.cells)} cells, {done} done"
                f"{f', {failed} failed' if failed else ''}, {self.total_text}>")

    def __str__(self) -> str:
        lines = [repr(self)]
        for c in self.cells:
            if c.ok and c.latency is not None:
                state = f"{c.size_text}, {format_usd(c.cost)}, {c.latency:.1f}s"
            else:
                state = c.error_text or c.status
            lines.append(f"  [{_short(c.row_label, 40)}] {c.col_label}: {state}")
        return "\n".join(lines)


def _short(text: str, n: int = _HEADER_CHARS) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _cell_caption(cell: Cell) -> str:
    """``Pro · 1k · 1024x1024 · $0.05 · 1.2s``."""
    parts = [f"{tier_label(cell.request.tier)} · {cell.request.resolution}", cell.size_text]
    if cell.ok:
        parts.append(cell.result.cost_text if cell.result else "")
        if cell.latency is not None:
            parts.append(f"{cell.latency:.1f}s")
    else:
        parts.append(format_usd(cell.estimated_cost, approx=True))
    return " · ".join(p for p in parts if p)


def _cell_html(cell: Cell) -> str:
    caption = f'<div style="color:#555;font-size:12px">{html.escape(_cell_caption(cell))}</div>'
    if cell.result is not None and cell.result.images:
        try:
            img = cell.result.images[0]
            thumb = base64.b64encode(img.thumbnail()).decode()
            pic = (f'<img src="data:image/jpeg;base64,{thumb}" style="max-width:256px;border-radius:6px" '
                   f'alt="{html.escape(cell.request.prompt[:80])}"/>')
        except Exception as exc:  # display must survive a missing download
            pic = f"<div>{html.escape(str(exc))}</div>"
        return f"{pic}{caption}"
    if cell.status == "failed":
        return (f'<div style="color:#b91c1c;max-width:256px">failed: {html.escape(cell.error_text)}</div>'
                f"{caption}")
    return f'<div style="color:#666">{html.escape(cell.status)}…</div>{caption}'


def _votes_html(cmp: Comparison) -> str:
    if not cmp.sides or not cmp.votes:
        return ""
    tally = ", ".join(f"{label}: {cmp.tally()[k]}" for k, label in cmp.sides)
    return f" &middot; votes {html.escape(tally)}, tie: {cmp.tally()['tie']}"


# ----------------------------------------------------------------------------- helpers


def _pandas() -> Any:
    try:
        import pandas
    except ImportError:
        raise ImportError("to_pandas() needs pandas: pip install pandas "
                          "(or pip install 'flux2-widgets[pandas]'); rows() and to_csv() work without it"
                          ) from None
    return pandas


def _write_csv(path: str | Path, rows: list[dict[str, Any]]) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    names: list[str] = []
    for row in rows:
        names += [k for k in row if k not in names]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=names)
    writer.writeheader()
    writer.writerows({k: ("" if v is None else v) for k, v in row.items()} for row in rows)
    path.write_text(buf.getvalue(), encoding="utf-8")
    return path


def _async_client(client: Any) -> Any:
    """``None`` -> the default async client; a sync client -> its ``.aio`` for this loop."""
    from ._defaults import as_async_client

    resolved = as_async_client(client)
    if not callable(getattr(resolved, "generate", None)):
        raise ValidationError(f"client must be an AsyncFlux2Client or Flux2Client, not "
                              f"{type(client).__name__}", field="client",
                              value=type(client).__name__, allowed="Flux2 client")
    return resolved


def _many(name: str, value: Any, allowed: Sequence[str]) -> tuple[str, ...]:
    if isinstance(value, str):
        value = (value,)
    try:
        items = tuple(value)
    except TypeError:
        raise ValidationError(f"{name} must be a list like {tuple(allowed)!r}, got {value!r}",
                              field=name, value=value, allowed=allowed) from None
    if not items:
        raise ValidationError(f"{name} is empty; give at least one of: {', '.join(allowed)}",
                              field=name, value=items, allowed=allowed)
    out: list[str] = []
    for item in items:
        key = item.strip().lower() if isinstance(item, str) else item
        if key not in allowed:
            singular = name.rstrip("s")
            raise ValidationError(f"unknown {singular} {item!r}; use one of: {', '.join(allowed)}",
                                  field=name, value=item, allowed=allowed)
        if key in out:
            raise ValidationError(f"{name} lists {key!r} twice; each column must differ",
                                  field=name, value=items, allowed=allowed)
        out.append(key)
    return tuple(out)


def _tiers(tiers: Any) -> tuple[str, ...]:
    return _many("tiers", tiers, TIERS)


def _resolutions(resolutions: Any) -> tuple[str, ...]:
    return _many("resolutions", resolutions, RESOLUTIONS)


def _prompts(prompts: Any) -> tuple[str, ...]:
    if isinstance(prompts, str):
        prompts = (prompts,)
    try:
        items = tuple(prompts)
    except TypeError:
        raise ValidationError(f"prompts must be a list of strings, got {type(prompts).__name__}",
                              field="prompts", value=prompts, allowed="list of prompts") from None
    if not items:
        raise ValidationError("prompts is empty; give at least one prompt, e.g. ['a red fox in snow']",
                              field="prompts", value=items, allowed="list of prompts")
    cleaned = []
    for i, p in enumerate(items):
        if not isinstance(p, str):
            raise ValidationError(f"prompt #{i + 1} must be text, got {type(p).__name__}",
                                  field="prompts", value=p, allowed="str")
        if p.strip() in cleaned:
            raise ValidationError(f"prompt #{i + 1} repeats an earlier prompt; each row must differ",
                                  field="prompts", value=p, allowed="distinct prompts")
        cleaned.append(p.strip())
    return tuple(items)


def _col_label(tier: str, resolution: str) -> str:
    return f"{tier_label(tier)} · {resolution}"


def _check_budget(cells: list[Cell], budget: float | None, what: str) -> None:
    """Refuse a plan whose estimate passes ``budget``, before anything is sent."""
    check_budget([c.request for c in cells], budget, what=what)


def _check_size(n: int, what: str) -> None:
    if n > MAX_CELLS:
        raise ValidationError(
            f"{what} has {n} cells; one comparison runs at most {MAX_CELLS}. "
            "Split the prompts into smaller grids or drop a tier/resolution.",
            field="cells", value=n, allowed=f"<= {MAX_CELLS}")


def _check_ratio(aspect_ratio: str) -> None:
    if not isinstance(aspect_ratio, str):
        raise ValidationError(f"aspect_ratio must be text like '1:1', got {aspect_ratio!r}",
                              field="aspect_ratio", value=aspect_ratio, allowed=())


# ----------------------------------------------------------------------------- plans


@dataclass
class Plan:
    """A validated comparison that has not been sent: its cells and their estimate.
    ``plan_for`` builds one for the CompareWidget's live estimate."""

    helper: str
    cells: list[Cell]
    kind: str
    title: str
    row_labels: list[str]
    col_labels: list[str]
    what: str
    sides: list[tuple[str, str]] = field(default_factory=list)

    @property
    def estimate(self) -> tuple[float, int]:
        """(estimated USD of the priced cells, how many cells have no published price)."""
        return _sum(c.estimated_cost for c in self.cells)

    @property
    def estimate_text(self) -> str:
        total, unknown = self.estimate
        n = len(self.cells)
        return f"{n} image{'s' if n != 1 else ''}, about {_sum_text(total, unknown)}"

    def check(self, budget: float | None) -> None:
        _check_size(len(self.cells), self.what)
        _check_budget(self.cells, budget, self.what)

    def launch(self, *, client: Any, budget: float | None, timeout: float | None) -> Comparison:
        self.check(budget)
        return Comparison(self.cells, kind=self.kind, title=self.title, row_labels=self.row_labels,
                          col_labels=self.col_labels, sides=self.sides, client=client, budget=budget,
                          timeout=timeout).start()


def _plan_tiers(prompt: str, tiers: Any, resolution: str, aspect_ratio: str) -> Plan:
    tiers_ = _tiers(tiers)
    _check_ratio(aspect_ratio)
    requests = [ImageRequest(prompt, tier=t, resolution=resolution, aspect_ratio=aspect_ratio)
                for t in tiers_]
    prompt = requests[0].prompt
    cols = [_col_label(req.tier, req.resolution) for req in requests]
    cells = [Cell(i, 0, i, prompt, cols[i], req, side=req.tier) for i, req in enumerate(requests)]
    return Plan("compare_tiers", cells, "tiers",
                f"{' vs '.join(tier_label(t) for t in tiers_)} at {requests[0].resolution}",
                [prompt], cols, "this tier comparison", [(t, tier_label(t)) for t in tiers_])


def _plan_resolutions(prompt: str, tier: str, resolutions: Any, aspect_ratio: str) -> Plan:
    resolutions_ = _resolutions(resolutions)
    _check_ratio(aspect_ratio)
    requests = [ImageRequest(prompt, tier=tier, resolution=r, aspect_ratio=aspect_ratio)
                for r in resolutions_]
    prompt, tier = requests[0].prompt, requests[0].tier
    cols = [_col_label(tier, r) for r in resolutions_]
    cells = [Cell(i, 0, i, prompt, cols[i], req, side=req.resolution) for i, req in enumerate(requests)]
    return Plan("compare_resolutions", cells, "resolutions",
                f"{tier_label(tier)}: {' vs '.join(resolutions_)}", [prompt], cols,
                "this resolution comparison", [(r, r) for r in resolutions_])


def _plan_prompts(prompt_a: str, prompt_b: str, tier: str, resolution: str, aspect_ratio: str) -> Plan:
    _check_ratio(aspect_ratio)
    req_a = ImageRequest(prompt_a, tier=tier, resolution=resolution, aspect_ratio=aspect_ratio)
    req_b = ImageRequest(prompt_b, tier=tier, resolution=resolution, aspect_ratio=aspect_ratio)
    if req_a.prompt == req_b.prompt:
        raise ValidationError("prompt_a and prompt_b are the same; change one of them to compare",
                              field="prompt_b", value=prompt_b, allowed="a different prompt")
    row = _col_label(req_a.tier, req_a.resolution)
    cells = [Cell(0, 0, 0, row, "A", req_a, side="a"), Cell(1, 0, 1, row, "B", req_b, side="b")]
    return Plan("compare_prompts", cells, "prompts",
                f"Prompt A/B ({tier_label(req_a.tier)} · {req_a.resolution})", [row], ["A", "B"],
                "this A/B comparison", [("a", "A"), ("b", "B")])


def _plan_grid(prompts: Any, tiers: Any, resolutions: Any, aspect_ratio: str) -> Plan:
    prompts_ = _prompts(prompts)
    tiers_ = _tiers(tiers)
    resolutions_ = _resolutions(resolutions)
    _check_ratio(aspect_ratio)
    what = (f"this grid ({len(prompts_)} prompt{'s' if len(prompts_) != 1 else ''} x "
            f"{len(tiers_)} tier{'s' if len(tiers_) != 1 else ''} x "
            f"{len(resolutions_)} resolution{'s' if len(resolutions_) != 1 else ''})")
    _check_size(len(prompts_) * len(tiers_) * len(resolutions_), what)
    combos = [(t, r) for t in tiers_ for r in resolutions_]
    cells: list[Cell] = []
    rows: list[str] = []
    for ri, p in enumerate(prompts_):
        for ci, (t, r) in enumerate(combos):
            req = ImageRequest(p, tier=t, resolution=r, aspect_ratio=aspect_ratio)
            if ci == 0:
                rows.append(req.prompt)
            cells.append(Cell(len(cells), ri, ci, req.prompt, _col_label(t, r), req))
    cols = [_col_label(t, r) for t, r in combos]
    title = f"Grid: {len(prompts_)} prompt{'s' if len(prompts_) != 1 else ''} x {', '.join(cols)}"
    return Plan("compare_grid", cells, "grid", title, rows, cols, what)


def plan_for(prompts: Sequence[str] | str, tiers: Sequence[str] | str, resolutions: Sequence[str] | str,
             aspect_ratio: str = "1:1") -> Plan:
    """Pick the helper that fits the inputs and validate its plan, sending nothing.

    One prompt with several tiers -> ``compare_tiers``; one prompt and tier with
    several resolutions -> ``compare_resolutions``; two prompts in one tier and
    resolution -> ``compare_prompts`` (A/B, with votes); anything else -> ``compare_grid``.
    """
    prompts_ = _prompts(prompts)
    tiers_ = _tiers(tiers)
    resolutions_ = _resolutions(resolutions)
    if len(prompts_) == 1 and len(tiers_) > 1 and len(resolutions_) == 1:
        return _plan_tiers(prompts_[0], tiers_, resolutions_[0], aspect_ratio)
    if len(prompts_) == 1 and len(tiers_) == 1 and len(resolutions_) > 1:
        return _plan_resolutions(prompts_[0], tiers_[0], resolutions_, aspect_ratio)
    if len(prompts_) == 2 and len(tiers_) == 1 and len(resolutions_) == 1:
        return _plan_prompts(prompts_[0], prompts_[1], tiers_[0], resolutions_[0], aspect_ratio)
    return _plan_grid(prompts_, tiers_, resolutions_, aspect_ratio)


# ----------------------------------------------------------------------------- public helpers


def compare_tiers(prompt: str, tiers: Sequence[str] | str = ("pro", "flex"), resolution: str = "1k",
                  aspect_ratio: str = "1:1", client: AsyncFlux2Client | Flux2Client | None = None,
                  budget: float | None = None, *, timeout: float | None = None) -> Comparison:
    """One prompt in several tiers, side by side (Pro vs Flex by default).

    Returns a running :class:`Comparison` at once; ``await`` it or call
    ``.wait()`` for the finished one. ``budget`` (USD) refuses the plan before
    anything is sent if its estimate is higher. ``timeout`` caps each task's wait.
    """
    plan = _plan_tiers(prompt, tiers, resolution, aspect_ratio)
    return plan.launch(client=client, budget=budget, timeout=timeout)


def compare_resolutions(prompt: str, tier: str = "pro", resolutions: Sequence[str] | str = ("1k", "2k"),
                        aspect_ratio: str = "1:1", client: AsyncFlux2Client | Flux2Client | None = None,
                        budget: float | None = None, *, timeout: float | None = None) -> Comparison:
    """One prompt at several output resolutions in one tier (1k vs 2k by default)."""
    plan = _plan_resolutions(prompt, tier, resolutions, aspect_ratio)
    return plan.launch(client=client, budget=budget, timeout=timeout)


def compare_prompts(prompt_a: str, prompt_b: str, tier: str = "pro", resolution: str = "1k",
                    aspect_ratio: str = "1:1", client: AsyncFlux2Client | Flux2Client | None = None,
                    budget: float | None = None, *, timeout: float | None = None) -> Comparison:
    """Prompt A/B in the same tier and resolution. Record the winner with
    ``cmp.vote("a" | "b" | "tie", note=...)`` (or the buttons under the view);
    votes are kept on the object and exported by ``rows()`` / ``to_csv()``."""
    plan = _plan_prompts(prompt_a, prompt_b, tier, resolution, aspect_ratio)
    return plan.launch(client=client, budget=budget, timeout=timeout)


def compare_grid(prompts: Sequence[str] | str, tiers: Sequence[str] | str = ("pro", "flex"),
                 resolutions: Sequence[str] | str = ("1k",), aspect_ratio: str = "1:1",
                 client: AsyncFlux2Client | Flux2Client | None = None, budget: float | None = None,
                 *, timeout: float | None = None) -> Comparison:
    """Every prompt x tier x resolution: rows are prompts, columns ``Pro · 1k`` etc.

    Combinations a tier does not offer (Max at 2k) are refused with the tier's
    allowed resolutions, before anything is sent.
    """
    plan = _plan_grid(prompts, tiers, resolutions, aspect_ratio)
    return plan.launch(client=client, budget=budget, timeout=timeout)
