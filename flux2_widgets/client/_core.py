"""``AsyncFlux2Client`` and its synchronous twin ``Flux2Client``.

There is one implementation: the async client. The sync client runs the same
coroutines to completion (see ``_sync``), so retries, polling and errors
behave identically in both.

Longer than most modules, for one job: the client's public surface (submit, get, wait,
collect, generate, generate_many, resume, upload, balance) and the sync twin that mirrors it;
transport, polling, uploads and settings live in their own modules beside it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import math
import os
import random
import ssl
import threading
import time
import uuid
import weakref
from collections import OrderedDict
from collections.abc import AsyncGenerator, Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import httpx

from .._redact import mask
from .._sync import current_loop, run_sync
from .._thumbs import off_loop
from .._version import __version__
from ..catalog import (
    DEFAULT_BASE_URL,
    FILES_PATH,
    IDEMPOTENCY_HEADER,
    RESEND_WINDOW,
    RESULT_URL_LIFETIME,
    SIMULATOR_TOKEN,
    ImageRequest,
    action_path,
    is_loopback,
    url_problem,
)
from ..errors import (
    APIError,
    AuthenticationError,
    BudgetExceededError,
    Flux2Error,
    ImageDownloadError,
    NoImageError,
    NotFoundError,
    TaskFailedError,
    TaskTimeoutError,
    UnansweredCreateError,
    UnknownStatusError,
    ValidationError,
    is_refusal,
    is_resumable,
)
from ..money import check_budget
from ..results import _TASK_ID, KNOWN_STATUSES, GeneratedImage, Generation, Task
from ._checks import (
    _as_requests,
    _check_callable,
    _check_concurrency,
    _check_flag,
    _check_options,
    _check_request,
    _check_store,
    _check_submit,
    _check_task,
    _check_timeout,
    check_number,
)
from ._disk import on_disk
from ._limits import AdaptiveLimit, ResponseLimits
from ._polling import LatencyKey, LatencyModel, PollPolicy, sibling_phase
from ._pricing import PriceBook, PriceList, Quote, fetch_quote
from ._settings import resolve_settings
from ._transport import Answer, RetryPolicy, Transport
from ._uploads import prepare_upload, upload_url

if TYPE_CHECKING:  # pragma: no cover
    from ..store import ResultStore, Unanswered

__all__ = ["AsyncFlux2Client", "Flux2Client", "ResultCallback", "UpdateCallback", "check_budget"]

log = logging.getLogger("flux2_widgets")

UpdateCallback = Callable[[Task], Any]
ResultCallback = Callable[[int, "Generation | Flux2Error"], Any]
RequestLike = ImageRequest | Mapping[str, Any]

#: Default cap on one ``wait`` when none is given: long enough for any real task.
DEFAULT_WAIT_TIMEOUT = 900.0
#: A freshly created task can briefly 404 on a replica; tolerate that many in a row.
POLL_404_TOLERANCE = 2
#: Acceptance times kept for tasks submitted but not (yet) waited on.
_MAX_REMEMBERED = 4096




class _SharedConfig(NamedTuple):
    key_hint: str
    max_concurrency: int
    budget_scopes: tuple[str, ...]
    wait_timeout: float
    poll: PollPolicy
    retry: RetryPolicy
    limits: ResponseLimits


class AsyncFlux2Client:
    """Async client for Flux 2 on RunAPI.

    >>> async with AsyncFlux2Client() as client:          # no key: the embedded simulator
    ...     gen = await client.generate("a lighthouse at dawn", tier="pro")
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        timeout: float = 30.0,
        max_retries: int = 4,
        retry_base_delay: float = 0.25,
        max_concurrency: int = 8,
        poll: PollPolicy | None = None,
        wait_timeout: float = DEFAULT_WAIT_TIMEOUT,
        store: ResultStore | None = None,
        simulated: bool | None = None,
        max_retry_after: float = 60.0,
        rate_limit_retries: int = 30,
        limits: ResponseLimits | None = None,
        budget_scopes: Sequence[str] = ("workspace",),
        _latency: LatencyModel | None = None,
    ) -> None:
        _check_options(api_key=api_key, base_url=base_url, timeout=timeout, max_retries=max_retries,
                       retry_base_delay=retry_base_delay, max_concurrency=max_concurrency, poll=poll,
                       wait_timeout=wait_timeout, store=store, simulated=simulated,
                       max_retry_after=max_retry_after, rate_limit_retries=rate_limit_retries,
                       limits=limits)
        #: The workspace budget scopes every create is reserved against when the client has a
        #: store: the folder's ("workspace"), plus e.g. a visitor's quota ("visitor:<id>").
        self.budget_scopes = _check_scopes(budget_scopes)
        settings = resolve_settings(api_key, base_url)
        key, url = settings.api_key, settings.base_url
        if key is None and url is None:
            from ._embedded import shared_simulator

            url, simulated = shared_simulator().url, True
        url = url or DEFAULT_BASE_URL
        if key is None:
            if not is_loopback(url):
                raise AuthenticationError(
                    f"no API key for {url}: set RUNAPI_API_KEY, pass api_key=..., or write "
                    '{"api_key": "..."} to ~/.config/runapi/config.json')
            key = SIMULATOR_TOKEN
        self.base_url = url
        # Left to us, a configured key means real money until the server proves otherwise:
        # only the simulator names itself (SIMULATOR_HEADER); a tunnel or a proxy on this
        # machine to the real service does not, so a loopback address alone proves nothing.
        self._guess_simulated = simulated is None and key != SIMULATOR_TOKEN
        self.simulated = (key == SIMULATOR_TOKEN) if simulated is None else simulated
        #: True once an answer said which kind of server this is.
        self.server_known = not self._guess_simulated
        self.key_hint = "simulator" if key == SIMULATOR_TOKEN else mask(key)
        self.max_concurrency = max_concurrency
        self.wait_timeout = wait_timeout
        self.poll = poll or PollPolicy()
        self.retry = RetryPolicy(max_retries=max_retries, base_delay=retry_base_delay,
                                 rate_limit_retries=rate_limit_retries, max_retry_after=max_retry_after)
        self.limits = limits or ResponseLimits()
        # What the service lets this client run at once, learned from its 429s.
        self.in_flight = AdaptiveLimit()
        self.store = store
        self.latency = _latency or LatencyModel(self.poll.history)
        # Every request (API and image alike) goes through this one road.
        self._transport = Transport(base_url=url, api_key=key, user_agent=f"flux2-widgets/{__version__}",
                                    timeout=timeout, retry=self.retry, limits=self.limits,
                                    verify=_tls_context())
        self.spent = 0.0
        self._price_book = PriceBook()
        #: When each task this client created was sent and answered (monotonic seconds):
        #: the service accepted it in between.
        self._accepted: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._phases: dict[LatencyKey, int] = {}
        self._siblings: dict[LatencyKey, asyncio.Future[float]] = {}
        self._polling: dict[LatencyKey, int] = {}
        self._saving: dict[str, asyncio.Task[None]] = {}
        self._loading: dict[str, asyncio.Future[None]] = {}
        self._save_again: set[str] = set()

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(base_url={self.base_url!r}, key={self.key_hint}, "
                f"simulated={self.simulated})")

    async def __aenter__(self) -> AsyncFlux2Client:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._saving:  # let what was learned reach the disk
            await asyncio.gather(*self._saving.values(), return_exceptions=True)
        await self._transport.aclose()

    # -- tasks ---------------------------------------------------------------------
    async def submit(self, request: ImageRequest | str | None = None, /, *,
                     idempotency_key: str | None = None, store: ResultStore | None = None,
                     on_sending: Callable[[str], Any] | None = None, **fields: Any) -> Task:
        """Create a task and return at once. The request is validated first; the POST
        carries an Idempotency-Key so retries never create a second task, and the run
        log (``store``, default the client's) records it before it leaves, so a task
        whose answer never arrives is not lost: ``resume`` sends it again with the same
        key and gets that very task. ``on_sending(key)`` is called just before the create
        leaves: from then on the service may have made (and may bill) the task."""
        req = ImageRequest.from_fields(request, **fields)
        _check_submit(idempotency_key, store)
        _check_callable(on_sending, "on_sending")
        key = idempotency_key or uuid.uuid4().hex
        store = store if store is not None else self.store
        submitted = time.time()
        if store is not None:
            # Logged, then reserved against the folder's caps (and a visitor's quota): a process
            # killed between the two leaves a create that resume() sends (reserving it then),
            # never a reservation that nothing would settle. One that would pass a cap is
            # refused here, logged as such, with nothing sent.
            await self._log_to_store(store.record_sending, key, req, self.base_url, submitted)
            try:
                await self._reserve(store, key, req)
            except Flux2Error as exc:
                await self._log_to_store(store.record_rejected, key, exc)
                raise
        if on_sending is not None:
            on_sending(key)
        sent = time.monotonic()
        try:
            answer = await self._transport.request("POST", req.path, json_body=req.payload(),
                                                   headers={IDEMPOTENCY_HEADER: key})
        except APIError as exc:
            # A refusal created nothing: nothing for resume() to send again. Anything else
            # (a timeout, a rate limit, an outage) proves nothing: the entry stays for
            # resume(), which sends it again with the same key.
            if store is not None and is_refusal(exc):
                await self._log_to_store(store.record_rejected, key, exc)
            raise
        answered = time.monotonic()
        self._learn_server(answer)
        task = Task.from_answer(answer.data, action=req.action or "text_to_image", request=req,
                                submitted_at=submitted, request_id=answer.request_id,
                                retry_after=answer.retry_after)
        task.idempotency_key = key
        # The service created the task somewhere between sending and answering. After
        # a retry it may have been the first attempt: no reliable start, nothing learned.
        if answer.attempts == 1:
            self._remember_acceptance(task.id, sent, answered)
        if store is not None:
            await self._log_to_store(store.record_submit, task, self.base_url, key)
        log.info("submitted %s (%s)", task.id, req.label)
        return task

    async def get(self, task_id: str, action: str = "text_to_image", *,
                  request: ImageRequest | None = None, submitted_at: float | None = None) -> Task:
        """Fetch a task's current state."""
        if action not in ("text_to_image", "remix_image"):
            raise ValidationError(f"action {action!r} must be 'text_to_image' or 'remix_image'",
                                  field="action", value=action, allowed=("text_to_image", "remix_image"))
        if not isinstance(task_id, str) or not _TASK_ID.fullmatch(task_id) or task_id in (".", ".."):
            raise ValidationError(f"task_id {task_id!r} is not a task id (letters, digits, '._:-', "
                                  "up to 200 characters)"[:300], field="task_id", value=task_id,
                                  allowed="a task id string")
        _check_request(request)
        check_number("submitted_at", submitted_at, strict=False, optional=True)
        answer = await self._transport.request("GET", f"{action_path(action)}/{task_id}", task_id=task_id)
        self._learn_server(answer)
        return Task.from_answer(answer.data, action=action, request=request, submitted_at=submitted_at,
                                request_id=answer.request_id, retry_after=answer.retry_after)

    async def refresh(self, task: Task) -> Task:
        """The task as the service sees it now (one status read); it keeps its create's key."""
        fresh = await self.get(task.id, task.action, request=task.request, submitted_at=task.submitted_at)
        fresh.idempotency_key = task.idempotency_key
        return fresh

    async def wait(self, task: Task, *, timeout: float | None = None, download: bool = True,
                   on_update: UpdateCallback | None = None, store: ResultStore | None = None) -> Generation:
        """Poll until ``task`` finishes; return its ``Generation`` (images downloaded
        unless ``download=False``, and saved to ``store``, default the client's).
        Raises ``TaskFailedError`` (the service said failed), ``UnknownStatusError``,
        ``NoImageError`` (completed without an image URL), ``TaskTimeoutError`` and the
        transport's errors; every error raised here carries ``task_id``, and only a task
        that is over (failed, or unknown to the service) is logged as failed: anything else
        stays in the run log (pending or undelivered), so ``resume`` can still collect it."""
        _check_timeout(timeout)
        _check_task(task)
        _check_flag("download", download)
        _check_store(store)
        _check_callable(on_update, "on_update")
        store = store if store is not None else self.store
        try:
            done = await self._poll(task, timeout, on_update, store)
            return await self._finish(done, download, store)
        except Flux2Error as exc:
            exc.task_id = exc.task_id or task.id
            # Only a task that is over (failed, or unknown to the service) leaves the run
            # log's pending list; anything else stays there for resume() to collect.
            if store is not None and not is_resumable(exc):
                await self._log_to_store(store.record_failure, task, exc)
            raise

    async def _poll(self, task: Task, timeout: float | None, on_update: UpdateCallback | None,
                    store: ResultStore | None = None) -> Task:
        key = self._latency_key(task.request, task.action)
        if key is None:
            return await self._poll_task(task, key, timeout, on_update, store)
        # How many tasks of this kind are being polled at once: tasks started together
        # share the looking while the kind is still unknown (see PollPolicy.next_delay).
        self._polling[key] = self._polling.get(key, 0) + 1
        try:
            return await self._poll_task(task, key, timeout, on_update, store)
        finally:
            self._polling[key] -= 1
            if not self._polling[key]:
                del self._polling[key]

    async def _poll_task(self, task: Task, key: LatencyKey | None, timeout: float | None,
                         on_update: UpdateCallback | None, store: ResultStore | None) -> Task:
        limit = self.wait_timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        if key is not None and store is not None:
            await self._load_latencies(store)
        # Durations count from when the service accepted the task (during its POST).
        # Bounds are kept on the safe side of every round trip (a "not yet" counts from
        # when its question left, a "done" from when its answer came), so each task's
        # interval surely holds its duration however slow the network or the loop.
        window = self._accepted.pop(task.id, None)
        learn = window is not None and key is not None
        if window is None:
            # Not created here (resumed from a run log, collected after a stop): its
            # start is unknown and it may have finished long ago. Look soon and back
            # off, as for an unknown kind of task, counting from when it was last seen;
            # it teaches nothing.
            start = time.monotonic() - max(0.0, time.time() - task.observed_at)
            window = (start, start)
        post_sent, post_answered = window
        accepted = (post_sent + post_answered) / 2
        phase = self._next_phase(key)
        lower = 0.0  # the POST answer said "not done yet"
        upper: float | None = None
        took = 0.0
        hints: tuple[float, ...] = ()
        not_before = accepted + self._retry_after(task.retry_after)
        current, misses, look_now = task, 0, False
        while not current.done:
            now = time.monotonic()
            elapsed = now - accepted
            estimate = self.latency.estimate(key) if key and learn else None
            delay = 0.0 if look_now else self.poll.next_delay(elapsed, estimate, phase, hints,
                                                                crowd=self._polling.get(key, 1) if key else 1)
            # The server's own wish for the next look (Retry-After) is never overruled.
            delay = max(delay, not_before - now)
            remaining = deadline - now
            if remaining <= 0:
                raise TaskTimeoutError(
                    f"task {task.id} was still {current.status} after {limit:g}s; it may still finish "
                    "(and be billed): collect it later with client.resume() (from the run log) or "
                    f"client.wait(client.get({task.id!r}, {task.action!r})), or pass a longer timeout=",
                    task_id=task.id, code="task_timeout")
            if not look_now:
                sibling = await self._sleep_or_wake(key, min(delay, remaining))
                if sibling is not None:
                    # A sibling finished within ``sibling`` s of its acceptance: this task
                    # is likely done by then too. Look at once if that moment has come
                    # (the server's pacing permitting), else plan a look for it.
                    hints = (*hints, sibling)
                    look_now = sibling <= time.monotonic() - accepted + self.poll.min_interval
                    continue
            elif delay > 0:
                await asyncio.sleep(min(delay, remaining))
            look_now = False
            sent = time.monotonic()
            try:
                fresh = await self.refresh(current)
            except NotFoundError:
                misses += 1
                if misses > POLL_404_TOLERANCE:
                    raise
                continue
            answered = time.monotonic()
            misses = 0
            not_before = answered + self._retry_after(fresh.retry_after)
            if fresh.status not in KNOWN_STATUSES:
                raise UnknownStatusError(
                    f"task {task.id} reported an unknown status {fresh.status!r} "
                    f"(expected one of {', '.join(KNOWN_STATUSES)})",
                    task_id=task.id, code="unknown_status", request_id=fresh.request_id)
            if fresh.done:
                upper = answered - post_sent
                took = answered - accepted
            else:
                lower = sent - post_answered
            if fresh.status != current.status:
                _notify(on_update, fresh)
            current = fresh
        if current.status == "failed":
            raise TaskFailedError(
                f"task {task.id} failed: {current.error or 'no reason given'} (failed tasks are not charged)",
                task_id=task.id, code="task_failed", request_id=current.request_id)
        if learn and key is not None and upper is not None:
            self.latency.observe(key, lower, upper)
            # Siblings compare with their own elapsed time, which counts from the
            # middle of their POST: so does the hint.
            self._wake_siblings(key, took)
            if store is not None:
                self._save_latencies(store)
        return current

    async def generate(self, request: ImageRequest | str | None = None, /, *, timeout: float | None = None,
                       download: bool = True, on_update: UpdateCallback | None = None,
                       store: ResultStore | None = None, idempotency_key: str | None = None,
                       on_sending: Callable[[str], Any] | None = None, **fields: Any) -> Generation:
        """Submit, wait, download: one finished ``Generation``. ``idempotency_key``: send
        the create with this key (the same key again returns the same task, charged once);
        ``on_sending`` as in :meth:`submit`."""
        _check_timeout(timeout)
        _check_flag("download", download)
        _check_submit(idempotency_key, store)
        _check_callable(on_update, "on_update")
        req = ImageRequest.from_fields(request, **fields)
        async with self.in_flight.slot() as slot:
            with slot.creating():
                task = await self.submit(req, store=store, idempotency_key=idempotency_key,
                                         on_sending=on_sending)
            _notify(on_update, task)

            def seen(update: Task) -> None:
                # The service frees the slot when the task ends, not when its image arrives.
                if update.done:
                    slot.release(update.ok)
                _notify(on_update, update)

            return await self.wait(task, timeout=timeout, download=download, on_update=seen, store=store)

    async def collect(self, request: ImageRequest | None = None, *, task: Task | None = None,
                      timeout: float | None = None, on_update: UpdateCallback | None = None,
                      store: ResultStore | None = None, idempotency_key: str | None = None,
                      on_sending: Callable[[str], Any] | None = None) -> Generation:
        """Finish one request whether or not its task exists yet: with ``task`` (one that
        may still finish: a stop, an outage, a dead kernel) wait for it, sending nothing
        new, so nothing is charged twice; without it, submit ``request`` and wait. Pass the
        same ``idempotency_key`` when sending a request again whose first create may have
        reached the service (its answer lost): the service returns that task, not a new one.
        Views and comparisons call this one method for first runs and resumes alike."""
        if request is not None and not isinstance(request, ImageRequest):
            raise ValidationError(f"request must be an ImageRequest (or None), got {type(request).__name__}",
                                  field="request", value=request, allowed="ImageRequest or None")
        _check_task(task, optional=True)
        if task is None:
            if request is None:
                raise ValidationError("collect() needs a request or a task", field="request",
                                      value=None, allowed="ImageRequest or Task")
            return await self.generate(request, timeout=timeout, on_update=on_update, store=store,
                                       idempotency_key=idempotency_key, on_sending=on_sending)
        if request is not None and task.request is None:
            task = dataclasses.replace(task, request=request)
        # wait() polls with the replica-404 grace and logs a task the service no longer knows.
        return await self.wait(task, timeout=timeout, on_update=on_update, store=store)

    async def generate_many(self, requests: Iterable[RequestLike | str], *,
                            max_concurrency: int | None = None, timeout: float | None = None,
                            download: bool = True, budget: float | None = None,
                            on_update: UpdateCallback | None = None,
                            on_result: ResultCallback | None = None,
                            progress: bool | None = None) -> list[Generation | Flux2Error]:
        """Run many generations concurrently (bounded). Every request is validated,
        and the budget checked, before anything is sent. A failure in one never cancels
        the others: each entry is a ``Generation`` or the error it raised. ``progress``: a
        bar in a notebook, tqdm in a terminal (``None``: when someone can see it)."""
        reqs, one, bar = await self._batch(requests, max_concurrency, timeout, download, budget,
                                           on_update, on_result, progress)
        try:
            return list(await asyncio.gather(*(one(i, r) for i, r in enumerate(reqs))))
        finally:
            if bar is not None:
                bar.close()

    async def as_completed(self, requests: Iterable[RequestLike | str], *,
                           max_concurrency: int | None = None, timeout: float | None = None,
                           download: bool = True, budget: float | None = None,
                           on_update: UpdateCallback | None = None,
                           on_result: ResultCallback | None = None,
                           progress: bool | None = None) -> AsyncGenerator[Generation | Flux2Error, None]:
        """``generate_many`` as a stream: ``async for result in client.as_completed(requests)``
        yields each ``Generation`` (or its error) the moment it is done, so a big sweep never
        waits for its slowest image nor holds every result at once (with a store, each result's
        bytes are already in its file). Leaving the loop early stops what is still going (tasks
        already created may still finish, and be billed: ``resume()`` collects them)."""
        reqs, one, bar = await self._batch(requests, max_concurrency, timeout, download, budget,
                                           on_update, on_result, progress)
        jobs = [asyncio.ensure_future(one(i, r)) for i, r in enumerate(reqs)]
        try:
            for next_done in asyncio.as_completed(jobs):
                yield await next_done
        finally:
            for job in jobs:
                job.cancel()
            await asyncio.gather(*jobs, return_exceptions=True)
            if bar is not None:
                bar.close()

    async def _batch(self, requests: Iterable[RequestLike | str], max_concurrency: int | None,
                     timeout: float | None, download: bool, budget: float | None,
                     on_update: UpdateCallback | None, on_result: ResultCallback | None,
                     progress: bool | None) -> tuple[list[ImageRequest], Any, Any]:
        """A batch checked whole (nothing sent on bad input or a budget it would pass), and the
        coroutine that runs one of its requests under the concurrency gate."""
        reqs = _as_requests(requests)
        # Every argument is checked before the price list is asked for: bad input sends nothing.
        check_number("budget", budget, strict=False, optional=True)
        _check_timeout(timeout)
        _check_flag("download", download)
        _check_callable(on_update, "on_update")
        _check_callable(on_result, "on_result")
        if progress is not None:
            _check_flag("progress", progress)
        limit = self.max_concurrency if max_concurrency is None else max_concurrency
        _check_concurrency(limit)
        # A cap is checked against what the service charges now (one cached GET), falling
        # back to the catalog; without a cap nothing extra is asked.
        check_budget(reqs, budget, prices=await self.cap_prices() if budget is not None else None)
        gate = asyncio.Semaphore(_check_concurrency(limit))
        from .._progress import progress_for

        bar = progress_for(len(reqs), progress)

        async def one(index: int, req: ImageRequest) -> Generation | Flux2Error:
            async with gate:
                try:
                    result: Generation | Flux2Error = await self.generate(
                        req, timeout=timeout, download=download, on_update=on_update)
                except Flux2Error as exc:
                    result = exc
                except Exception as exc:  # a bug must not lose the other results; say it plainly
                    log.exception("generation %d raised an unexpected error", index)
                    result = Flux2Error(f"unexpected error ({type(exc).__name__}: {exc}); please report it",
                                        code="internal_error")
            if bar is not None:
                bar.update(result)
            if on_result is not None:
                try:
                    on_result(index, result)
                except Exception:  # a broken callback must not lose the batch
                    log.exception("on_result callback failed")
            return result

        return reqs, one, bar

    async def resume(self, store: ResultStore | None = None, *, timeout: float | None = None,
                     resend_within: float | None = RESEND_WINDOW) -> list[Generation | Flux2Error]:
        """Finish what a run log shows as started but never completed (for instance
        after a kernel restart): tasks submitted and not collected, and create requests
        sent with no answer recorded (a kernel that died mid-request, or a create that
        gave up on network or server errors: its task may exist). Those are sent again
        with their own Idempotency-Key: the service answers with the task it already
        made (one charge), or makes it now if the first request never arrived.

        ``resend_within``: only creates sent less than this many seconds ago (default an
        hour) are sent again; the service may have forgotten an older key, and a resend
        would then make a second, billed task. Each older one comes back as an
        ``UnansweredCreateError``; ``None`` sends them all."""
        _check_store(store)
        _check_timeout(timeout)
        check_number("resend_within", resend_within, optional=True, strict=False)
        store = store or self.store
        if store is None:
            raise ValidationError("resume needs a ResultStore: pass store= here or to the client",
                                  field="store", value=None)
        pending = await on_disk(store.pending, self.base_url)
        undelivered = await on_disk(store.undelivered, self.base_url)
        unanswered = await on_disk(store.unanswered, self.base_url)

        async def one(entry: Task) -> Generation | Flux2Error:
            try:
                return await self.wait(entry, timeout=timeout, store=store)
            except Flux2Error as exc:
                return exc

        async def fetch_again(entry: Task) -> Generation | Flux2Error:
            # Completed before: download again from the kept URL while it lives; no status
            # call, nothing billed again. One whose answer had no URL is asked for again.
            try:
                if time.time() - entry.observed_at > RESULT_URL_LIFETIME:
                    error = ImageDownloadError(
                        f"task {entry.id}'s image URL has expired (it lives about 7 days); "
                        "the image can no longer be fetched", task_id=entry.id, code="url_expired",
                        urls=entry.image_urls)
                    await self._log_to_store(store.record_failure, entry, error)
                    return error
                if not entry.image_urls:
                    return await ask_again(entry)
                return await self._finish(entry, True, store)
            except Flux2Error as exc:
                return exc

        async def ask_again(entry: Task) -> Generation | Flux2Error:
            # One status GET (nothing is billed again); wait() then finishes the task, or
            # keeps it undelivered for next time if the answer still has no image.
            try:
                fresh = await self.refresh(entry)
            except Flux2Error as exc:
                exc.task_id = exc.task_id or entry.id
                if not is_resumable(exc):  # the service no longer knows it
                    await self._log_to_store(store.record_failure, entry, exc)
                return exc
            return await one(fresh)

        async def again(entry: Unanswered) -> Generation | Flux2Error:
            age = time.time() - entry.submitted_at
            if resend_within is not None and age > resend_within:
                return UnansweredCreateError(
                    f"a {entry.request.label} create first sent {entry.age_text()} ago never got its answer: "
                    "its task may exist and be billed, but the service may have forgotten its "
                    "Idempotency-Key, so it was not sent again (that could bill a second task). Check "
                    "your RunAPI account; then client.resume(resend_within=None) sends it anyway, or "
                    f"store.dismiss({entry.idempotency_key!r}) drops it",
                    code="unanswered_create", idempotency_key=entry.idempotency_key,
                    sent_at=entry.submitted_at)
            try:
                task = await self.submit(entry.request, idempotency_key=entry.idempotency_key, store=store)
            except Flux2Error as exc:
                return exc
            if task.id in known:  # the same task is already being collected above
                return await collecting[task.id]
            return await one(task)

        known = {t.id for t in pending}
        collecting = {t.id: asyncio.ensure_future(one(t)) for t in pending}
        results = await asyncio.gather(*collecting.values(), *(again(u) for u in unanswered),
                                       *(fetch_again(t) for t in undelivered))
        return list(results)

    async def download(self, url: str) -> bytes:
        """Fetch image bytes from their host, without the API key. Checked: PNG, JPEG or
        WebP, within ``limits`` (bytes, pixels, time, redirects), else ``ImageDownloadError``."""
        if (problem := url_problem(url)) is not None:
            raise ValidationError(f"url {problem}", field="url", value=url, allowed="http(s) URL")
        return await self._transport.download(url.strip())

    async def upload(self, file: str | os.PathLike[str] | bytes, *, filename: str | None = None) -> str:
        """Upload a local PNG, JPEG or WebP image to RunAPI's file storage and return its
        temporary public URL (about 7 days), usable in ``source_image_urls``.

        Checked first (the file exists, is such an image, and is within the size limit):
        a ``ValidationError`` means nothing was sent. Retried safely (Idempotency-Key)."""
        prepared = await off_loop(prepare_upload, file, filename)
        answer = await self._transport.request("POST", FILES_PATH, content=prepared.body,
                                               headers={IDEMPOTENCY_HEADER: uuid.uuid4().hex})
        self._learn_server(answer)
        url = upload_url(answer.data, request_id=answer.request_id)
        log.info("uploaded %s (%s, %d bytes)", prepared.file_name, prepared.mime_type, prepared.size_bytes)
        return url

    async def balance(self) -> dict[str, Any]:
        """The account balance (``balance_cents`` and friends)."""
        answer = await self._transport.request("GET", "/api/v1/me/balance")
        self._learn_server(answer)
        return answer.data if isinstance(answer.data, dict) else {"balance": answer.data}

    async def prices(self, *, refresh: bool = False) -> PriceList:
        """USD per image from the service's price schedules (cached; revalidated by ETag),
        else the catalog's (``source == "catalog"``). ``prices[("flex", "2k")]`` reads one;
        ``None`` is an unknown price (Max until the service publishes one), never free."""
        _check_flag("refresh", refresh)
        return await self._price_book.get(self._transport, learn=self._learn_from_header, refresh=refresh)

    @property
    def ledger_scopes(self) -> tuple[str, ...]:
        """The workspace budget scopes its creates are reserved under: ``budget_scopes``, or,
        for a client simulated from the start (no key, or ``simulated=True``), whose creates
        nothing charges, ``simulated:<scope>`` beside them, so a demo never spends a real cap.
        A key stays on the real ledger until the server proves it is the simulator."""
        from ..workspace import simulated_scopes

        apart = self.simulated and not self._guess_simulated
        return simulated_scopes(self.budget_scopes) if apart else self.budget_scopes

    async def cap_prices(self) -> PriceList:
        """The prices a budget cap is checked against: the service's own (the last list read, or
        read now). A cap holds only at what the service charges, and the catalog's may be
        lower, so while the price list cannot be read nothing is sent under a cap:
        ``BudgetExceededError`` says so."""
        listed = await self.prices()
        if listed.source != "live":
            raise BudgetExceededError(
                "the service's price list could not be read just now, so a budget cap cannot be "
                "checked at what it charges (the catalog's prices may be lower). Nothing was sent: "
                "try again in a moment, or run without a cap", code="prices_unavailable")
        return listed

    async def quote(self, request: ImageRequest | str | None = None, /, **fields: Any) -> Quote:
        """What one request would cost: the service's quote when it gives them, else the
        price schedule, else the catalog. The request is validated first."""
        req = ImageRequest.from_fields(request, **fields)
        quote, answer = await fetch_quote(self._transport, req, await self.prices())
        if answer is not None:
            self._learn_server(answer)
        return quote

    # -- internals -----------------------------------------------------------------
    def _learn_server(self, answer: Answer) -> None:
        self._learn_from_header(answer.from_simulator)

    def _learn_from_header(self, from_simulator: bool) -> None:
        if not self._guess_simulated:
            return
        self.server_known = True
        if self.simulated != from_simulator:
            self.simulated = from_simulator
            log.info("the server at %s is %s", self.base_url,
                     "the flux2_widgets simulator" if self.simulated else "not a simulator: costs are real")

    def _retry_after(self, seconds: float | None) -> float:
        """How long a successful answer's Retry-After holds the next poll back."""
        if seconds is None or not math.isfinite(seconds) or seconds <= 0:
            return 0.0
        return min(seconds, self.poll.max_retry_after)

    def _remember_acceptance(self, task_id: str, sent: float, answered: float) -> None:
        self._accepted[task_id] = (sent, answered)
        while len(self._accepted) > _MAX_REMEMBERED:  # tasks submitted but never waited on
            self._accepted.popitem(last=False)

    def _next_phase(self, key: LatencyKey | None) -> float:
        # Consecutive tasks of one kind take evenly spread phases: siblings sample the
        # timeline densely together, and tasks in a row land at different places in
        # their brackets, which pins the duration down.
        if key is None:
            return random.random()
        count = self._phases.get(key, 0)
        self._phases[key] = count + 1
        return sibling_phase(count)

    async def _sleep_or_wake(self, key: LatencyKey | None, delay: float) -> float | None:
        """Sleep ``delay``; return early, with the duration a sibling (a task of the
        same kind) took, if one completes meanwhile: tasks started together finish
        together."""
        if key is None:
            await asyncio.sleep(delay)
            return None
        waiter = self._siblings.get(key)
        if waiter is None or waiter.done():
            waiter = self._siblings[key] = asyncio.get_running_loop().create_future()
        # asyncio.wait, not wait_for(shield(...)): on Python 3.11 wait_for turns a cancel that
        # lands as the timeout fires into a TimeoutError, so Stop would leave this task polling.
        # wait() never cancels the shared waiter and lets our own cancellation through.
        done, _ = await asyncio.wait((waiter,), timeout=delay)
        return waiter.result() if done else None

    def _wake_siblings(self, key: LatencyKey, duration: float) -> None:
        waiter = self._siblings.pop(key, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(duration)

    def _latency_key(self, request: ImageRequest | None, action: str = "text_to_image") -> LatencyKey | None:
        if request is None:
            return None
        return (self.base_url, request.tier, request.resolution, request.action or action)

    async def _load_latencies(self, store: ResultStore) -> None:
        """Once per result folder: what earlier clients (other kernels) learned here.
        Every task waits for the one read, so a batch's first tasks are planned with it."""
        where = str(store.root.absolute())
        job = self._loading.get(where)
        if job is None:
            if where in self.latency.loaded_from:
                return
            self.latency.loaded_from.add(where)
            job = self._loading[where] = asyncio.ensure_future(self._read_latencies(store))
        await asyncio.shield(job)

    async def _read_latencies(self, store: ResultStore) -> None:
        try:
            kinds = await on_disk(store.read_latencies, self.base_url)
        except OSError:
            return
        saved: dict[tuple[str, ...], Any] = {}
        for name, bounds in kinds.items():
            parts = str(name).split("/")
            if len(parts) == 3:
                saved[(self.base_url, parts[0], parts[1], parts[2])] = bounds
        self.latency.load(saved)

    def _save_latencies(self, store: ResultStore) -> None:
        """Write what was learned next to the results, off the loop; one write at a
        time per folder, the last one carrying everything learned meanwhile."""
        where = str(store.root)
        if where in self._saving:
            self._save_again.add(where)
            return

        async def save() -> None:
            try:
                while True:
                    self._save_again.discard(where)
                    kinds = {"/".join(k[1:]): [[round(a, 4), round(b, 4)] for a, b in bounds]
                             for k, bounds in self.latency.export().items() if k[0] == self.base_url}
                    try:
                        await on_disk(store.write_latencies, self.base_url, kinds)
                    except OSError as exc:
                        log.warning("could not save learned task durations: %s", exc)
                        return
                    if where not in self._save_again:
                        return
            finally:
                self._saving.pop(where, None)

        self._saving[where] = asyncio.get_running_loop().create_task(save())

    async def _finish(self, task: Task, download_now: bool, store: ResultStore | None) -> Generation:
        if not task.image_urls:
            # Completed, so billed: kept as undelivered (never as failed), for resume() to
            # ask the service again while the result lives.
            missing = NoImageError(
                f"task {task.id} completed (and is billed) but its answer carried no image URL. The "
                "run log keeps it: client.resume() asks the service again while the result lives "
                "(about 7 days)", task_id=task.id, code="no_images", request_id=task.request_id)
            if store is not None:
                await self._log_to_store(store.record_undelivered, task, missing, self.base_url)
            raise missing
        # Lazy reads (download=False) go through the same transport: its limits, its retries.
        transport = self._transport
        images = [GeneratedImage(url, i, fetch=transport.read_image, afetch=transport.download)
                  for i, url in enumerate(task.image_urls)]
        if download_now:
            outcomes = await asyncio.gather(*(img.aread() for img in images), return_exceptions=True)
            failed = next((o for o in outcomes if isinstance(o, BaseException)), None)
            if failed is not None:
                if not isinstance(failed, Flux2Error):
                    raise failed  # cancellation and the like: not the image's fault
                # Completed (and billed): the task is kept, with its URLs, never dropped.
                error = ImageDownloadError(
                    f"task {task.id} completed (and is billed) but its image could not be used: "
                    f"{failed.message}. The run log keeps its URL: client.resume() tries again "
                    "while it lives (about 7 days)",
                    task_id=task.id, code=failed.code or "download_failed", status=failed.status,
                    urls=task.image_urls, request_id=task.request_id)
                if store is not None:
                    await self._log_to_store(store.record_undelivered, task, error, self.base_url)
                raise error
        request = task.request or ImageRequest("(unknown request)")
        gen = Generation(task=task, request=request, images=images, submitted_at=task.submitted_at,
                         completed_at=task.observed_at, base_url=self.base_url, simulated=self.simulated)
        self.spent += gen.cost or 0.0
        if store is not None and download_now:
            await self._log_to_store(store.save, gen, files=True)
            # In its file now: a sweep of hundreds of 2k images must not live in memory too.
            for img in images:
                img.release()
        elif store is not None:
            # Completed, so billed; its images were not asked for now: the run log keeps its
            # URLs (resume() fetches them while they live) and the budget counts it as spent.
            await self._log_to_store(store.record_undelivered, task, "not downloaded (download=False)",
                                     self.base_url)
        return gen

    async def _reserve(self, store: ResultStore, key: str, request: ImageRequest) -> None:
        """Reserve the create's cost in the workspace budget (on the workspace's own thread):
        under a cap, at the service's live price (cached), not the catalog's default."""
        from ..workspace import off_loop as on_workspace

        scopes = self.ledger_scopes
        price = None
        if await on_workspace(store.capped, scopes):
            price = (await self.cap_prices())(request)
        await on_workspace(store.reserve, key, request, scopes, price)

    async def _log_to_store(self, write: Callable[..., Any], *args: Any, files: bool = False) -> None:
        # The task exists (and may be paid for) by now: a full disk or a bad folder
        # must not turn it into an error and lose it. Warn and carry on.
        try:
            await on_disk(write, *args, files=files)
        except OSError as exc:
            log.warning("could not write results to disk: %s", exc)


def _check_scopes(scopes: Any) -> tuple[str, ...]:
    if isinstance(scopes, str) or not isinstance(scopes, (list, tuple)) or not scopes or not all(
            isinstance(s, str) and 0 < len(s) <= 200 for s in scopes):
        raise ValidationError(f"budget_scopes must be a tuple of scope names such as ('workspace',) or "
                              f"('workspace', 'visitor:ada'), not {scopes!r}"[:300], field="budget_scopes",
                              value=scopes, allowed="a tuple of 1-200 character names")
    return tuple(dict.fromkeys(scopes))


@functools.lru_cache(maxsize=1)
def _tls_context() -> ssl.SSLContext:
    # Loading the CA bundle costs tens of milliseconds: do it once per process,
    # not twice per client.
    return httpx.create_ssl_context()


def _notify(callback: UpdateCallback | None, task: Task) -> None:
    if callback is None:
        return
    try:
        callback(task)
    except Exception:  # a broken UI callback must not break the generation
        log.exception("on_update callback failed")


class Flux2Client:
    """Synchronous Flux 2 client: the same API as ``AsyncFlux2Client``, blocking.

    Works in plain scripts and inside a notebook cell (where an event loop is
    already running).

    >>> client = Flux2Client()
    >>> gen = client.generate("a lighthouse at dawn")
    >>> gen.images[0].save("lighthouse.png")
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        timeout: float = 30.0,
        max_retries: int = 4,
        retry_base_delay: float = 0.25,
        max_concurrency: int = 8,
        poll: PollPolicy | None = None,
        wait_timeout: float = DEFAULT_WAIT_TIMEOUT,
        store: ResultStore | None = None,
        simulated: bool | None = None,
        max_retry_after: float = 60.0,
        rate_limit_retries: int = 30,
        limits: ResponseLimits | None = None,
        budget_scopes: Sequence[str] = ("workspace",),
        _latency: LatencyModel | None = None,
    ) -> None:
        options: dict[str, Any] = {
            "base_url": base_url, "timeout": timeout, "max_retries": max_retries,
            "retry_base_delay": retry_base_delay, "max_concurrency": max_concurrency, "poll": poll,
            "wait_timeout": wait_timeout, "store": store, "simulated": simulated,
            "max_retry_after": max_retry_after, "rate_limit_retries": rate_limit_retries, "limits": limits,
            "budget_scopes": budget_scopes}
        # Build one async client now so configuration errors surface here, and
        # fix the resolved endpoint so every loop's client talks to the same place.
        first = AsyncFlux2Client(api_key, **options, _latency=_latency)
        self._api_key = api_key
        # A client still finding out what kind of server it talks to passes that on: each
        # loop's client learns it from its own first answer.
        self._options = {**options, "base_url": first.base_url,
                         "simulated": None if first._guess_simulated else first.simulated,
                         "_latency": first.latency}
        self._initial_simulated = first.simulated
        # Configuration every loop's client shares, readable without building one (a copy:
        # the first client itself belongs to its loop and goes with it).
        self._shared = _SharedConfig(first.key_hint, first.max_concurrency, first.budget_scopes,
                                     first.wait_timeout, first.poll, first.retry, first.limits)
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AsyncFlux2Client] = (
            weakref.WeakKeyDictionary())
        self._first: AsyncFlux2Client | None = first
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Flux2Client(base_url={self.base_url!r}, key={self.key_hint}, simulated={self.simulated})"

    @property
    def aio(self) -> AsyncFlux2Client:
        """The async client for the current event loop (widgets use this)."""
        loop = current_loop()
        with self._lock:  # threads must never share one loop-bound connection pool
            client = self._clients.get(loop)
            if client is None:
                if self._first is not None:
                    client, self._first = self._first, None
                else:
                    client = AsyncFlux2Client(self._api_key, **self._options)
                self._clients[loop] = client
        return client

    @property
    def base_url(self) -> str:
        return self._options["base_url"]

    @property
    def simulated(self) -> bool:
        """Simulated (nothing charged) or live; with a key, live until the server proves
        it is the simulator."""
        with self._lock:
            clients = [c for c in [self._first, *self._clients.values()] if c is not None]
        for client in clients:
            if client.server_known:
                return client.simulated
        return self._initial_simulated

    @property
    def store(self) -> ResultStore | None:
        return self._options.get("store")

    @property
    def key_hint(self) -> str:
        return self._shared.key_hint

    @property
    def max_concurrency(self) -> int:
        return self._shared.max_concurrency

    @property
    def budget_scopes(self) -> tuple[str, ...]:
        return self._shared.budget_scopes

    @property
    def ledger_scopes(self) -> tuple[str, ...]:
        from ..workspace import simulated_scopes

        # "simulated" is in the options only when known from the start (no key, or given)
        apart = self.simulated and self._options.get("simulated") is not None
        return simulated_scopes(self.budget_scopes) if apart else self.budget_scopes

    @property
    def wait_timeout(self) -> float:
        return self._shared.wait_timeout

    @property
    def poll(self) -> PollPolicy:
        return self._shared.poll

    @property
    def retry(self) -> RetryPolicy:
        return self._shared.retry

    @property
    def limits(self) -> ResponseLimits:
        return self._shared.limits

    @property
    def spent(self) -> float:
        with self._lock:
            return sum(c.spent for c in list(self._clients.values()))

    # Each method has the signature of its async twin (tests/test_client.py compares them),
    # and runs that coroutine on this thread's loop: one implementation, two faces.
    def submit(self, request: ImageRequest | str | None = None, /, *,
               idempotency_key: str | None = None, store: ResultStore | None = None,
               on_sending: Callable[[str], Any] | None = None, **fields: Any) -> Task:
        return run_sync(self.aio.submit(request, idempotency_key=idempotency_key, store=store,
                                        on_sending=on_sending, **fields))

    def get(self, task_id: str, action: str = "text_to_image", *,
            request: ImageRequest | None = None, submitted_at: float | None = None) -> Task:
        return run_sync(self.aio.get(task_id, action, request=request, submitted_at=submitted_at))

    def refresh(self, task: Task) -> Task:
        return run_sync(self.aio.refresh(task))

    def wait(self, task: Task, *, timeout: float | None = None, download: bool = True,
             on_update: UpdateCallback | None = None, store: ResultStore | None = None) -> Generation:
        return run_sync(self.aio.wait(task, timeout=timeout, download=download, on_update=on_update,
                                      store=store))

    def generate(self, request: ImageRequest | str | None = None, /, *, timeout: float | None = None,
                 download: bool = True, on_update: UpdateCallback | None = None,
                 store: ResultStore | None = None, idempotency_key: str | None = None,
                 on_sending: Callable[[str], Any] | None = None, **fields: Any) -> Generation:
        return run_sync(self.aio.generate(request, timeout=timeout, download=download, on_update=on_update,
                                          store=store, idempotency_key=idempotency_key,
                                          on_sending=on_sending, **fields))

    def collect(self, request: ImageRequest | None = None, *, task: Task | None = None,
                timeout: float | None = None, on_update: UpdateCallback | None = None,
                store: ResultStore | None = None, idempotency_key: str | None = None,
                on_sending: Callable[[str], Any] | None = None) -> Generation:
        return run_sync(self.aio.collect(request, task=task, timeout=timeout, on_update=on_update,
                                         store=store, idempotency_key=idempotency_key,
                                         on_sending=on_sending))

    def generate_many(self, requests: Iterable[RequestLike | str], *,
                      max_concurrency: int | None = None, timeout: float | None = None,
                      download: bool = True, budget: float | None = None,
                      on_update: UpdateCallback | None = None,
                      on_result: ResultCallback | None = None,
                      progress: bool | None = None) -> list[Generation | Flux2Error]:
        return run_sync(self.aio.generate_many(requests, max_concurrency=max_concurrency, timeout=timeout,
                                               download=download, budget=budget, on_update=on_update,
                                               on_result=on_result, progress=progress))

    def as_completed(self, requests: Iterable[RequestLike | str], *,
                     max_concurrency: int | None = None, timeout: float | None = None,
                     download: bool = True, budget: float | None = None,
                     on_update: UpdateCallback | None = None,
                     on_result: ResultCallback | None = None,
                     progress: bool | None = None) -> Iterator[Generation | Flux2Error]:
        """``for result in client.as_completed(requests)``: each result as it is done (see the
        async twin). The work runs while the loop body waits for the next one."""
        stream = self.aio.as_completed(requests, max_concurrency=max_concurrency, timeout=timeout,
                                       download=download, budget=budget, on_update=on_update,
                                       on_result=on_result, progress=progress)
        async def step() -> Generation | Flux2Error:
            return await stream.__anext__()

        async def close() -> None:
            await stream.aclose()

        try:
            while True:
                try:
                    yield run_sync(step())
                except StopAsyncIteration:
                    return
        finally:
            run_sync(close())

    def resume(self, store: ResultStore | None = None, *, timeout: float | None = None,
               resend_within: float | None = RESEND_WINDOW) -> list[Generation | Flux2Error]:
        return run_sync(self.aio.resume(store, timeout=timeout, resend_within=resend_within))

    def download(self, url: str) -> bytes:
        return run_sync(self.aio.download(url))

    def upload(self, file: str | os.PathLike[str] | bytes, *, filename: str | None = None) -> str:
        return run_sync(self.aio.upload(file, filename=filename))

    def balance(self) -> dict[str, Any]:
        return run_sync(self.aio.balance())

    def prices(self, *, refresh: bool = False) -> PriceList:
        return run_sync(self.aio.prices(refresh=refresh))

    def cap_prices(self) -> PriceList:
        return run_sync(self.aio.cap_prices())

    def quote(self, request: ImageRequest | str | None = None, /, **fields: Any) -> Quote:
        return run_sync(self.aio.quote(request, **fields))

    def close(self) -> None:
        """Close the connection pools this client opened on the current loop (pools on
        other threads' loops close with their loops)."""
        loop = current_loop()
        unused, self._first = self._first, None
        mine = [c for owner, c in list(self._clients.items()) if owner is loop]
        for client in ([unused] if unused is not None else []) + mine:
            if not loop.is_closed():
                run_sync(client.aclose())
        self._clients.clear()

    def __enter__(self) -> Flux2Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
