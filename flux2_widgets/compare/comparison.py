"""The :class:`Comparison`: its cells running side by side, waiting, votes and export.

Longer than most modules, for one job: the comparison model every view, notebook and the CLI
drive. Its cells (``cell.py``), cost table (``costs.py``), static HTML (``html.py``), labelled
image (``grid_image.py``) and statistics (``stats.py``) live beside it.
"""

from __future__ import annotations

import asyncio
import logging
import random
import secrets
import time
from collections import Counter
from collections.abc import Callable, Generator, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import _sync
from .._export import require_pandas, write_csv
from .._loops import HomeLoop, running_loop
from .._sharing import StaticMirror
from ..catalog import tier_label
from ..errors import Flux2Error, TaskTimeoutError, ValidationError, is_resumable
from ..money import format_usd, sum_costs, sum_text
from ..results import Generation, Task
from ..runs import create_key
from .cell import Cell
from .costs import CostTable, cells_cost_table
from .html import comparison_html, short

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from PIL import Image as PILImage

    from ..client._core import AsyncFlux2Client

__all__ = ["Cell", "Comparison"]

log = logging.getLogger("flux2_widgets")


class Comparison:
    """A set of generations run side by side.

    ``cells`` are in row-major order (rows = prompts, columns = tier x
    resolution, or A/B). The object is awaitable (``await cmp`` returns it when
    every cell is done) and displays itself as a live grid.
    """

    def __init__(self, cells: list[Cell], *, kind: str, title: str, row_labels: Sequence[str],
                 col_labels: Sequence[str], sides: Sequence[tuple[str, str]] = (),
                 client: Any = None, budget: float | None = None, timeout: float | None = None,
                 blind: bool = False, seed: int | None = None) -> None:
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
        #: Set when the comparison runs on a live loop (a notebook's): widget callbacks on
        #: other threads (ipykernel subshells) hand their work to it.
        self._home: HomeLoop | None = None
        self._main: asyncio.Future[None] | None = None
        self._view: Any = None
        self._mirror: StaticMirror | None = None
        if blind and len(self.sides) != 2:
            raise ValidationError(
                f"blind voting shows two sides at a time; this comparison has {len(self.sides)}",
                field="blind", value=blind, allowed="two sides (e.g. tiers=('pro', 'flex'))")
        #: Blind A/B: sides are shown in a shuffled order and every label stays hidden until a vote.
        self.blind = bool(blind)
        #: The shuffle's seed, kept so the order can be told (and reproduced) afterwards.
        self.seed = (seed if seed is not None else secrets.randbits(32)) if blind else None
        #: Cell indices in the order they are shown, left to right.
        self.order = list(range(len(cells)))
        if blind:
            random.Random(self.seed).shuffle(self.order)

    @classmethod
    def from_generations(cls, generations: Sequence[Generation], *, labels: Sequence[str] | None = None,
                         title: str = "Compared results", blind: bool = False,
                         seed: int | None = None) -> Comparison:
        """A finished comparison over results you already have (from ``History`` or earlier
        runs): nothing is sent; it votes, exports, inspects and draws like any other."""
        gens = list(generations)
        if len(gens) < 2:
            raise ValidationError(f"a comparison needs at least two results, got {len(gens)}",
                                  field="generations", value=len(gens), allowed=">= 2")
        names = list(labels) if labels is not None else [_default_label(g, gens) for g in gens]
        if len(names) != len(gens) or len(set(names)) != len(names):
            raise ValidationError("labels must name each result once, all different",
                                  field="labels", value=names, allowed=f"{len(gens)} distinct labels")
        keys = [chr(ord("a") + i) for i in range(len(gens))] if len(gens) <= 26 else [str(i) for i in
                                                                                      range(len(gens))]
        cells = []
        for i, (gen, name, key) in enumerate(zip(gens, names, keys, strict=True)):
            cell = Cell(i, 0, i, "", name, gen.request, side=key, status="completed", task=gen.task,
                        result=gen, started_at=gen.submitted_at, finished_at=gen.completed_at,
                        submitted=True)
            cells.append(cell)
        cmp = cls(cells, kind="results", title=title, row_labels=[""], col_labels=names,
                  sides=list(zip(keys, names, strict=True)), client=_Offline(gens), blind=blind, seed=seed)
        cmp._mark_finished()
        return cmp

    def _mark_finished(self) -> None:
        loop = _sync.current_loop()
        done: asyncio.Future[None] = loop.create_future()
        done.set_result(None)
        self._loop, self._main = loop, done

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
        running = running_loop()
        loop = running if running is not None else _sync.private_loop()
        self._loop = loop
        self._home = HomeLoop(loop) if running is not None else None
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
        # A task that may still finish (a poll or download outage) is waited for again:
        # submitting it anew would be billed on top of the one already running.
        previous = cell.task if cell.task is not None and is_resumable(cell.error, cell.task.id) else None
        if previous is None:  # sent (again): the same key while the first send may have landed
            cell.idempotency_key = create_key(cell.idempotency_key, cell.error)
        cell.status = "submitting" if previous is None else "processing"
        cell.started_at = cell.started_at if previous is not None else time.time()
        cell.result = cell.error = None
        cell.task, cell.submitted = previous, previous is not None
        self._emit(cell)

        def on_update(task: Task) -> None:
            cell.task, cell.submitted = task, True
            if task.status == "failed":
                return  # the error follows at once, with what Retry needs to know
            # "completed" here means the images are still downloading: the cell is done with its result.
            cell.status = "downloading" if task.status == "completed" else task.status
            self._emit(cell)

        try:
            gen = await self._client.collect(cell.request, task=previous, timeout=self.timeout,
                                             on_update=on_update,
                                             idempotency_key=None if previous else cell.idempotency_key)
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
                                 submitted_at=cell.started_at or time.time())
        else:
            cell.result, cell.task, cell.status = gen, gen.task, "completed"
        cell.finished_at, cell.submitted = time.time(), True
        self._emit(cell)

    def retry(self, cell: Cell | int) -> None:
        """Run a failed cell again, on the comparison's loop: wait for its task again when
        it may still finish (no new charge), else submit the same request anew. Safe to call
        from any thread (a widget message on a kernel subshell): the work moves to that loop."""
        cell = self.cells[cell] if isinstance(cell, int) else cell
        if not cell.done or cell.ok:
            return
        loop = self._loop
        if loop is None or loop.is_closed():
            raise RuntimeError("this comparison's event loop has closed; start a new comparison")
        if self._home is not None:
            self._home.call(self._retry_here, cell)
        else:  # a plain script: the private loop runs only inside wait()
            self._retry_here(cell)

    def _retry_here(self, cell: Cell) -> None:
        loop = self._loop
        if not cell.done or cell.ok or loop is None or loop.is_closed():
            return  # a second click arrived while the first was being handed over
        previous = self._main
        retry = loop.create_task(self._run_cell(cell))

        async def both() -> None:
            # one gather, so cancel() reaches the retried cell as well as the earlier run
            await asyncio.gather(*(f for f in (previous, retry) if f is not None), return_exceptions=True)
            await self._settle()

        self._main = loop.create_task(both())

    def cancel(self) -> None:
        """Stop every unfinished cell; each fails with "cancelled before it finished".
        Tasks the service already accepted may still finish there (and be billed).
        Safe from any thread: the cancelling happens on the comparison's loop."""
        main, loop = self._main, self._loop
        if main is None or main.done() or loop is None or loop.is_closed():
            return
        if self._home is not None:
            self._home.call(self._cancel_here)
            return
        main.cancel()
        # a plain script: let the cells record it now, leaving nothing pending
        loop.run_until_complete(asyncio.gather(main, return_exceptions=True))

    def _cancel_here(self) -> None:
        if self._main is not None and not self._main.done():
            self._main.cancel()

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
        running = running_loop()
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
        running = running_loop()
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
        if cell is None and self._mirror is not None:
            # settled, or a vote: what a reader of the saved notebook sees follows
            self._mirror.refresh()

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
        total, unknown = sum_costs(c.estimated_cost for c in self.cells)
        return None if unknown else total

    @property
    def billed_cost(self) -> float:
        """What finished cells were billed (failed cells are not charged)."""
        return sum_costs(c.billed_cost for c in self.cells if c.done)[0]

    @property
    def total_cost(self) -> float | None:
        """Billed where the API reported it, else estimates; failures count 0."""
        total, unknown = sum_costs(c.cost for c in self.cells)
        return None if unknown else total

    @property
    def total_text(self) -> str:
        total, unknown = sum_costs(c.cost for c in self.cells)
        sources = {c.cost_source for c in self.cells if c.cost_source != "not charged"}
        text = sum_text(total, unknown)
        if not self.done or "estimate" in sources:
            text = f"about {text}" if text != "n/a" else text
        if self.simulated:
            text = f"would have cost {text}"
        return text

    def cost_table(self) -> CostTable:
        """Estimated vs billed per cell, with totals."""
        return cells_cost_table(self.title, self.cells, simulated=self.simulated, done=self.done)

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
        if self.blind:
            keys |= {pos: self.cells[i].side or "" for pos, i in zip(("left", "right"), self.order,
                                                                       strict=False)}
        key = keys.get(choice.strip().lower()) if isinstance(choice, str) else None
        if key is None:
            allowed = [k for k, _ in self.sides] + ["tie"] + (["left", "right"] if self.blind else [])
            raise ValidationError(f"vote {choice!r} is not a side of this comparison; use one of: "
                                  f"{', '.join(allowed)}", field="choice", value=choice, allowed=allowed)
        if note is not None and not isinstance(note, str):
            raise ValidationError("note must be text", field="note", value=note, allowed="str")
        label = "tie" if key == "tie" else dict(self.sides)[key]
        record = {"choice": key, "winner": label, "note": note or "",
                  "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                  # cast before anything was revealed: the votes a blind test is for
                  "blind": self.blind and not self._votes}
        if self.blind:
            record["shown_as"] = "tie" if key == "tie" else self.position(key)
        self._votes.append(record)
        self._emit(None)
        return dict(record)

    @property
    def revealed(self) -> bool:
        """Whether labels may be shown: always, except in a blind test before its first vote."""
        return not self.blind or bool(self._votes)

    def position(self, side: str) -> str:
        """Where a side is shown: ``"left"`` / ``"right"`` (a blind test's shuffle), else its column."""
        index = next(i for i, c in enumerate(self.cells) if c.side == side)
        place = self.order.index(index)
        return ("left", "right")[place] if len(self.order) == 2 else str(place + 1)

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
            if self.blind:
                row["shown_as"] = self.position(c.side or "")
            if self.sides:
                row |= {"votes_won": tally.get(c.side or "", 0), "votes_tied": tally.get("tie", 0),
                        "verdict": self.verdict, "vote_notes": notes}
            out.append(row)
        return out

    def to_pandas(self) -> pd.DataFrame:
        """The rows as a pandas DataFrame (needs ``pip install pandas``)."""
        return require_pandas().DataFrame(self.rows())

    def to_csv(self, path: str | Path) -> Path:
        """Write the rows (votes included) as CSV; returns the path."""
        return write_csv(path, self.rows())

    def to_image(self, *, side: int = 512, title: str | None = None) -> PILImage.Image:
        """One labelled picture of the whole comparison (title, column and row headers,
        size, cost and latency under each image), for slides and reports."""
        from .grid_image import comparison_image

        return comparison_image(self, side=side, title=title)

    def save_image(self, path: str | Path, *, side: int = 512, title: str | None = None) -> Path:
        """Write :meth:`to_image` as PNG (labels also kept as PNG text); returns the path."""
        from .grid_image import save_png

        return save_png(self.to_image(side=side, title=title), path)

    def inspect(self, **options: Any) -> Any:
        """A zoomable inspector over this comparison's images: side by side with synced zoom
        and pan, swipe, blink and a difference heatmap; full resolution fetched on zoom."""
        from ..widgets.inspect_view import Inspector

        return Inspector.from_comparison(self, **options)

    # -- display -----------------------------------------------------------------------
    def view(self) -> Any:
        """The live widget view (built once, on first use)."""
        if self._view is None:
            from ..widgets.comparison_view import ComparisonView

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
            # The results for readers without widgets go in a twin output that is updated
            # when the comparison settles (see _sharing); this output's own HTML would be a
            # snapshot from the start ("queued"), so it is left empty.
            bundle["text/html"] = ""
            if self._mirror is None:
                self._mirror = StaticMirror(lambda: comparison_html(self))
            self._mirror.show()
        return bundle

    def _repr_html_(self) -> str:
        """Static table with thumbnails, for frontends without widgets (and saved HTML)."""
        return comparison_html(self)

    def __repr__(self) -> str:
        done = sum(c.done for c in self.cells)
        failed = sum(c.status == "failed" for c in self.cells)
        if not self.revealed:
            return (f"<Comparison {self.kind} (blind, hidden until a vote): {len(self.cells)} cells, "
                    f"{done} done>")
        return (f"<Comparison {self.kind}: {self.title!r}, {len(self.cells)} cells, {done} done"
                f"{f', {failed} failed' if failed else ''}, {self.total_text}>")

    def __str__(self) -> str:
        lines = [repr(self)]
        if not self.revealed:
            return lines[0]
        for c in self.cells:
            if c.ok and c.latency is not None:
                state = f"{c.size_text}, {format_usd(c.cost)}, {c.latency:.1f}s"
            else:
                state = c.error_text or c.status
            lines.append(f"  [{short(c.row_label, 40)}] {c.col_label}: {state}")
        return "\n".join(lines)


