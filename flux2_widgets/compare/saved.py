"""Comparisons that outlive their kernel: saved to the workspace as they run, votes as cast.

A comparison whose client keeps its results in a store is recorded in that store's workspace
database when it starts (its plan: kind, title, labels, sides, blind and seed, and every cell's
request and place), each cell's task id as its result arrives, and each vote the moment it is
cast. ``History().comparisons`` lists them; :func:`comparison_from_record` brings one back, with
its images (from the results folder) and its votes, and new votes go to the same record.

The database work runs on the workspace's own thread (first in first out, so a record is made
before its cells and votes), never on the notebook's loop. A vote cast from plain code waits
for its write: when ``vote()`` returns, the vote survives a kill. From a loop it is queued.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any, overload

from .._loops import running_loop

if TYPE_CHECKING:  # pragma: no cover
    from ..store import ResultStore
    from ..workspace import Workspace
    from ..workspace._records import ComparisonRecord
    from .cell import Cell
    from .comparison import Comparison
    from .history import History

__all__ = ["SavedComparisons", "comparison_from_record", "saving_store", "saved_cell", "saved_start",
           "saved_vote", "tally_sources"]

log = logging.getLogger("flux2_widgets")


def saving_store(cmp: Comparison) -> ResultStore | None:
    """Where a comparison is kept: its client's result store (``None``: not kept)."""
    store = getattr(cmp, "_store", None)
    if store is not None:
        return store
    return getattr(cmp.client, "store", None)


def _submit(cmp: Comparison, work: Any, *, wait: bool = False) -> Future[Any] | None:
    store = saving_store(cmp)
    if store is None:
        return None
    from ..workspace._thread import _workspace_executor

    def job() -> Any:
        try:
            return work(store.workspace)
        except Exception:  # the comparison goes on; only its record is behind
            log.warning("could not save comparison %s to the workspace", cmp.id, exc_info=True)
            return None

    future = _workspace_executor().submit(job)
    if wait:
        future.result(timeout=30)
    return future


def _plan(cmp: Comparison) -> dict[str, Any]:
    return {"cells": [{"index": c.index, "row": c.row, "col": c.col, "page": c.page, "take": c.take,
                       "row_label": c.row_label, "col_label": c.col_label, "side": c.side,
                       "values": {k: v for k, v in c.values.items() if isinstance(v, (str, int, float))},
                       "request": c.request.payload(), "action": c.request.action or "text_to_image",
                       # the create's Idempotency-Key: its money in the budget ledger, and what
                       # finishing an interrupted arena sends again without a second charge
                       "key": c.run.idempotency_key if c.run is not None else None}
                      for c in cmp.cells],
            "order": list(cmp.order), "simulated": cmp.simulated}


def saved_start(cmp: Comparison) -> None:
    """Record the comparison's plan (and any cells already done), in the background."""
    from ..workspace._records import ComparisonCell

    done = [ComparisonCell(c.index, 0, c.result.id) for c in cmp.cells if c.result is not None]
    plan = _plan(cmp)

    def work(ws: Workspace) -> None:
        ws.comparisons.create(kind=cmp.kind, title=cmp.title, row_labels=cmp.row_labels,
                              col_labels=cmp.col_labels, sides=cmp.sides, blind=cmp.blind, seed=cmp.seed,
                              cells=done, plan=plan, id=cmp.id, created_at=cmp.created_at)

    _submit(cmp, work)


def saved_cell(cmp: Comparison, cell: Cell) -> None:
    """A cell's result arrived: record which task it was (cells are saved by their index)."""
    if cell.result is None:
        return
    task_id = cell.result.id
    _submit(cmp, lambda ws: ws.comparisons.set_cell(cmp.id, cell.index, 0, task_id))


def saved_vote(cmp: Comparison, vote: dict[str, Any]) -> None:
    """Record a vote as cast (waited for in plain code, queued from a loop)."""
    def work(ws: Workspace) -> None:
        ws.comparisons.vote(cmp.id, vote["choice"], voter=vote.get("voter", ""), blind=vote["blind"],
                            question=vote.get("question", ""), note=vote.get("note") or None,
                            shown_as=vote.get("shown_as"), at=vote.get("at"))

    _submit(cmp, work, wait=running_loop() is None)


