"""Finishing an arena whose making was cut short (its organiser's kernel died, a cell's task
failed or was stopped): the saved plan's images run again under the Idempotency-Keys they were
first sent with. A task the run log knows is waited for by its id; a create that was sent is
sent again with its key, so the service answers with the task it made (one charge), unless it
is older than ``RESEND_WINDOW`` (as ``resume()``); only a create never sent is sent now. Pairs
open as their images arrive, as when it was made."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from ..catalog import RESEND_WINDOW
from ..errors import UnansweredCreateError, ValidationError, WorkspaceError

if TYPE_CHECKING:
    from .arena import Arena
    from .comparison import Comparison


def _what_the_log_knows(store: Any) -> tuple[dict[str, tuple[str, float]], dict[str, float]]:
    """({key: (task id, first sent)} for creates the service answered, {key: first sent} for
    every create logged as sent)."""
    tasks: dict[str, tuple[str, float]] = {}
    sent: dict[str, float] = {}
    for event in store.events():
        key = event.get("idempotency_key")
        if not isinstance(key, str):
            continue
        if event.get("event") == "sending":
            at = event.get("submitted_at")
            sent.setdefault(key, float(at) if isinstance(at, (int, float)) else 0.0)
        elif event.get("event") == "submitted" and isinstance(event.get("task_id"), str):
            tasks.setdefault(key, (event["task_id"], float(event.get("submitted_at") or 0.0)))
    return tasks, sent


def finish_plan(arena: Arena, source: Any, timeout: float | None) -> Comparison:
    """The arena's saved plan as a comparison ready to start (see the module's docstring)."""
    from ..catalog import ImageRequest
    from ..results import Task
    from ..runs import Run
    from .arena import PAIR_PREVIEW_SIDE
    from .cell import Cell
    from .comparison import Comparison

    saved = arena.record.config.get("comparison")
    try:
        record = arena.workspace.comparisons.get(saved) if isinstance(saved, str) else None
    except WorkspaceError:
        record = None
    items = record.plan.get("cells") if record is not None else None
    if record is None or not items or not all(isinstance(i.get("key"), str) for i in items):
        raise ValidationError(f"arena {arena.name!r} was made without a saved plan of its creates (by an "
                              "older version): it cannot be finished; make a new one",
                              field="arena", value=arena.name, allowed="an arena made by this version")
    store = getattr(source, "store", None)
    if store is None:
        raise ValidationError("finishing an arena needs the client's results folder (a store): the run "
                              "log says which of its creates were sent", field="client",
                              value=type(source).__name__, allowed="a client with a store")
    tasks, sent = _what_the_log_knows(store)
    cells = []
    for item in items:
        request = ImageRequest.from_payload(item["request"], item.get("action"))
        key = item["key"]
        known = tasks.get(key)
        task = Task(id=known[0], action=request.action or "text_to_image", status="pending", request=request,
                    submitted_at=known[1], idempotency_key=key) if known else None
        run = Run(request, source, timeout=timeout, preview_side=PAIR_PREVIEW_SIDE, task=task,
                  idempotency_key=key, sent=key in sent)
        first_sent = sent.get(key)
        if known is None and first_sent is not None and time.time() - first_sent > RESEND_WINDOW:
            # as resume() does: the service may have forgotten so old a key, and a resend could
            # then make (and bill) a second task; the cell says so, and is not sent
            run._end("failed", UnansweredCreateError(
                f"its create was first sent {time.time() - first_sent:.0f} s ago and never answered: "
                "the service may no longer know its Idempotency-Key, so it is not sent again (that "
                "could bill a second task); Retry sends it anyway", idempotency_key=key,
                sent_at=first_sent, code="unanswered_create"))
        cells.append(Cell(int(item["index"]), int(item["row"]), int(item["col"]), str(item["row_label"]),
                          str(item["col_label"]), request, values=dict(item.get("values") or {}),
                          take=int(item.get("take") or 0), run=run))
    cmp = Comparison(cells, kind="arena", title=record.title, row_labels=record.row_labels,
                     col_labels=record.col_labels, client=source, timeout=timeout)
    cmp.id = record.id  # its cells go to the arena's saved comparison, not a new one
    return cmp


def ledger_cost(arena: Arena) -> tuple[float | None, float] | None:
    """(what the arena's creates cost by the budget ledger, of which may still be billed), from
    any kernel or machine: settled is billed, reserved may still be billed, released or never
    reserved was not charged. ``None`` for an arena saved without its creates' keys."""
    saved = arena.record.config.get("comparison")
    try:
        record = arena.workspace.comparisons.get(saved) if isinstance(saved, str) else None
    except WorkspaceError:
        return None
    items = record.plan.get("cells") if record is not None else None
    if record is None or not items or not all(isinstance(i.get("key"), str) for i in items):
        return None
    total, maybe = 0.0, 0.0
    entries = arena.workspace.budget.get_many([i["key"] for i in items])
    delivered = {c.row: c.task_id for c in record.cells}  # saved by cell index
    for item in items:
        entry = entries.get(item["key"])
        if entry is None or entry.state == "released":
            # not charged under its first key; a Retry's new send, once delivered, is indexed
            task = delivered.get(int(item["index"]))
            found = arena.workspace.results.get(task) if task else None
            total += found.cost or 0.0 if found is not None else 0.0
            continue
        if entry.state == "settled":
            if entry.cost is None:
                return None, maybe
            total += entry.cost
        else:
            total += entry.amount
            maybe += entry.amount
    return round(total, 6), round(maybe, 6)
