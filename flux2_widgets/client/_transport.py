"""The one road to the network: every request the client makes goes through ``Transport.send``.

Creates, status polls, price schedules, quotes, balance, uploads, image downloads and lazy
image reads are each a ``Call``; ``send`` applies to all of them alike the pool's timeouts,
the client's ``ResponseLimits`` (bodies streamed, counted after decoding, cut at a byte
cap and a deadline), retries with jittered backoff that honour ``Retry-After``, and the
mapping of every failure to a typed ``Flux2Error``. Helpers build calls and read answers;
none opens a connection or loops on its own.

Retried: dropped connections, timeouts, 408/429/5xx, and 2xx API bodies that are not the
JSON promised. A POST is retried only when that is safe: it carries an Idempotency-Key
(same key, same task, one charge) or creates nothing (a price quote). Images come from
other origins through a pool without credentials; their redirects are followed by hand
(bounded, bodies unread) and their bytes checked to be PNG, JPEG or WebP within the caps.

``send_sync`` is the same policy for the one thing synchronous code fetches by itself, a
lazy ``GeneratedImage.data``: everything but the socket reads is shared with ``send``
(``_Patience`` decides retries, ``_judge`` reads answers, ``_fault`` maps failures).
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from .._redact import redact
from .._sync import allow_nesting, run_sync
from ..catalog import IDEMPOTENCY_HEADER, REQUEST_ID_HEADER, SIMULATOR_HEADER
from ..errors import (
    APITimeoutError,
    Flux2Error,
    ImageDownloadError,
    MalformedResponseError,
    NetworkError,
    RateLimitError,
    ServerError,
)
from ._error_answers import MAX_ERROR_BODY, error_from_response, parse_retry_after
from ._limits import (
    ResponseLimits,
    check_image,
    check_image_url,
    current_slot,
    next_hop,
    parse_json,
    read_body,
    read_body_sync,
    within,
)

__all__ = ["Answer", "Call", "RetryPolicy", "Transport", "parse_retry_after"]

log = logging.getLogger("flux2_widgets")

RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
#: Never wait longer than this for one Retry-After hint.
MAX_RETRY_AFTER = 60.0
#: Largest error body read from the API (a real one is a few hundred bytes) and from an image host.
_API_ERROR_CAP = 4 * MAX_ERROR_BODY
_IMAGE_ERROR_CAP = MAX_ERROR_BODY
_DEADLINE = (asyncio.TimeoutError, TimeoutError)  # one class from 3.11 on; two on 3.10


@dataclass(frozen=True)
class RetryPolicy:
    """Two patiences: faults (dropped connections, timeouts, 5xx, broken bodies) get
    ``max_retries`` more tries; rate limits (429) get ``rate_limit_retries``, many more,
    because waiting them out is what the server asks for. A ``Retry-After`` longer than
    ``max_retry_after`` seconds raises at once with the time in the message: a notebook
    user would rather know than watch a cell hang."""

    max_retries: int = 4
    base_delay: float = 0.25
    max_delay: float = 8.0
    rate_limit_retries: int = 30
    max_retry_after: float = MAX_RETRY_AFTER

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Backoff before retry number ``attempt`` (1-based)."""
        if retry_after is not None:
            return min(self.max_retry_after, max(0.0, retry_after))
        ceiling = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        # "Equal jitter": never retry instantly, never all together.
        return ceiling / 2 + random.uniform(0, ceiling / 2)


@dataclass(frozen=True)
class Call:
    """One request, as the transport sends it. ``url`` is a path on the API origin, or an
    image's full URL when ``image`` is set (fetched without credentials)."""

    method: str
    url: str
    image: bool = False
    json_body: Any = None
    #: A JSON body already encoded (large bodies are encoded off the loop).
    content: bytes | None = None
    params: Mapping[str, str] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    #: The task this call is about: every error raised for it carries the id.
    task_id: str | None = None
    #: Safe to send again; by default GETs are, and POSTs carrying an Idempotency-Key.
    safe: bool | None = None
    #: A ``304 Not Modified`` is an answer (the caller revalidated a cached copy).
    conditional: bool = False

    @property
    def retry_safe(self) -> bool:
        if self.safe is not None:
            return self.safe
        return self.method != "POST" or IDEMPOTENCY_HEADER in self.headers

    @property
    def label(self) -> str:
        return f"{self.method} {self.url}"[:300]


