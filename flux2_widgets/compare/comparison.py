"""The :class:`Comparison`: its cells running side by side, waiting, votes and export.

Longer than most modules, for one job: the comparison model every view, notebook and the CLI
drive. Its cells and positions (``cell.py``), cost table (``costs.py``), static HTML
(``html.py``), labelled images (``grid_image.py``) and statistics (``stats.py``) live beside it.
"""

from __future__ import annotations

import asyncio
import logging
import random
import secrets
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Generator, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._export import require_pandas, write_csv
from .._loops import HomeLoop, running_loop
from .._sharing import StaticMirror
from ..catalog import tier_label
from ..errors import Flux2Error, TaskTimeoutError, ValidationError
from ..money import BILLED, MAY_BE_BILLED, NOT_CHARGED, format_usd, sum_costs, sum_text
from ..results import THUMBNAIL_SIDE, Generation
from ..runs import ENDED, Run
from .cell import Cell, Position
from .costs import CostTable, cells_cost_table
from .html import comparison_html, short
from .saved import saved_cell, saved_start, saved_vote

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from PIL import Image as PILImage


__all__ = ["Cell", "Comparison", "Position"]

log = logging.getLogger("flux2_widgets")

#: Preview size in a blind test's panel: large enough to judge, small enough for a saved notebook.
_BLIND_SIDE = 512
#: Runs going at once when the client does not say (``max_concurrency``; the client's default).
DEFAULT_WINDOW = 8