def comparison_from_record(record: ComparisonRecord, history: History) -> Comparison:
    """A saved comparison again: its cells' results read back from the results folder (a cell
    whose result is gone shows as such), its votes from the database; it votes, exports,
    inspects and draws like any other, and new votes go to the same record."""
    from ..catalog import ImageRequest
    from ..errors import ValidationError
    from ..results import Generation
    from ..runs import Run
    from .cell import Cell
    from .comparison import Comparison, _Offline

    cells_plan = record.plan.get("cells") or []
    if not cells_plan:
        raise ValidationError(f"comparison {record.id} was saved without its plan (an older version?)",
                              field="record", value=record.id, allowed="a saved comparison")
    by_index = {c.row: c.task_id for c in record.cells}
    gens: dict[int, Generation] = {}
    for item in cells_plan:
        task_id = by_index.get(int(item["index"]))
        if task_id is None:
            continue
        try:
            gens[int(item["index"])] = history[task_id].generation()
        except KeyError:
            continue  # the result's files are gone: the cell says so
    offline = _Offline(list(gens.values()))
    offline.simulated = bool(record.plan.get("simulated")) or offline.simulated
    cells = []
    for item in cells_plan:
        index = int(item["index"])
        request = ImageRequest.from_payload(item["request"], item.get("action"))
        gen = gens.get(index)
        run = Run.from_generation(gen, offline) if gen is not None else Run(request, offline)
        if gen is None:
            run._end("failed", ValidationError(
                "this cell's result is no longer in the results folder", field="result", value=index))
        cells.append(Cell(index, int(item["row"]), int(item["col"]), str(item["row_label"]),
                          str(item["col_label"]), request, side=item.get("side"),
                          values=dict(item.get("values") or {}), take=int(item.get("take") or 0),
                          page=int(item.get("page") or 0), run=run))
    cmp = Comparison(cells, kind=record.kind, title=record.title, row_labels=record.row_labels,
                     col_labels=record.col_labels, sides=record.sides, client=offline, blind=record.blind,
                     seed=record.seed)
    cmp.id, cmp.created_at, cmp._started = record.id, record.created_at, True
    cmp._store = history.store
    if record.plan.get("order"):
        cmp.order = [int(i) for i in record.plan["order"]]
    votes = history.store.workspace.comparisons.votes(record.id)
    cmp._votes = [_vote_dict(cmp, v) for v in sorted(votes, key=lambda v: (v.at, v.id))]
    return cmp


def _vote_dict(cmp: Comparison, vote: Any) -> dict[str, Any]:
    from datetime import datetime, timezone

    label = "tie" if vote.choice == "tie" else dict(cmp.sides).get(vote.choice, vote.choice)
    when = datetime.fromtimestamp(vote.at, timezone.utc).isoformat(timespec="seconds")
    out: dict[str, Any] = {"choice": vote.choice, "winner": label, "note": vote.note or "", "time": when,
                           "at": vote.at, "blind": vote.blind, "voter": vote.voter, "question": vote.question}
    if vote.shown_as:
        out["shown_as"] = vote.shown_as
    return out


class SavedComparisons(Sequence["Comparison"]):
    """``History().comparisons``: the folder's saved comparisons, newest first. Each is built
    (its images read back, its votes loaded) the first time it is asked for."""

    def __init__(self, records: Sequence[ComparisonRecord], history: History) -> None:
        self.records = list(records)
        self._history = history
        self._built: dict[int, Comparison] = {}

    def __len__(self) -> int:
        return len(self.records)

    @overload
    def __getitem__(self, index: int) -> Comparison: ...

    @overload
    def __getitem__(self, index: slice) -> list[Comparison]: ...

    def __getitem__(self, index: int | slice) -> Comparison | list[Comparison]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        i = range(len(self))[index]
        if i not in self._built:
            self._built[i] = comparison_from_record(self.records[i], self._history)
        return self._built[i]

    def find(self, comparison_id: str) -> Comparison:
        """The saved comparison with this id (``cmp.id``)."""
        for i, record in enumerate(self.records):
            if record.id == comparison_id:
                return self[i]
        raise KeyError(comparison_id)

    def __repr__(self) -> str:
        return f"<{len(self)} saved comparisons in {self._history.root}>"


class _Tallied:
    """What ``tally_votes`` needs of a saved comparison, read from its record (no images)."""

    def __init__(self, record: ComparisonRecord, votes: list[dict[str, Any]]) -> None:
        from ..catalog import ImageRequest
        from .cell import Cell

        self.kind, self.sides, self.votes = record.kind, list(record.sides), votes
        self.cells = [Cell(int(c["index"]), int(c["row"]), int(c["col"]), str(c["row_label"]),
                           str(c["col_label"]), ImageRequest.from_payload(c["request"], c.get("action")),
                           side=c.get("side")) for c in record.plan.get("cells") or []]


def tally_sources(history: History) -> list[Any]:
    """Every saved two-sided comparison of a folder with its votes, as ``tally_votes`` reads them
    (from the database alone: no image is read)."""
    ws = history.store.workspace
    out = []
    for record in ws.comparisons.recent():
        if not record.sides or not record.plan.get("cells"):
            continue
        votes = sorted(ws.comparisons.votes(record.id), key=lambda v: (v.at, v.id))
        out.append(_Tallied(record, [{"choice": v.choice, "blind": v.blind, "note": v.note,
                                      "voter": v.voter, "question": v.question} for v in votes]))
    return out