@dataclass
class Answer:
    """What ``send`` returns: the parsed JSON of an API answer (``None`` for a 304), or an
    image's checked bytes."""

    data: Any
    status: int
    request_id: str | None
    retry_after: float | None
    attempts: int
    #: The answer came from flux2_widgets' simulator (it says so in a header).
    from_simulator: bool = False
    etag: str | None = None


class _Again(Exception):
    """An attempt failed in a way another attempt may mend."""

    def __init__(self, error: Flux2Error, *, dropped: bool = False) -> None:
        super().__init__(error.message)
        self.error = error
        #: A connection that broke (no answer at all): most often one stale socket.
        self.dropped = dropped


class _Patience:
    """How many more attempts one call gets, and how long to wait before each."""

    def __init__(self, call: Call, retry: RetryPolicy) -> None:
        self.call, self.retry = call, retry
        self.attempts = self.faults = self.limited = 0

    def wait_before_next(self, again: _Again) -> float:
        """Seconds to wait before the next attempt; raises the error when there is none."""
        error, retry = again.error, self.retry
        rate_limited = error.status == 429
        if rate_limited:
            self.limited += 1
        else:
            self.faults += 1
        if error.retry_after is not None and error.retry_after > retry.max_retry_after:
            error.message = (f"{error.message}; the server asks to wait {error.retry_after:,.0f}s "
                             f"before trying again, more than max_retry_after={retry.max_retry_after:g}s: "
                             "try again later (or raise max_retry_after)")
            raise error
        if not self.call.retry_safe or self.faults > retry.max_retries \
                or self.limited > retry.rate_limit_retries:
            if self.attempts > 1 and isinstance(error, (RateLimitError, ServerError, NetworkError,
                                                        APITimeoutError, ImageDownloadError)):
                error.message = (f"{error.message} (gave up after {self.attempts} attempts: "
                                 f"{self.limited} rate-limited, {self.faults} faults)")
            raise error
        if again.dropped and self.faults == 1:
            # The first retry after a dropped connection goes out at once, on a fresh socket.
            return random.uniform(0, retry.base_delay / 10)
        return retry.delay(self.limited if rate_limited else self.faults, error.retry_after)


def _nestable(loop: asyncio.AbstractEventLoop) -> bool:
    """Whether ``loop`` can run a nested ``run_until_complete`` (a notebook's loop can;
    a loop nest-asyncio cannot patch, such as uvloop's, cannot)."""
    try:
        allow_nesting(loop)
    except Exception:  # not patchable: the caller blocks this thread instead
        return False
    return True