def _async_client(client: Any) -> Any:
    """``None`` -> the default async client; a sync client -> its ``.aio`` for this loop."""
    from ..client._defaults import as_async_client

    resolved = as_async_client(client)
    if not callable(getattr(resolved, "generate", None)):
        raise ValidationError(f"client must be an AsyncFlux2Client or Flux2Client, not "
                              f"{type(client).__name__}", field="client",
                              value=type(client).__name__, allowed="Flux2 client")
    return resolved


def _default_label(gen: Generation, gens: Sequence[Generation]) -> str:
    """``Pro · 1k``, made unique with the task id when two results share it."""
    def short(g: Generation) -> str:
        return f"{tier_label(g.request.tier)} · {g.request.resolution}"

    label = short(gen)
    same = [g for g in gens if short(g) == label]
    return label if len(same) == 1 else f"{label} ({gen.id[-6:]})"


class _Offline:
    """Stands in for a client in comparisons over finished results: nothing to send."""

    simulated = False
    base_url = ""

    def __init__(self, gens: Sequence[Generation]) -> None:
        self.simulated = any(g.simulated for g in gens)

    async def collect(self, *args: Any, **kwargs: Any) -> Generation:
        raise Flux2Error("this comparison was built from finished results; there is nothing to run")

    def generate(self, *args: Any, **kwargs: Any) -> None:  # pragma: no cover - marks a client shape
        raise Flux2Error("this comparison was built from finished results; there is nothing to run")
