"""The Studio's model: runs, the budget ledger, collect/resume, uploads and export, without widgets.

``StudioSession`` is what the Studio's buttons ask for; a test can drive it alone. It speaks to
each run through ``runs.RunView`` (what a tile shows: start, update, result, error, stopped),
so the same logic serves a widget tile or a plain recorder.

Loop affinity: every run, upload and settle-check starts on the session's ``HomeLoop`` (the loop
the session was built on), whichever thread a button message arrived on. ipykernel 7 delivers
widget messages on subshell threads with loops of their own; the client's connection pools and
events belong to the home loop, so work never starts anywhere else.

The ledger: the budget counts what finished work cost, what running tasks will cost, and what
tasks the session stopped waiting for may still cost ("unsettled"). Unsettled amounts are checked
with the service (one status read each) on Clear and before a batch is refused, and released when
the task failed (failed tasks are not charged) or moved to spent when it completed.
"""

from __future__ import annotations

import asyncio
import functools
import math
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._loops import HomeLoop
from .catalog import RESEND_WINDOW, TIER_INFO, ImageRequest, price, tier_label
from .errors import BudgetExceededError, Flux2Error, ValidationError, is_resumable
from .money import PriceLookup, check_budget, cost_text, format_usd, session_text, sum_costs
from .results import Generation, Task
from .runs import RunView, create_key, run_in_view
from .store import ResultStore, Unanswered

if TYPE_CHECKING:  # pragma: no cover
    from .client import AsyncFlux2Client, Flux2Client

__all__ = ["MAX_BATCH", "StudioSession", "check_batch_size", "check_budget_value"]

#: Most tasks one click may start (a UI guard, not an API limit).
MAX_BATCH = 16


def _finite(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)


def check_budget_value(value: Any) -> float | None:
    """A budget cap: ``None`` (no cap) or a finite number of dollars >= 0."""
    if value is None:
        return None
    if not _finite(value) or value < 0:
        raise ValidationError(f"budget must be a number of US dollars >= 0, or None for no cap; "
                              f"got {value!r}", field="budget", value=value, allowed=">= 0 or None")
    return float(value)