def _plain(headers: httpx.Headers) -> list[tuple[str, str]]:
    # The body handed on is already decoded (and its length known).
    return [(k, v) for k, v in headers.multi_items()
            if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")]


Exchanged = tuple[int, httpx.Headers, bytes]


class Transport:
    """An API pool (with the key) and an image pool (without), and the one policy both
    follow. Loop-bound like every httpx async pool: one per event loop; ``send_sync``
    keeps a plain pool of its own for synchronous image reads."""

    def __init__(self, *, base_url: str, api_key: str, user_agent: str, timeout: float,
                 retry: RetryPolicy, limits: ResponseLimits, verify: Any = True) -> None:
        self.retry = retry
        self.limits = limits
        self._timeout = timeout
        self._verify = verify
        self._agent = user_agent
        pool = httpx.Limits(max_connections=64, max_keepalive_connections=32)
        self._pool_limits = pool
        self.api = httpx.AsyncClient(
            base_url=base_url, timeout=timeout, limits=pool, verify=verify,
            headers={"Authorization": f"Bearer {api_key}", "Accept": "application/json",
                     "User-Agent": user_agent})
        # Image hosts are other origins: a separate pool that has no credentials at all,
        # and that never follows a redirect by itself (see _image_exchange).
        self.cdn = httpx.AsyncClient(timeout=timeout, limits=pool, headers={"User-Agent": user_agent},
                                     follow_redirects=False, verify=verify)
        self._sync_cdn: httpx.Client | None = None
        self._sync_lock = threading.Lock()
        #: The loop (and thread) the async pools belong to: set by the first ``send``.
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: int | None = None
        self.closed = False

    # -- the method family -----------------------------------------------------------
    async def request(self, method: str, url: str, *, json_body: Any = None, content: bytes | None = None,
                      params: Mapping[str, str] | None = None, headers: Mapping[str, str] | None = None,
                      task_id: str | None = None, safe: bool | None = None,
                      conditional: bool = False) -> Answer:
        """One API call (``url`` relative to the base URL); its answer's JSON in ``data``."""
        return await self.send(Call(method, url, json_body=json_body, content=content, params=params,
                                    headers=dict(headers or {}), task_id=task_id, safe=safe,
                                    conditional=conditional))

    async def download(self, url: str) -> bytes:
        """An image's bytes from its host, checked (PNG, JPEG or WebP within the caps)."""
        answer = await self.send(Call("GET", url, image=True))
        return bytes(answer.data)

    def read_image(self, url: str) -> bytes:
        """``download`` for synchronous code (a lazy ``GeneratedImage.data``), under the same
        policy and limits. On the pools' own loop, in their thread (a notebook cell, a
        script's private loop) the async path runs there, nested like every sync call of
        ``Flux2Client``; anywhere else (another thread, another loop, a closed client)
        ``send_sync`` does: a loop-bound pool is never used from outside its loop."""
        loop = self._loop
        if loop is not None and not self.closed and not loop.is_closed():
            try:
                here: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
            except RuntimeError:
                here = None
            idle_here = here is None and not loop.is_running() and threading.get_ident() == self._thread
            if idle_here or (here is loop and _nestable(loop)):
                return run_sync(self.download(url))
        return bytes(self.send_sync(Call("GET", url, image=True)).data)

    async def send(self, call: Call) -> Answer:
        """Send ``call`` until it succeeds or its retries are spent: an ``Answer``, or the
        typed error of the last attempt."""
        if self._loop is None:
            self._loop, self._thread = asyncio.get_running_loop(), threading.get_ident()
        patience = _Patience(call, self.retry)
        while True:
            patience.attempts += 1
            try:
                return await self._attempt(call, patience.attempts)
            except _Again as again:
                failed = again
            delay = patience.wait_before_next(failed)
            error = failed.error
            slot = current_slot() if error.status == 429 and call.method == "POST" else None
            if slot is not None:
                log.info("retrying %s after RateLimitError when capacity returns (one of this client's "
                         "tasks finishes, or Retry-After %ss)", call.label, error.retry_after)
                await slot.refused(error.retry_after)
                continue
            log.info("retrying %s in %.2fs after %s", call.label, delay, type(error).__name__)
            await asyncio.sleep(delay)

    def send_sync(self, call: Call) -> Answer:
        """``send`` for synchronous code, blocking this thread; image calls only (the key
        never travels through a pool that is not the API's)."""
        if not call.image:
            raise ValueError("send_sync fetches images only")
        patience = _Patience(call, self.retry)
        with self._sync_pool() as pools:
            while True:
                patience.attempts += 1
                try:
                    return self._attempt_sync(pools.current(), call, patience.attempts)
                except _Again as again:
                    failed = again
                delay = patience.wait_before_next(failed)
                log.info("retrying %s in %.2fs after %s", call.label, delay, type(failed.error).__name__)
                time.sleep(delay)

    async def aclose(self) -> None:
        self.closed = True
        await self.api.aclose()
        await self.cdn.aclose()
        with self._sync_lock:
            pool, self._sync_cdn = self._sync_cdn, None
        if pool is not None:
            pool.close()

    # -- one attempt -----------------------------------------------------------------
    async def _attempt(self, call: Call, attempt: int) -> Answer:
        try:
            if call.image:
                exchanged = await within(self.limits.download_seconds, self._image_exchange(call.url))
            else:
                exchanged = await self._api_exchange(call)
        except (*_DEADLINE, httpx.HTTPError, MalformedResponseError) as exc:
            raise self._fault(call, exc) from None
        return self._judge(call, *exchanged, attempt)

    def _attempt_sync(self, pool: httpx.Client, call: Call, attempt: int) -> Answer:
        try:
            exchanged = self._image_exchange_sync(pool, call.url)
        except (*_DEADLINE, httpx.HTTPError, MalformedResponseError) as exc:
            raise self._fault(call, exc) from None
        return self._judge(call, *exchanged, attempt)

    async def _api_exchange(self, call: Call) -> Exchanged:
        async with self.api.stream(call.method, call.url, json=call.json_body, content=call.content,
                                   params=call.params, headers=self._headers(call)) as response:
            cap = self.limits.json_bytes if response.is_success else _API_ERROR_CAP
            body = await within(self.limits.answer_seconds,
                                read_body(response, cap, f"the answer to {call.label}"))
            return response.status_code, response.headers, body

    async def _image_exchange(self, url: str) -> Exchanged:
        current = check_image_url(url)
        for hops in range(self.limits.redirects + 1):
            async with self.cdn.stream("GET", current) as response:
                target = next_hop(response, current, hops, self.limits)
                if target is None:
                    cap = self.limits.image_bytes if response.is_success else _IMAGE_ERROR_CAP
                    body = await read_body(response, cap, f"image {current}"[:300])
                    return response.status_code, response.headers, body
            current = target
        raise AssertionError("unreachable")  # pragma: no cover - next_hop raises past the cap

    def _image_exchange_sync(self, pool: httpx.Client, url: str) -> Exchanged:
        deadline = time.monotonic() + self.limits.download_seconds
        current = check_image_url(url)
        for hops in range(self.limits.redirects + 1):
            with pool.stream("GET", current) as response:
                target = next_hop(response, current, hops, self.limits)
                if target is None:
                    cap = self.limits.image_bytes if response.is_success else _IMAGE_ERROR_CAP
                    body = read_body_sync(response, cap, f"image {current}"[:300], deadline)
                    return response.status_code, response.headers, body
            if time.monotonic() > deadline:
                raise TimeoutError(current)
            current = target
        raise AssertionError("unreachable")  # pragma: no cover - next_hop raises past the cap

    @staticmethod
    def _headers(call: Call) -> dict[str, str]:
        headers = dict(call.headers)
        if call.content is not None:
            headers.setdefault("Content-Type", "application/json")
        return headers

    def _fault(self, call: Call, exc: BaseException) -> Exception:
        """What a failed exchange means: ``_Again`` (another attempt may mend it) or the
        final error."""
        if call.image:
            where = f"downloading {call.url}"
            if isinstance(exc, _DEADLINE):
                return ImageDownloadError(
                    f"{where} took longer than {self.limits.download_seconds:g}s; stopped "
                    "(a stalled or very slow image host)", code="download_timeout", urls=(call.url,))
            if isinstance(exc, MalformedResponseError):  # an encoding it did not ask for, a broken one
                return ImageDownloadError(f"{where} failed: {exc.message}", code=exc.code, urls=(call.url,))
            error = ImageDownloadError(f"{where} failed: {type(exc).__name__}"
                                       + ("" if isinstance(exc, httpx.TransportError)
                                          else f": {redact(str(exc))}"),
                                       code="download_failed", urls=(call.url,))
            if isinstance(exc, httpx.TransportError):
                return _Again(error, dropped=not isinstance(exc, httpx.TimeoutException))
            return error  # protocol trouble that no retry will fix
        if isinstance(exc, _DEADLINE):
            return _Again(APITimeoutError(
                f"{call.label}: the answer's body did not arrive within {self.limits.answer_seconds:g}s "
                "(a stalled or trickling server)", task_id=call.task_id, code="answer_timeout"))
        if isinstance(exc, httpx.TimeoutException):
            return _Again(APITimeoutError(f"{call.label} timed out ({type(exc).__name__}); "
                                          "raise timeout= or check the network", task_id=call.task_id))
        if isinstance(exc, MalformedResponseError):  # too large, bad encoding: maybe a bad proxy
            exc.task_id = exc.task_id or call.task_id
            return _Again(exc)
        detail = redact(str(exc)) or "connection error"
        broken = NetworkError(f"{call.label} failed: {type(exc).__name__}: {detail}", task_id=call.task_id)
        return _Again(broken, dropped=True) if isinstance(exc, httpx.TransportError) else broken

    def _judge(self, call: Call, status: int, headers: httpx.Headers, body: bytes, attempt: int) -> Answer:
        """Read one complete answer: return it, or raise what it means (``_Again`` when
        another attempt may get a better one)."""
        request_id = headers.get(REQUEST_ID_HEADER)
        retry_after = parse_retry_after(headers.get("retry-after"))
        log.debug("%s -> %s (attempt %d)", call.label, status, attempt)
        if 200 <= status < 300:
            if call.image:
                check_image(body, self.limits, call.url, headers.get("content-type"))
                data: Any = body
            else:
                try:
                    data = parse_json(body, self.limits, f"the answer to {call.label} ({status})")
                except MalformedResponseError as exc:
                    exc.status, exc.request_id, exc.task_id = status, request_id, call.task_id
                    raise _Again(exc) from None
            return Answer(data, status, request_id, retry_after, attempt, SIMULATOR_HEADER in headers,
                          headers.get("etag"))
        if status == 304 and call.conditional:
            return Answer(None, status, request_id, retry_after, attempt, SIMULATOR_HEADER in headers,
                          headers.get("etag"))
        # A plain response over the bytes already read: error parsing stays one function.
        api_error = error_from_response(httpx.Response(status, headers=_plain(headers), content=body),
                                        task_id=None if call.image else call.task_id)
        error: Flux2Error = api_error
        if call.image:
            error = ImageDownloadError(f"downloading {call.url} failed: {api_error.message}", status=status,
                                       code=api_error.code, urls=(call.url,),
                                       retry_after=api_error.retry_after)
        if status in RETRYABLE_STATUSES:
            raise _Again(error)
        raise error

    # -- the synchronous image pool --------------------------------------------------
    def _sync_pool(self) -> _SyncPool:
        with self._sync_lock:
            if self.closed:  # a lazy read after close: a pool for this one read
                return _SyncPool(self, self._new_sync_pool(), close=True)
            if self._sync_cdn is None:
                self._sync_cdn = self._new_sync_pool()
            return _SyncPool(self, self._sync_cdn, close=False)

    def _new_sync_pool(self) -> httpx.Client:
        return httpx.Client(timeout=self._timeout, limits=self._pool_limits, verify=self._verify,
                            headers={"User-Agent": self._agent}, follow_redirects=False)


class _SyncPool:
    """The pool one ``send_sync`` uses: the transport's shared one, or one of its own
    (closed after it) when the client was closed before or during the read."""

    def __init__(self, transport: Transport, pool: httpx.Client, *, close: bool) -> None:
        self._transport, self._pool, self._close = transport, pool, close

    def current(self) -> httpx.Client:
        if self._pool.is_closed:  # the client closed between two attempts
            self._pool, self._close = self._transport._new_sync_pool(), True
        return self._pool

    def __enter__(self) -> _SyncPool:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._close:
            self._pool.close()