class Comparison:
    """A set of generations run side by side: one ``runs.Run`` per cell.

    ``cells`` are one per image, in plan order (pages, rows, columns, then takes); a grid's
    ``positions`` group them by place (a position's takes, or the reason it is empty). The runs
    do the work on the comparison's home loop (the notebook's when a cell builds it, else the
    process's background loop), so the helpers return at once; at most ``window`` of them go at
    once (the client's ``max_concurrency``), the rest wait "queued" and start, in plan order, as
    others end. The object is awaitable (``await cmp`` returns it when every cell is done),
    ``wait()`` blocks for it, and it displays itself as a live grid. Every figure it shows or
    exports is read off the runs.
    """

    def __init__(self, cells: list[Cell], *, kind: str, title: str, row_labels: Sequence[str],
                 col_labels: Sequence[str], sides: Sequence[tuple[str, str]] = (),
                 client: Any = None, budget: float | None = None, timeout: float | None = None,
                 blind: bool = False, seed: int | None = None, page_labels: Sequence[str] = ("",),
                 skipped: Sequence[Any] = (), axes: Sequence[str] = ()) -> None:
        self.cells = cells
        self.kind = kind
        self.title = title
        self.row_labels = list(row_labels)
        self.col_labels = list(col_labels)
        #: A grid's page headers (its page axes' values); ``[""]`` for one page.
        self.page_labels = list(page_labels) or [""]
        #: The names of the axes a grid varies, as its rows() columns (``animal``, ``tier`` ...).
        self.axes = list(axes)
        #: Images per position (grids with takes).
        self.takes = max((c.takes for c in cells), default=1)
        self.positions = _positions(cells, skipped)
        self._at = {(p.page, p.row, p.col): p for p in self.positions}
        #: (key, label) of what a vote can pick, besides "tie"
        self.sides = list(sides)
        self.budget = budget
        self.timeout = timeout
        self.created_at = time.time()
        self._votes: list[dict[str, Any]] = []
        self._listeners: list[Callable[[Cell | None], None]] = []
        self._client = _client_source(client)
        #: Most runs going at once; the others wait, queued, for a free place.
        self.window = _window_of(self._client)
        self._next = 0  # the next run in plan order the comparison has not started
        self._going: set[int] = set()  # runs it started that have not ended (ids)
        self._halted = False  # stopped: start nothing more
        self._pump_lock = threading.RLock()
        #: Where the runs' work happens (see ``_loops``): widget callbacks on other threads
        #: (ipykernel subshells) hand their work to it.
        self.home = HomeLoop()
        self._started = False
        #: This comparison's id in the workspace (``History().comparisons``).
        self.id = uuid.uuid4().hex
        #: Where it is saved, when not its client's store (results reopened from History).
        self._store: Any = None
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
        side = _BLIND_SIDE if blind else THUMBNAIL_SIDE
        for cell in cells:
            if cell.run is None:
                cell.run = Run(cell.request, self._client, timeout=timeout, home=self.home, preview_side=side)
            cell.run.observe(lambda change, cell=cell: self._on_run(cell, change), ("status", "money"))
        self._runs = [c.run for c in cells if c.run is not None]

    @classmethod
    def from_generations(cls, generations: Sequence[Generation], *, labels: Sequence[str] | None = None,
                         title: str = "Compared results", blind: bool = False,
                         seed: int | None = None, store: Any = None) -> Comparison:
        """A finished comparison over results you already have (from ``History`` or earlier
        runs): nothing is sent; it votes, exports, inspects and draws like any other. With a
        ``store`` it is saved to its workspace, votes included."""
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
        offline = _Offline(gens)
        home = HomeLoop()
        side = _BLIND_SIDE if blind else THUMBNAIL_SIDE
        cells = [Cell(i, 0, i, "", name, gen.request, side=key,
                      run=Run.from_generation(gen, offline, home=home, preview_side=side))
                 for i, (gen, name, key) in enumerate(zip(gens, names, keys, strict=True))]
        cmp = cls(cells, kind="results", title=title, row_labels=[""], col_labels=names,
                  sides=list(zip(keys, names, strict=True)), client=offline, blind=blind, seed=seed)
        cmp.home = home
        cmp._started = True
        cmp._store = store
        saved_start(cmp)
        return cmp

    # -- running ---------------------------------------------------------------------
    @property
    def client(self) -> Any:
        """The client the runs collect with (as given: a sync client lends each loop its twin)."""
        return self._client

    @property
    def runs(self) -> list[Run]:
        return list(self._runs)

    @property
    def simulated(self) -> bool:
        return bool(getattr(self._client, "simulated", False)) or any(
            r.generation is not None and r.generation.simulated for r in self.runs)

    @property
    def started(self) -> bool:
        return self._started

    @property
    def done(self) -> bool:
        return all(c.done for c in self.cells)

    def start(self) -> Comparison:
        """Start the cells (idempotent): ``window`` at once, the next as each ends. Called by
        the helpers. In plain code (a script) it returns once the service has answered the
        first creates, so the service is working before the script goes on."""
        if self._started:
            return self
        self._started = True
        self._pump()
        saved_start(self)
        if running_loop() is None:
            for run in self.runs[: self.window]:
                run.wait_submitted()
        return self

    def _pump(self) -> None:
        """Start queued runs, in plan order, while fewer than ``window`` go (any thread)."""
        with self._pump_lock:
            runs = self._runs
            while not self._halted and self._next < len(runs) and len(self._going) < self.window:
                run = runs[self._next]
                self._next += 1
                if run.status == "queued" and not run.active:  # not started (or stopped) by hand
                    self._going.add(id(run))
                    run.start()

    @property
    def counts(self) -> dict[str, int]:
        """How many cells are queued, running, completed, failed and stopped (and ``done``)."""
        out = dict.fromkeys(("queued", "running", "completed", "failed", "stopped"), 0)
        for cell in self.cells:
            status = cell.status
            out["running" if status not in out else status] += 1
        out["done"] = out["completed"] + out["failed"] + out["stopped"]
        return out

    @property
    def running(self) -> bool:
        """Started, and some cell has not ended yet."""
        return self._started and not self.done

    def _on_run(self, cell: Cell, change: Any) -> None:
        if change.name == "status" and change.new == "completed":
            saved_cell(self, cell)
        ended = change.name == "status" and change.new in ENDED
        if ended and cell.run is not None:
            self._going.discard(id(cell.run))
            self._pump()
        self._emit(cell)
        if ended and self.done:
            self._emit(None)

    def retry(self, cell: Cell | int) -> str:
        """Run a failed or stopped cell again by the run's one rule: wait for its task again
        when it may still finish (no new charge), send the create again with its key when it
        may have landed, else a new task. Safe from any thread. Returns the step taken."""
        cell = self.cells[cell] if isinstance(cell, int) else cell
        if cell.run is None or not cell.run.next_step:
            return ""
        return cell.run.retry()

    def stop(self) -> None:
        """Stop every unfinished cell. Tasks the service already accepted may still finish there
        and be billed: those cells say "may still be billed" until :meth:`refresh` learns how they
        ended; cells still queued (nothing sent) are not charged. Safe from any thread."""
        with self._pump_lock:
            self._halted = True
        for run in self.runs:
            if not run.done:
                run.stop()

    #: The older name of :meth:`stop`.
    cancel = stop

    def refresh(self, *, collect: bool = True, timeout: float | None = None) -> Comparison:
        """Ask the service once about every cell that may still be billed (stopped, or cut off
        by an outage) and settle it: failed -> not charged; completed -> billed, and with
        ``collect`` its image is fetched (nothing new is sent or charged). Blocks; returns the
        comparison (``await cmp.arefresh()`` in async code)."""
        self.home.run(lambda: self.arefresh(collect=collect), timeout)
        return self

    async def arefresh(self, *, collect: bool = True) -> Comparison:
        await asyncio.gather(*(r.arefresh(collect=collect) for r in self.runs), return_exceptions=True)
        return self

    # -- waiting -----------------------------------------------------------------------
    def wait(self, timeout: float | None = None) -> Comparison:
        """Block until every cell is done and return the comparison.

        Works in a plain script and in a notebook cell (where it nests on the kernel's running
        loop, so widgets keep updating). Raises ``TaskTimeoutError`` after ``timeout`` seconds;
        the cells keep running.
        """
        self.start()
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.done:
            for run in self.runs:
                left = None if deadline is None else max(0.0, deadline - time.monotonic())
                try:
                    run.wait(left)
                except TaskTimeoutError:
                    running = sum(not c.done for c in self.cells)
                    raise TaskTimeoutError(
                        f"{running} of {len(self.cells)} cells still running after {timeout:g} s; they "
                        "keep running - call wait() again or show the comparison to watch them",
                        code="wait_timeout") from None
        return self

    async def _settled(self) -> Comparison:
        while not self.done:
            await asyncio.gather(*(r._until_ended() for r in self.runs))
        return self

    def __await__(self) -> Generator[Any, None, Comparison]:
        self.start()
        return self._settled().__await__()

    # -- change notifications (the view listens) ------------------------------------------
    def on_change(self, callback: Callable[[Cell | None], None], remove: bool = False) -> None:
        """Call ``callback(cell)`` on every change of a cell's status or money (``None`` when
        all are done, and after a vote). Runs on the comparison's home loop; keep it quick."""
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
        """Per cell: the ``Generation``, the error, or ``None`` while running (or stopped)."""
        return [c.result if c.result is not None else c.error for c in self.cells]

    @property
    def generations(self) -> list[Generation]:
        return [c.result for c in self.cells if c.result is not None]

    @property
    def errors(self) -> list[BaseException]:
        return [c.error for c in self.cells if c.error is not None]

    def at(self, row: int | str, col: int | str, page: int | str = 0) -> Position:
        """The position at a row and column (indices or labels) of a page: its takes, or the
        reason it is empty. ``KeyError`` when there is none."""
        try:
            where = (page if isinstance(page, int) else self.page_labels.index(page),
                     row if isinstance(row, int) else self.row_labels.index(row),
                     col if isinstance(col, int) else self.col_labels.index(col))
        except ValueError:
            raise KeyError((row, col, page)) from None
        return self._at[where]

    def cell(self, row: int | str, col: int | str, take: int = 0, page: int | str = 0) -> Cell:
        """A cell by row/column index or label (``cmp.cell(0, "Flex · 1k")``); ``take``: which
        of a grid position's takes (from 0)."""
        cells = self.at(row, col, page).cells
        if not 0 <= take < len(cells):
            raise KeyError((row, col, take))
        return cells[take]

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
        """What the service reported billing for completed cells."""
        return sum_costs(c.billed_cost for c in self.cells)[0]

    @property
    def total_cost(self) -> float | None:
        """Billed where known, what stopped or running cells may still be billed, 0 for cells
        not charged; ``None`` if any price is unknown."""
        total, unknown = sum_costs(c.cost for c in self.cells)
        return None if unknown else total

    @property
    def may_be_billed(self) -> float:
        """What stopped or cut-off cells may still be billed (refresh() asks the service)."""
        return sum_costs(c.cost for c in self.cells if c.money == MAY_BE_BILLED)[0]

    @property
    def total_text(self) -> str:
        """The comparison's money in words: ``$0.19``, ``about $0.19`` (partly estimated or still
        running), ``... ($0.14 of it may still be billed)``; simulated: ``would have cost ...``."""
        total, unknown = sum_costs(c.cost for c in self.cells)
        text = sum_text(total, unknown)
        estimated = any(c.money != NOT_CHARGED and (c.money != BILLED or c.cost_source == "estimate")
                        for c in self.cells)
        if estimated and text != "n/a":
            text = f"about {text}"
        if self.simulated:
            text = f"would have cost {text}"
        maybe = self.may_be_billed
        if maybe:
            text += f" ({format_usd(maybe)} of it may still be billed)"
        return text

    def cost_table(self) -> CostTable:
        """Estimated vs billed per cell, with totals."""
        return cells_cost_table(self.title, self.cells, simulated=self.simulated, done=self.done)

    # -- votes -------------------------------------------------------------------------
    @property
    def votes(self) -> list[dict[str, Any]]:
        """Every vote so far, oldest first: ``choice``, ``winner`` (label), ``note``, ``time``."""
        return [dict(v) for v in self._votes]

    def vote(self, choice: str, note: str | None = None, *, voter: str = "", question: str = "",
             ) -> dict[str, Any]:
        """Record which side wins: ``"a"``, ``"b"`` or ``"tie"`` for A/B (for tier or
        resolution comparisons, a tier or resolution). Several votes are kept (a class
        can vote); :meth:`tally` and the ``verdict`` column sum them up. With a result store,
        each vote is saved to its workspace as it is cast (``History().comparisons``)."""
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
        for name, value in (("note", note), ("voter", voter), ("question", question)):
            if value is not None and not isinstance(value, str):
                raise ValidationError(f"{name} must be text", field=name, value=value, allowed="str")
        label = "tie" if key == "tie" else dict(self.sides)[key]
        now = time.time()
        record = {"choice": key, "winner": label, "note": note or "",
                  "time": datetime.fromtimestamp(now, timezone.utc).isoformat(timespec="seconds"), "at": now,
                  # cast before anything was revealed: the votes a blind test is for
                  "blind": self.blind and not self._votes, "voter": voter, "question": question}
        if self.blind:
            record["shown_as"] = "tie" if key == "tie" else self.position(key)
        self._votes.append(record)
        saved_vote(self, record)
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
        """One dict per image (same keys for every one): its place (page, row, column, take
        from 1), a grid's axis values in columns named after the axes (``animal``, ``tier``,
        ``resolution`` ...), the request, status, size, costs, latency, task id, URLs and,
        for two-sided comparisons, the votes."""
        tally = self.tally() if self.sides else {}
        notes = " | ".join(f"{v['winner']}: {v['note']}" for v in self._votes if v["note"])
        out = []
        for c in self.cells:
            size = c.size
            row: dict[str, Any] = {
                "comparison": self.kind, "page": c.page, "row": c.row, "column": c.col,
                "take": c.take + 1, "cell": c.col_label,
                **{name: _cell_value(c.values.get(name)) for name in self.axes},
                "side": c.side or "", "prompt": c.request.prompt, "tier": c.request.tier,
                "resolution": c.request.resolution, "aspect_ratio": c.request.aspect_ratio,
                "width": size[0] if size else None, "height": size[1] if size else None,
                "status": c.status, "error": c.error_text,
                "task_id": c.task.id if c.task is not None else "",
                "estimated_cost": c.estimated_cost, "billed_cost": c.billed_cost,
                "cost": c.cost, "cost_source": c.cost_source, "money": c.money,
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
        size, cost and latency under each image; a grid's takes side by side), for slides
        and reports. A grid too big for one picture (``grid_image.MAX_PIXELS``) is refused:
        :meth:`to_images` splits it into pages."""
        from .grid_image import comparison_image

        return comparison_image(self, side=side, title=title)

    def to_images(self, *, side: int = 512, title: str | None = None) -> list[PILImage.Image]:
        """The comparison as labelled pictures of at most ``grid_image.MAX_PIXELS`` each,
        split between whole rows (and between a grid's pages), each with its headers."""
        from .grid_image import comparison_images

        return comparison_images(self, side=side, title=title)

    def save_image(self, path: str | Path, *, side: int = 512, title: str | None = None) -> Path | list[Path]:
        """Write the comparison as PNG (labels also kept as PNG text). Returns the path when
        it fits one picture; a bigger grid is written as pages ``x-1.png``, ``x-2.png`` ...
        and the list of their paths is returned (:meth:`save_images` always gives a list)."""
        paths = self.save_images(path, side=side, title=title)
        return paths[0] if len(paths) == 1 and paths[0] == Path(path) else paths

    def save_images(self, path: str | Path, *, side: int = 512, title: str | None = None) -> list[Path]:
        """Like :meth:`save_image`, always returning a list: ``[x.png]`` for one picture,
        else ``[x-1.png, x-2.png, ...]``."""
        from .grid_image import save_pages

        return save_pages(self.to_images(side=side, title=title), path)

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


def _window_of(client: Any) -> int:
    """How many runs a comparison keeps going at once: what the client runs at once."""
    limit = getattr(client, "max_concurrency", None)
    if limit is None:  # the sync client keeps its setting with its async twins' options
        options = getattr(client, "_options", None)
        limit = options.get("max_concurrency") if isinstance(options, dict) else None
    ok = isinstance(limit, int) and not isinstance(limit, bool) and limit > 0
    return int(limit) if ok else DEFAULT_WINDOW  # type: ignore[arg-type]


def _cell_value(value: Any) -> Any:
    """An axis value as a table cell: a source set reads as its URLs joined by spaces."""
    return " ".join(value) if isinstance(value, tuple) else value


def _positions(cells: Sequence[Cell], skipped: Sequence[Any]) -> list[Position]:
    """The grid's places in plan order (pages, rows, columns), each with its takes; skipped
    places (objects with ``page``, ``row``, ``col``, the labels and ``reason``) hold none."""
    places: dict[tuple[int, int, int], Position] = {}
    for cell in cells:
        key = (cell.page, cell.row, cell.col)
        if key not in places:
            places[key] = Position(cell.page, cell.row, cell.col, cell.page_label, cell.row_label,
                                   cell.col_label)
        places[key].cells.append(cell)
    for s in skipped:
        places.setdefault((s.page, s.row, s.col), Position(s.page, s.row, s.col, s.page_label, s.row_label,
                                                           s.col_label, reason=s.reason))
    return [places[k] for k in sorted(places)]


def _client_source(client: Any) -> Any:
    """``None`` -> the default (sync) client; a sync or async client as given. Each run asks a
    sync client for its async twin on the loop the run works on."""
    if client is None:
        from ..client._defaults import default_client

        return default_client()
    if not callable(getattr(client, "collect", None)):
        raise ValidationError(f"client must be an AsyncFlux2Client or Flux2Client, not "
                              f"{type(client).__name__}", field="client",
                              value=type(client).__name__, allowed="Flux2 client")
    return client


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
