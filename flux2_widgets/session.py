"""The Studio's model: its runs, the budget, collect/resume, uploads and export, without widgets.

``StudioSession`` is what the Studio's buttons ask for; a test drives it alone. It holds one
``runs.Run`` per image asked for, and every figure it shows is read off those runs: what
finished work cost, what running tasks will cost, and what stopped or cut-off tasks may still
cost. ``settle()`` asks the service (one status read each) how those ended. Runs collected from
an earlier session (``collect_unfinished``) are counted apart: their money was committed then,
not from this session's budget.

Loop affinity: every run, upload and settle-check starts on the session's ``HomeLoop`` (the loop
the session was built on), whichever thread a button message arrived on. ipykernel 7 delivers
widget messages on subshell threads with loops of their own; the client's connection pools and
events belong to the home loop, so work never starts anywhere else.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._checks import check_number
from ._loops import HomeLoop
from .catalog import RESEND_WINDOW, ImageRequest, price
from .errors import BudgetExceededError, Flux2Error
from .money import BILLED, MAY_BE_BILLED, PriceLookup, check_budget
from .results import Generation, Task
from .runs import Run
from .session_lines import (
    PRICES_UNREAD,
    earlier_line,
    estimate_line,
    ledger_refusal_line,
    refusal_line,
    session_line,
    visitor_line,
)
from .store import ResultStore, Unanswered

if TYPE_CHECKING:  # pragma: no cover
    from .client import AsyncFlux2Client, Flux2Client

__all__ = ["MAX_BATCH", "StudioSession", "check_batch_size", "check_budget_value"]

#: Most tasks one click may start (a UI guard, not an API limit).
MAX_BATCH = 16


def check_budget_value(value: Any) -> float | None:
    """A budget cap in US dollars: ``None`` (no cap) or a finite number >= 0."""
    checked = check_number("budget", value, strict=False, optional=True)
    return None if checked is None else float(checked)


def check_batch_size(value: Any) -> int:
    """Images per click: a whole number from 1 to ``MAX_BATCH`` (never silently clamped)."""
    return int(check_number("n_images", value, minimum=1, strict=False, integer=True, maximum=MAX_BATCH))


class StudioSession:
    """Runs, money and results of one Studio, with no widgets.

    ``client=None`` uses the configured key, else the embedded simulator. Completed results
    are saved to the client's ``ResultStore``, or to ``ResultStore(save_dir)`` when it has none.
    """

    def __init__(self, client: AsyncFlux2Client | Flux2Client | None = None, *, budget: float | None = None,
                 timeout: float | None = None, save_dir: str | Path = "flux2_results") -> None:
        from .client._defaults import as_async_client

        self.budget = check_budget_value(budget)
        timeout = check_number("timeout", timeout, optional=True)  # seconds one run may wait, > 0
        self.timeout = None if timeout is None else float(timeout)
        self.client: AsyncFlux2Client = as_async_client(client)
        self.simulated = bool(getattr(self.client, "simulated", False))
        self.save_dir = Path(save_dir)
        client_store = getattr(self.client, "store", None)
        # Results outlive the kernel and their week-long URLs only on disk: a client without a
        # store gets one here, passed per call, so the caller's client is left as it was.
        self.own_store: ResultStore | None = None if client_store is not None else ResultStore(save_dir)
        self.store: ResultStore = client_store if client_store is not None else self.own_store  # type: ignore[assignment]
        self.home = HomeLoop()
        #: Every run of this session, in the order they were asked for.
        self.runs: list[Run] = []
        self._completed: list[Run] = []
        self._jobs: set[asyncio.Task[Any]] = set()
        self._listeners: list[Callable[[str], Any]] = []
        #: The account's balance in USD as last read (live only; ``None`` until read).
        self.balance: float | None = None
        #: The service's price list once read (live only); the catalog's figures until then.
        self.prices: PriceLookup | None = None
        self._prices_failed = False  # the last read of the price list failed: caps wait for one
        #: Per-field messages of the last request the service refused (its 422 body).
        self.server_errors: dict[str, list[str]] = {}
        #: The workspace budget's standing per scope (folder, visitor), as last read: every
        #: create is reserved against it by the client; the Studio shows what is left.
        self.workspace_status: dict[str, Any] = {}
        #: The runs that reading already counted (ids): what the others commit is not in it yet.
        self._budget_read_covers: set[int] = set()
        self.closed = False

    # -- events ------------------------------------------------------------------------------
    def on_change(self, callback: Callable[[str], Any]) -> None:
        """``callback(what)`` after a change: "runs" (started/ended), "money", "simulated",
        "balance", "server_errors" or "error". Called on the home loop."""
        self._listeners.append(callback)

    def _emit(self, what: str) -> None:
        for cb in list(self._listeners):
            try:
                cb(what)
            except Exception:  # a broken view must not stop the model
                pass

    # -- state (all of it read off the runs) --------------------------------------------------
    @property
    def active(self) -> list[Run]:
        """Runs still going."""
        return [r for r in list(self.runs) if r.active]

    @property
    def running(self) -> int:
        return len(self.active)

    @property
    def jobs(self) -> tuple[asyncio.Task[Any], ...]:
        """Uploads, balance reads and settle-checks still going."""
        return tuple(self._jobs)

    @property
    def generations(self) -> list[Generation]:
        """Completed results, in the order their images arrived."""
        return [r.generation for r in list(self._completed) if r.generation is not None]

    def _mine(self) -> list[Run]:
        return [r for r in list(self.runs) if r.origin == "session"]

    @property
    def billed(self) -> float:
        """What this session's completed work cost where the service reported it."""
        return round(sum(r.billed_cost or 0.0 for r in self._mine() if r.money == BILLED), 6)

    @property
    def estimated(self) -> float:
        """Completed work whose cost the service did not report: the estimate."""
        return round(sum(r.estimate or 0.0 for r in self._mine()
                         if r.money == BILLED and r.billed_cost is None), 6)

    @property
    def total(self) -> float:
        """Spent: everything this session's runs were billed (reported or estimated)."""
        return round(self.billed + self.estimated, 6)

    def committed(self) -> float:
        """Spent, plus what running tasks will cost, plus what stopped tasks may still cost."""
        return round(sum(r.committed for r in self._mine()), 6)

    def may_be_billed(self, *, earlier: bool = False) -> list[Run]:
        """Runs that stopped (or were cut off) with an outcome the service has not told."""
        origin = "earlier" if earlier else "session"
        return [r for r in list(self.runs) if r.money == MAY_BE_BILLED and r.done and r.origin == origin]

    # -- in words (the lines the Studio shows: ``session_lines``) ---------------------------------
    def session_text(self) -> str:
        """``Session: $0.10 billed + about $0.05 may still be billed``."""
        return session_line(self)

    def estimate_text(self, n: int, tier: str, resolution: str) -> tuple[str, bool]:
        """The line beside Generate, and whether the batch would pass the budget."""
        return estimate_line(self, n, tier, resolution)

    def workspace_shortfall(self, estimate: float) -> tuple[float, str] | None:
        """``(left, scope)`` of the tightest workspace cap that ``estimate`` would pass, as last
        read less what this session started since (each create is still reserved on its own,
        in one transaction, by the client); ``None`` when it fits."""
        since = self.started_since_budget_read()
        short = []
        for scope, st in list(self.workspace_status.items()):
            caps = [v for v in (st.left, st.left_today) if v is not None]
            if not caps:
                continue
            left = max(0.0, round(min(caps) - since, 6))
            if estimate > left + 1e-9:
                short.append((left, scope))
        return min(short) if short else None

    def visitor_text(self, n: int = 1, tier: str = "pro", resolution: str = "1k") -> str:
        """What a class app's visitor may still spend, and the class ("" without a visitor
        scope): ``You can still spend $0.35 of your $0.50; the class has $8.20 left.``"""
        return visitor_line(self, n, tier, resolution)

    def earlier_text(self) -> str:
        """What Collect would do, in words ("" when the run log holds nothing to collect)."""
        return earlier_line(self)

    def read_workspace_budget(self) -> None:
        """Read the workspace budget's standing (in the background, off the loop)."""
        if not self.closed:
            self._start_job(self._read_workspace_budget)

    async def _read_workspace_budget(self) -> None:
        from .workspace import off_loop as on_workspace

        scopes = tuple(getattr(self.client, "ledger_scopes", ("workspace",)))  # what its creates reserve
        covered = {id(r) for r in list(self.runs)}
        try:
            budget = await on_workspace(lambda: self.store.workspace.budget)
            found = {s: await on_workspace(budget.status, s) for s in scopes}
        except Exception:  # a database that cannot be read: the client's reservation still guards
            return
        self.workspace_status = {s: st for s, st in found.items()
                                 if st.cap is not None or st.per_day is not None}
        self._budget_read_covers = covered
        self._emit("money")

    def started_since_budget_read(self) -> float:
        """What runs started since the workspace budget was last read commit (their
        reservations are not in that reading): a second click before the re-read is checked
        against what the first one took."""
        return round(sum(r.committed for r in self._mine() if id(r) not in self._budget_read_covers), 6)

    def _unit_price(self, tier: str, resolution: str) -> float | None:
        by_tier = getattr(self.prices, "price", None)  # a live price list, once read
        return by_tier(tier, resolution) if callable(by_tier) else price(tier, resolution)

    def _price_of(self, request: ImageRequest) -> float | None:
        return self.prices(request) if self.prices is not None else request.estimated_cost

    def check_budget(self, requests: list[ImageRequest], *, instead_of: Run | None = None) -> float:
        """The batch's estimate; ``BudgetExceededError`` (nothing sent) when it would pass the cap.
        ``instead_of``: a run being sent again, whose own commitment the new send replaces."""
        spent = self.committed() - (instead_of.committed if instead_of is not None else 0.0)
        try:
            if self.budget is not None and self.prices is None and self._prices_failed and not self.simulated:
                raise BudgetExceededError(PRICES_UNREAD)  # a cap holds at what the service charges
            estimate = check_budget(requests, self.budget, spent=max(0.0, spent), prices=self.prices)
            short = self.workspace_shortfall(estimate)
            if short is not None:  # the tightest says why
                left, scope = short
                raise BudgetExceededError(refusal_line(self, scope, estimate, left), scope=scope)
            return estimate
        except BudgetExceededError:
            # Stopped tasks may have settled, the price list may answer: look again for the next click.
            self.settle()
            self.read_workspace_budget()
            self.refresh_balance()
            raise

    def set_budget(self, value: Any) -> None:
        self.budget = check_budget_value(value)
        self._emit("money")

    # -- runs --------------------------------------------------------------------------------
    def new_run(self, request: ImageRequest, **options: Any) -> Run:
        """A run of this session (not started): the session follows its status and money."""
        run = Run(request, self.client, store=self.own_store, timeout=self.timeout, home=self.home,
                  price=self._price_of(request), **options)
        run.observe(self._on_run, ("status", "money"))
        self.runs.append(run)
        return run

    def generate(self, request: ImageRequest, n: int = 1) -> list[Run]:
        """Check the budget, then start ``n`` runs of ``request``; ``BudgetExceededError`` sends nothing."""
        check_batch_size(n)
        self.check_budget([request] * n)
        runs = [self.new_run(request) for _ in range(n)]
        for run in runs:
            run.start()
        self._emit("runs")
        return runs

    def _on_run(self, change: Any) -> None:
        run: Run = change.owner
        if change.name == "status":
            if change.new == "completed" and run not in self._completed:
                self._completed.append(run)
                self._follow(run)
            if change.new == "failed":
                if isinstance(run.error, BudgetExceededError) and run.error.left is not None:
                    # the ledger's own words name scopes and reservations: the card says it plainly
                    run.error_text = ledger_refusal_line(self, run.error, run.estimate)
                    self.read_workspace_budget()
                errors = getattr(run.error, "errors", None)
                if isinstance(errors, dict) and errors and not getattr(run.error, "field", None):
                    # The service refused the request field by field: the form shows each
                    # message beside its control.
                    self.server_errors = {str(k): list(v) for k, v in errors.items()}
                    self._emit("server_errors")
            if change.new in ("completed", "failed", "stopped") and not self.active:
                self.refresh_balance()  # the batch is over: what is left now?
                self.read_workspace_budget()
            self._emit("runs")
        self._emit("money")

    def _follow(self, run: Run) -> None:
        """The server settled what the address only suggested (a tunnel to the real service,
        or a simulator somewhere): the wording follows it."""
        if run.generation is not None and run.generation.simulated != self.simulated:
            self.simulated = run.generation.simulated
            self._emit("simulated")

    def retry(self, run: Run) -> str:
        """Resume the same task when it may still finish (no second charge); send the create
        again when it may have landed, or as a new task when it was refused or failed. A send
        is checked against the budget first. Returns the step taken."""
        step = run.next_step
        if step != "resume":
            self.check_budget([run.request], instead_of=run)
        return run.retry()

    def stop(self) -> None:
        """Stop waiting for every unfinished run (each then says "stopped" and offers Resume)."""
        for run in self.active:
            run.stop()

    def _follow_client(self) -> None:
        """Take over what the client learned from the server's last answer (whether it is
        the simulator): the wording and the badge follow the server, not the address."""
        if self.client.simulated != self.simulated:
            self.simulated = self.client.simulated
            self._emit("simulated")

    def forget(self, runs: Iterable[Run]) -> None:
        """Runs cleared from the screen: what they may still cost stays counted until the
        service says otherwise, so look now."""
        if any(r.money == MAY_BE_BILLED for r in runs):
            self.settle()

    def settle(self) -> None:
        """Ask the service, once per stopped task, how it ended: failed ones are not charged;
        completed ones count as spent (in the background, on the home loop)."""
        waiting = [r for r in [*self.may_be_billed(), *self.may_be_billed(earlier=True)] if r.task_id]
        if waiting and not self.closed:
            self._start_job(lambda: self._settle(waiting))

    async def _settle(self, runs: list[Run]) -> None:
        await asyncio.gather(*(r.arefresh() for r in runs), return_exceptions=True)
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
                listed = await self.client.prices(refresh=self._prices_failed)  # a click asks again
            except Flux2Error:
                listed = None
            self._prices_failed = listed is None or getattr(listed, "source", "") != "live"
            if not self._prices_failed:
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
    def unfinished(self) -> list[Task]:
        """Tasks the run log shows as submitted (to this endpoint) but never collected, e.g. by
        a kernel that died, and that no run of this session is following."""
        mine = {r.task_id for r in self.runs if r.task_id}
        try:
            pending = self.store.pending(self.client.base_url)
        except OSError:
            return []
        return [t for t in pending if t.request is not None and t.id not in mine]

    def unanswered(self, *, stale: bool = False) -> list[Unanswered]:
        """Creates the run log shows as sent (to this endpoint) with no answer, e.g. when a
        kernel died mid-request, that no run here is sending. Sent again with the same
        Idempotency-Key, each returns its task if it exists (charged once) or is created once.
        ``stale``: instead, those older than ``catalog.RESEND_WINDOW``, which no click sends
        again (the service may have forgotten their key)."""
        mine, fresh = {r.idempotency_key for r in self.runs}, time.time() - RESEND_WINDOW
        try:
            entries = self.store.unanswered(self.client.base_url)
        except OSError:
            return []
        return [e for e in entries if e.idempotency_key not in mine and (e.submitted_at < fresh) == stale]

    def collect_unfinished(self) -> list[Run]:
        """A run per task an earlier session left unfinished (waiting for it: nothing new is
        sent or charged) and per fresh create whose answer never came (sent again with its
        Idempotency-Key: the service returns the task if it made it). They count apart from
        this session's spending: that money was committed back then."""
        runs = []
        for task in self.unfinished():
            assert task.request is not None
            runs.append(self.new_run(task.request, task=task, origin="earlier",
                                     idempotency_key=task.idempotency_key or ""))
        for entry in self.unanswered():
            runs.append(self.new_run(entry.request, idempotency_key=entry.idempotency_key, sent=True,
                                     origin="earlier"))
        for run in runs:
            run.start()  # a task: waited for; a create: sent again with its key (one charge)
        self._emit("runs")
        return runs

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
        def track(task: asyncio.Task[Any]) -> None:
            self._jobs.add(task)

        def done(task: asyncio.Task[Any]) -> None:
            self._jobs.discard(task)
            if not task.cancelled() and task.exception() is not None:
                self._emit("error")

        handed = self.home.spawn(make, done=done)
        handed.add_done_callback(lambda f: track(f.result()) if not f.exception() and not f.result().done()
                                 else None)

    # -- export ------------------------------------------------------------------------------
    def rows(self) -> list[dict[str, Any]]:
        """One row per run that was sent (completed ones first, in the order their images
        arrived; then the rest in the order they were asked for): the session as data, with
        each run's money state and amounts."""
        sent = [r for r in list(self.runs) if r.status != "queued"]
        ordered = [r for r in self._completed if r in sent] + [r for r in sent if r not in self._completed]
        return [{**r.to_row(), "origin": r.origin} for r in ordered]

    def to_csv(self, path: str | Path) -> Path:
        from ._export import write_csv

        return write_csv(path, self.rows())

    def to_pandas(self) -> Any:
        from ._export import require_pandas

        return require_pandas().DataFrame(self.rows())

    def close(self) -> None:
        """Stop everything this session started. Safe from a finalizer: work on a loop that
        has ended is already over, so nothing is started or waited for."""
        if self.closed:
            return
        self.closed = True
        self._listeners.clear()
        for run in list(self.runs):
            if run.active:
                run.stop()
        jobs = list(self._jobs)
        self.home.call_if_alive(lambda: [j.cancel() for j in jobs])