def check_batch_size(value: Any) -> int:
    """Images per click: a whole number from 1 to ``MAX_BATCH`` (never silently clamped)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_BATCH:
        raise ValidationError(f"n_images must be a whole number from 1 to {MAX_BATCH}; got {value!r}",
                              field="n_images", value=value, allowed=f"1-{MAX_BATCH}")
    return value


def check_timeout_value(value: Any) -> float | None:
    if value is None:
        return None
    if not _finite(value) or value <= 0:
        raise ValidationError(f"timeout must be a number of seconds > 0, or None; got {value!r}",
                              field="timeout", value=value, allowed="> 0 or None")
    return float(value)


@dataclass
class _Unsettled:
    """A run the session stopped waiting for, whose task may still be billed."""

    amount: float
    why: str  # "stopped" or "lost"
    task: Task | None


class StudioSession:
    """Runs, money and results of one Studio, with no widgets.

    ``client=None`` uses the configured key, else the embedded simulator. Completed results
    are saved to the client's ``ResultStore``, or to ``ResultStore(save_dir)`` when it has none.
    """

    def __init__(self, client: AsyncFlux2Client | Flux2Client | None = None, *, budget: float | None = None,
                 timeout: float | None = None, save_dir: str | Path = "flux2_results") -> None:
        from .client._defaults import as_async_client

        self.budget = check_budget_value(budget)
        self.timeout = check_timeout_value(timeout)
        self.client: AsyncFlux2Client = as_async_client(client)
        self.simulated = bool(getattr(self.client, "simulated", False))
        self.save_dir = Path(save_dir)
        client_store = getattr(self.client, "store", None)
        # Results outlive the kernel and their week-long URLs only on disk: a client without a
        # store gets one here, passed per call, so the caller's client is left as it was.
        self.own_store: ResultStore | None = None if client_store is not None else ResultStore(save_dir)
        self.store: ResultStore = client_store if client_store is not None else self.own_store  # type: ignore[assignment]
        self.home = HomeLoop()
        self.generations: list[Generation] = []
        self._runs: dict[asyncio.Task[None], RunView] = {}
        self._inflight: dict[RunView, float] = {}
        self._unsettled: dict[RunView, _Unsettled] = {}
        self._jobs: dict[asyncio.Task[Any], None] = {}
        self._listeners: list[Callable[[str], Any]] = []
        #: The account's balance in USD as last read (live only; ``None`` until read).
        self.balance: float | None = None
        #: The service's price list once read (live only); the catalog's figures until then.
        self.prices: PriceLookup | None = None
        #: Per-field messages of the last request the service refused (its 422 body).
        self.server_errors: dict[str, list[str]] = {}
        self.closed = False

    # -- events ------------------------------------------------------------------------------
    def on_change(self, callback: Callable[[str], Any]) -> None:
        """``callback(what)`` after a change: "runs" (started/ended), "money", "simulated",
        "balance" or "error"."""
        self._listeners.append(callback)

    def _emit(self, what: str) -> None:
        for cb in list(self._listeners):
            try:
                cb(what)
            except Exception:  # a broken view must not stop the model
                pass

    # -- state -------------------------------------------------------------------------------
    @property
    def runs(self) -> tuple[asyncio.Task[None], ...]:
        """The asyncio tasks of runs still going."""
        return tuple(self._runs)

    @property
    def jobs(self) -> tuple[asyncio.Task[Any], ...]:
        """Uploads and settle-checks still going."""
        return tuple(self._jobs)

    @property
    def running(self) -> int:
        return len(self._runs)

    @property
    def billed(self) -> float:
        return sum_costs(g.cost for g in self.generations if g.cost_source == "billed")[0]

    @property
    def estimated(self) -> float:
        return sum_costs(g.cost for g in self.generations if g.cost_source != "billed")[0]

    @property
    def total(self) -> float:
        return round(self.billed + self.estimated + self._settled_spent(), 6)

    def _settled_spent(self) -> float:
        # Tasks stopped, then found completed (paid, not shown): they are spent money.
        # list(): a snapshot taken in one step (a click on a subshell thread may add entries)
        return sum(u.amount for u in list(self._unsettled.values()) if u.why == "finished")

    def committed(self) -> float:
        """Spent, plus what running tasks will cost, plus what stopped tasks may still cost."""
        inflight, unsettled = list(self._inflight.values()), list(self._unsettled.values())
        return round(self.billed + self.estimated + sum(inflight) + sum(u.amount for u in unsettled), 6)

    def session_text(self) -> str:
        unknown = sum(g.cost is None for g in self.generations)
        text = session_text(self.billed + self._settled_spent(), self.estimated, unknown,
                            len(self.generations), simulated=self.simulated)
        return f"Session: {text}"

    def estimate_text(self, n: int, tier: str, resolution: str) -> tuple[str, bool]:
        """The line beside Generate: what ``n`` images would cost, the budget left, and what
        stopped tasks may still cost. Second item: whether the batch would pass the budget."""
        estimate = None
        if resolution in TIER_INFO[tier].resolutions:
            unit = self._unit_price(tier, resolution)
            estimate = None if unit is None else round(unit * n, 6)
        text = f"{n} × {tier_label(tier)} {resolution} — {cost_text(estimate, 'estimate', self.simulated)}"
        over = False
        if self.budget is not None:
            committed = self.committed()
            left = max(0.0, self.budget - committed)
            if estimate is not None and committed + estimate > self.budget + 1e-9:
                over = True
                text += f" · over the {format_usd(self.budget)} budget ({format_usd(left)} left)"
            else:
                text += f" · {format_usd(left)} of the {format_usd(self.budget)} budget left"
        pending = {k: v for k, v in list(self._unsettled.items()) if v.why != "finished"}
        if pending:
            amount = sum(u.amount for u in pending.values())
            counts = {kind: sum(u.why == kind for u in pending.values()) for kind in ("stopped", "lost")}
            who = []
            if counts["stopped"]:
                n_s = counts["stopped"]
                who.append(f"{n_s} stopped task{'s' if n_s != 1 else ''} (Resume to collect)")
            if counts["lost"]:
                n_l = counts["lost"]
                who.append(f"{n_l} unfinished task{'s' if n_l != 1 else ''} (Resume to collect)")
            text += f" · {format_usd(amount)} may still be billed by {' and '.join(who)}"
        return text, over

    def _unit_price(self, tier: str, resolution: str) -> float | None:
        by_tier = getattr(self.prices, "price", None)  # a live price list, once read
        return by_tier(tier, resolution) if callable(by_tier) else price(tier, resolution)

    def check_budget(self, requests: list[ImageRequest]) -> float:
        """The batch's estimate; ``BudgetExceededError`` (nothing sent) when it would pass the cap."""
        try:
            return check_budget(requests, self.budget, spent=self.committed(), prices=self.prices)
        except BudgetExceededError:
            # Stopped tasks may have settled since: look once more in the background, so the
            # next click sees released money.
            self.settle()
            raise

    def set_budget(self, value: Any) -> None:
        self.budget = check_budget_value(value)
        self._emit("money")

    # -- runs --------------------------------------------------------------------------------
    def start(self, views: Iterable[RunView], *, resume: bool = False) -> None:
        """Start each view's run on the home loop (from any thread)."""
        for view in views:
            self._unsettled.pop(view, None)  # resuming: counted as running again
            self._inflight[view] = view.request.estimated_cost or 0.0
            self._spawn(functools.partial(self._run, view, resume), self._runs, view,
                        done=functools.partial(self._run_done, view=view))
        self._emit("runs")

    async def _run(self, view: RunView, resume: bool) -> None:
        try:
            result = await run_in_view(self.client, view, timeout=self.timeout, store=self.own_store,
                                       resume=resume)
        except asyncio.CancelledError:
            # Once running, the submit may have reached the service: the task can still
            # finish and be billed, so it keeps counting against the budget.
            self._unsettled[view] = _Unsettled(self._inflight.get(view, 0.0), "stopped", view.task)
            raise
        finally:
            self._inflight.pop(view, None)
        if isinstance(result, Generation):
            self.record(result)
            if len(self._runs) <= 1:  # the batch is over: what is left now?
                self.refresh_balance()
            return
        errors = getattr(result, "errors", None)
        if isinstance(errors, dict) and errors:
            # The service refused the request field by field: the form shows each message
            # beside its control.
            self.server_errors = {str(k): list(v) for k, v in errors.items()}
            self._emit("server_errors")
        if view.retry_mode == "resume":
            self._unsettled[view] = _Unsettled(view.request.estimated_cost or 0.0, "lost", view.task)

    def _run_done(self, task: asyncio.Task[None], view: RunView) -> None:
        self._runs.pop(task, None)
        # Cancelled before its first step, _run never ran (nothing was sent): uncount it,
        # unless a Resume already started a new run for the same view.
        if view not in self._runs.values():
            self._inflight.pop(view, None)
        self._emit("runs")
        self._emit("money")

    def retry(self, view: RunView) -> str:
        """Resume the same task when it may still finish (no second charge); send a new one
        only when the task failed or was never created. Returns "resume" or "resubmit"."""
        mode = view.retry_mode
        if mode != "resume":
            # Sent again: with the same Idempotency-Key when the first create may have reached
            # the service (its task comes back, charged once), a new one when it was refused or
            # failed. What a stopped send may cost is this send's, not an extra one.
            view.idempotency_key = create_key(view.idempotency_key, view.exception)
            held = self._unsettled.pop(view, None)
            try:
                self.check_budget([view.request])
            except BudgetExceededError:
                if held is not None:
                    self._unsettled[view] = held
                raise
        view.start(resume=mode == "resume")  # the view answers the click at once
        self.start([view], resume=mode == "resume")
        return mode

    def stop(self) -> None:
        """Stop waiting for every unfinished run (their views say "stopped")."""
        self.home.call(self._stop_now)

    def _stop_now(self) -> None:
        for task, view in list(self._runs.items()):
            task.cancel()
            view.mark_stopped()  # said at once; the run itself ends on the loop's next turn

    def record(self, gen: Generation) -> None:
        if any(g.id == gen.id for g in self.generations):
            return  # resumed after the image failed to show: already counted once
        self.generations.append(gen)
        if gen.simulated != self.simulated:
            # The server settled what the address only suggested (a tunnel to the real
            # service, or a simulator somewhere): the wording follows it.
            self.simulated = gen.simulated
            self._emit("simulated")
        self._emit("money")

    def _follow_client(self) -> None:
        """Take over what the client learned from the server's last answer (whether it is
        the simulator): the wording and the badge follow the server, not the address."""
        if self.client.simulated != self.simulated:
            self.simulated = self.client.simulated
            self._emit("simulated")

    def forget(self, views: Iterable[RunView]) -> None:
        """Views cleared from the screen: what they may still cost stays counted until the
        service says otherwise, so look now."""
        if any(v in self._unsettled for v in views):
            self.settle()

    def settle(self) -> None:
        """Ask the service, once per stopped task, whether it ended: failed tasks are released
        (not charged); completed ones count as spent."""
        if any(u.task is not None and u.why != "finished" for u in self._unsettled.values()):
            self._start_job(self._settle)

    async def _settle(self) -> None:
        for view, entry in list(self._unsettled.items()):
            if entry.task is None or entry.why == "finished":
                continue
            try:
                current = await self.client.get(entry.task.id, entry.task.action, request=entry.task.request)
            except Flux2Error as exc:
                if not is_resumable(exc, entry.task.id):  # unknown to the service: never billed
                    self._unsettled.pop(view, None)
                continue
            if self._unsettled.get(view) is not entry:
                continue  # resumed meanwhile
            if current.status == "failed":
                self._unsettled.pop(view, None)
            elif current.status == "completed":
                cost = current.billed_cost if current.billed_cost is not None else entry.amount
                self._unsettled[view] = _Unsettled(cost, "finished", current)
        self._emit("money")

    # -- the account -------------------------------------------------------------------------
    def refresh_balance(self) -> None:
        """Read the price list (once) and the balance in the background (live only). The
        answers also settle whether the server is the simulator, which names itself: until
        then a key means real money."""
        if not self.simulated and not self.closed:
            self._start_job(self._read_account)

    async def _read_account(self) -> None:
        if self.prices is None:
            try:
                listed = await self.client.prices()
            except Flux2Error:
                listed = None
            if listed is not None and getattr(listed, "source", "") == "live":
                self.prices = listed
                self._emit("money")
        self._follow_client()
        if self.simulated:
            return
        try:
            data = await self.client.balance()
        except Flux2Error:
            return  # the balance is a courtesy: an old proxy or a missing route changes nothing
        self._follow_client()
        cents = data.get("balance_cents")
        if isinstance(cents, (int, float)) and not isinstance(cents, bool) and math.isfinite(cents):
            self.balance = round(cents / 100, 2)
            self._emit("balance")

    # -- the run log -------------------------------------------------------------------------
    def unfinished(self, shown: Iterable[str] = ()) -> list[Task]:
        """Tasks the run log shows as submitted (to this endpoint) but never collected, e.g. by
        a kernel that died, and that no run here is handling (``shown``: task ids on screen)."""
        mine = set(shown)
        try:
            pending = self.store.pending(self.client.base_url)
        except OSError:
            return []
        return [t for t in pending if t.request is not None and t.id not in mine]

    def unanswered(self, shown: Iterable[str] = (), *, stale: bool = False) -> list[Unanswered]:
        """Creates the run log shows as sent (to this endpoint) with no answer, e.g. when a
        kernel died mid-request, that no run here is sending (``shown``: their keys). Sent
        again with the same Idempotency-Key, each returns its task if it exists (charged once)
        or is created once. ``stale``: instead, those older than ``catalog.RESEND_WINDOW``,
        which no click sends again (the service may have forgotten their key)."""
        mine, fresh = set(shown), time.time() - RESEND_WINDOW
        try:
            entries = self.store.unanswered(self.client.base_url)
        except OSError:
            return []
        return [e for e in entries if e.idempotency_key not in mine and (e.submitted_at < fresh) == stale]

    # -- uploads -----------------------------------------------------------------------------
    def upload(self, files: Iterable[Mapping[str, Any]], *, on_progress: Callable[[str], Any],
               on_done: Callable[[list[str], str], Any]) -> None:
        """Upload local images (FileUpload values) on the home loop. ``on_progress(note)`` while
        going; ``on_done(urls, note)`` at the end, with one note for what worked and what not."""
        files = tuple(files)
        names = [str(f.get("name") or f"file {i + 1}") for i, f in enumerate(files)]
        on_progress(f"Uploading {', '.join(names)}… 0/{len(names)} done")
        self._start_job(lambda: self._upload(files, names, on_progress, on_done))

    async def _upload(self, files: tuple[Mapping[str, Any], ...], names: list[str],
                      on_progress: Callable[[str], Any], on_done: Callable[[list[str], str], Any]) -> None:
        finished = 0

        async def one(f: Mapping[str, Any], name: str) -> str:
            nonlocal finished
            try:
                return await self.client.upload(f["content"], filename=name)
            finally:
                finished += 1
                if finished < len(files):
                    on_progress(f"Uploading {', '.join(names)}… {finished}/{len(names)} done")

        results = await asyncio.gather(*(one(f, n) for f, n in zip(files, names, strict=True)),
                                       return_exceptions=True)
        urls = [r for r in results if isinstance(r, str)]
        self._follow_client()
        where = "the simulator's file storage" if self.simulated else "RunAPI's file storage"
        notes = []
        if urls:
            many = "s" if len(urls) != 1 else ""
            notes.append(f"Uploaded {len(urls)} file{many} to {where} (temporary URL{many}, about 7 days)")
        notes += [f"⚠ {r}" if name in str(r) else f"⚠ {name}: {r}"
                  for name, r in zip(names, results, strict=True) if isinstance(r, BaseException)]
        if not self.closed:
            on_done(urls, " · ".join(notes))

    def _start_job(self, make: Callable[[], Any]) -> None:
        def done(task: asyncio.Task[Any]) -> None:
            self._jobs.pop(task, None)
            if not task.cancelled() and task.exception() is not None:
                self._emit("error")

        self._spawn(make, self._jobs, None, done=done)

    def _spawn(self, make: Callable[[], Any], registry: dict[Any, Any], value: Any,
               done: Callable[[asyncio.Task[Any]], Any]) -> None:
        """Start ``make()`` on the home loop and keep its task in ``registry`` (so Stop and
        close reach it) from the moment it exists, even when that is on another thread."""
        def track(handed: Any) -> None:
            try:
                task = handed.result()
            except Exception:
                return
            if not task.done():
                registry[task] = value
                if registry is self._runs:
                    self._emit("runs")  # Stop can now reach it

        handed = self.home.spawn(make, done=done)
        if handed.done():
            track(handed)
        else:
            handed.add_done_callback(track)

    # -- export ------------------------------------------------------------------------------
    def rows(self) -> list[dict[str, Any]]:
        """One row per finished generation (tier, size, cost, latency, prompt, urls...), in
        completion order: the session as data."""
        return [gen.to_row() for gen in self.generations]

    def to_csv(self, path: str | Path) -> Path:
        from ._export import write_csv

        return write_csv(path, self.rows())

    def to_pandas(self) -> Any:
        from ._export import require_pandas

        return require_pandas().DataFrame(self.rows())

    def close(self) -> None:
        """Cancel everything this session started."""
        if self.closed:
            return
        self.closed = True

        def cancel_all() -> None:
            for task in [*self._runs, *self._jobs]:
                task.cancel()

        self.home.call(cancel_all)
