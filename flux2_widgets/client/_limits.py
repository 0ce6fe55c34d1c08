"""Limits on what a server may make the client do, and how many tasks it lets us run.

Nothing a server sends is trusted before it is measured: bodies are streamed and
counted *after* decompression (so a small gzip bomb cannot grow into gigabytes),
cut off at a byte cap and a total deadline (so a 1-byte-a-second body ends),
JSON is parsed under a depth cap (so deep nesting is an error, not a
``RecursionError``), images are sniffed and their pixel count read from the
header before anything decodes them, and redirects are followed by hand so an
intermediate hop's body is never read.

``AdaptiveLimit`` is the other half: how many tasks the service lets this client
have in flight is learned from its 429s (shrink to what it accepted) and probed
again on success (grow back one slot at a time).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import io
import json
import sys
import time
import warnings
import zlib
from collections.abc import AsyncIterator, Awaitable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urljoin

import httpx

from .._checks import check_number
from .._formats import sniff_format
from ..catalog import url_problem
from ..errors import ImageDownloadError, MalformedResponseError

T = TypeVar("T")

if sys.version_info >= (3, 11):
    async def within(seconds: float, work: Awaitable[T]) -> T:
        """``await work`` or ``asyncio.TimeoutError`` after ``seconds``. Not ``wait_for``: on
        3.10-3.11 it swallows a cancel that lands as the work finishes, so Stop would leave a
        task polling; ``asyncio.timeout`` lets our own cancellation through."""
        async with asyncio.timeout(seconds):
            return await work
else:  # pragma: no cover - Python 3.10 has no asyncio.timeout
    async def within(seconds: float, work: Awaitable[T]) -> T:
        return await asyncio.wait_for(work, seconds)

__all__ = ["ResponseLimits", "AdaptiveLimit", "read_body", "read_body_sync", "parse_json", "check_image",
           "check_image_url", "next_hop", "current_slot", "check_number"]

_MiB = 1024 * 1024


@dataclass(frozen=True)
class ResponseLimits:
    """Caps on what one answer may cost. The defaults leave room for any real Flux 2
    result (a 2k PNG is at most ~13 MB and ~4.2 MP) and stop everything far beyond."""

    #: Decoded size of one API (JSON) answer.
    json_bytes: int = 4 * _MiB
    #: Nesting depth of one API answer (a task answer is 4 deep).
    json_depth: int = 64
    #: Decoded size of one image download.
    image_bytes: int = 32 * _MiB
    #: Width x height of one image, read from its header before any decoding.
    image_pixels: int = 4096 * 4096
    #: Seconds one image download may take from first byte asked to last byte read.
    download_seconds: float = 120.0
    #: Seconds reading one API answer's body may take (a trickle never ends otherwise).
    answer_seconds: float = 60.0
    #: Redirect hops an image URL may take.
    redirects: int = 5

    def __post_init__(self) -> None:
        for name in ("json_bytes", "json_depth", "image_bytes", "image_pixels"):
            check_number(f"limits.{name}", getattr(self, name), minimum=1, strict=False, integer=True)
        check_number("limits.download_seconds", self.download_seconds)
        check_number("limits.answer_seconds", self.answer_seconds)
        check_number("limits.redirects", self.redirects, strict=False, integer=True, maximum=50)


# -- bodies ------------------------------------------------------------------------------
_CHUNK = 256 * 1024


class _Decoder:
    """Content-Encoding decoding with a bound on every step's output."""

    def __init__(self, encoding: str, what: str) -> None:
        codings = [c.strip().lower() for c in encoding.split(",") if c.strip()]
        codings = [c for c in codings if c != "identity"]
        if len(codings) > 1 or (codings and codings[0] not in ("gzip", "x-gzip", "deflate")):
            raise MalformedResponseError(
                f"{what} came with Content-Encoding {encoding!r}, which this client did not ask for",
                code="bad_encoding")
        self.what = what
        self._zlib: Any = None
        self._deflate = bool(codings) and codings[0] == "deflate"
        if codings:
            self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS if not self._deflate else zlib.MAX_WBITS)

    def feed(self, data: bytes) -> Iterator[bytes]:
        if self._zlib is None:
            yield data
            return
        try:
            while data:
                out = self._zlib.decompress(data, _CHUNK)
                data = self._zlib.unconsumed_tail
                if out:
                    yield out
                elif self._zlib.eof:
                    return
        except zlib.error as exc:
            if self._deflate and not getattr(self, "_retried", False):
                # Some servers send raw deflate without the zlib header.
                self._retried = True
                self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
                yield from self.feed(data)
                return
            raise MalformedResponseError(f"{self.what} is not valid compressed data: {exc}",
                                         code="bad_encoding") from None


class _Body:
    """One response body being read: decoded, counted, refused past ``cap`` bytes.
    The async and the sync reader feed it the raw chunks, so both apply one rule."""

    def __init__(self, response: httpx.Response, cap: int, what: str) -> None:
        declared = response.headers.get("content-length", "")
        if not response.headers.get("content-encoding") and declared.isdigit() and int(declared) > cap:
            raise _too_big(what, cap, f"announced {int(declared):,} bytes")
        self.cap, self.what = cap, what
        self._decoder = _Decoder(response.headers.get("content-encoding", ""), what)
        self._buffer = io.BytesIO()

    def feed(self, raw: bytes) -> None:
        for piece in self._decoder.feed(raw):
            if self._buffer.tell() + len(piece) > self.cap:
                raise _too_big(self.what, self.cap, "sent more")
            self._buffer.write(piece)

    def value(self) -> bytes:
        return self._buffer.getvalue()


async def read_body(response: httpx.Response, cap: int, what: str) -> bytes:
    """Read a streamed response's body, decoded, refusing it past ``cap`` bytes.
    Memory stays near ``cap`` whatever the server sends (compressed or not)."""
    body = _Body(response, cap, what)
    async for raw in response.aiter_raw():
        body.feed(raw)
    return body.value()


def read_body_sync(response: httpx.Response, cap: int, what: str, deadline: float) -> bytes:
    """``read_body`` for a sync stream, with the deadline (``time.monotonic``) checked as
    each chunk arrives (a stall between chunks ends at the pool's read timeout).
    Raises the builtin ``TimeoutError`` past it, as ``within`` does."""
    body = _Body(response, cap, what)
    for raw in response.iter_raw():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        body.feed(raw)
    return body.value()


def _too_big(what: str, cap: int, detail: str) -> Exception:
    error = ImageDownloadError if what.startswith("image") else MalformedResponseError
    return error(f"{what} is larger than the {cap:,}-byte limit ({detail}); stopped reading",
                 code="too_large")


def parse_json(body: bytes, limits: ResponseLimits, what: str) -> Any:
    """Parse an API answer; nesting past ``limits.json_depth`` is refused."""
    try:
        data = json.loads(body)
    except RecursionError:
        raise MalformedResponseError(f"{what} is JSON nested too deeply to read",
                                     code="too_deep") from None
    except ValueError:
        raise MalformedResponseError(f"{what} is not JSON: {body[:80]!r}", code="not_json") from None
    # Walk without recursion: later code (redaction, sidecars) must not meet depth it can't take.
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limits.json_depth:
            raise MalformedResponseError(
                f"{what} is JSON nested more than {limits.json_depth} levels deep", code="too_deep")
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node)
    return data


# -- images ------------------------------------------------------------------------------
def _describe(data: bytes, content_type: str | None) -> str:
    head = data[:512].lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html")) or b"<html" in head:
        kind = "an HTML page"
    elif head.startswith((b"{", b"[")):
        kind = "JSON"
    elif not data:
        kind = "an empty body"
    else:
        kind = f"{len(data):,} bytes that are not PNG, JPEG or WebP (starting {data[:8]!r})"
    return f"{kind}{f' (Content-Type {content_type})' if content_type else ''}"


def check_image(data: bytes, limits: ResponseLimits, url: str, content_type: str | None = None) -> str:
    """Return the format of ``data`` or raise ``ImageDownloadError`` saying what it is.
    Reads only the header: an absurd pixel count is refused before any decoding."""
    fmt = sniff_format(data)
    if fmt is None:
        raise ImageDownloadError(f"the image URL {url} returned {_describe(data, content_type)}, "
                                 "not an image", code="not_an_image")
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                width, height = img.size
    except Image.DecompressionBombError as exc:
        raise ImageDownloadError(f"the image at {url} claims an absurd pixel count ({exc})",
                                 code="too_many_pixels") from None
    except Exception as exc:  # PIL raises many kinds for broken headers
        raise ImageDownloadError(f"the image at {url} looks like {fmt.upper()} but its header is broken "
                                 f"({type(exc).__name__}: {exc})", code="broken_image") from None
    if width * height > limits.image_pixels or width < 1 or height < 1:
        raise ImageDownloadError(
            f"the image at {url} is {width}x{height} pixels; more than the {limits.image_pixels:,}-pixel "
            "limit, so it was not decoded", code="too_many_pixels")
    return fmt


def check_image_url(url: Any) -> str:
    """``url`` if an image may be fetched from it (the catalog's URL rule), else
    ``ImageDownloadError``: a redirect to ``file:`` or to a mangled address ends here."""
    if url_problem(url) is not None:
        raise ImageDownloadError(f"the image URL {str(url)[:200]!r} is not an http(s) URL",
                                 code="bad_url", urls=(str(url)[:2000],))
    return str(url).strip()


def next_hop(response: httpx.Response, url: str, hops: int, limits: ResponseLimits) -> str | None:
    """Where a redirect answer sends an image request (checked), ``None`` if it is not one."""
    if response.status_code not in (301, 302, 303, 307, 308):
        return None
    location = response.headers.get("location")
    if not location:
        raise ImageDownloadError(f"the image URL {url} redirected ({response.status_code}) nowhere",
                                 code="bad_redirect")
    if hops >= limits.redirects:
        raise ImageDownloadError(
            f"the image URL redirected more than {limits.redirects} times (last to {location[:200]}); "
            "a redirect loop or a broken CDN", code="too_many_redirects")
    return check_image_url(urljoin(url, location))


# -- concurrency -------------------------------------------------------------------------
_SLOT: contextvars.ContextVar[AdaptiveLimit | None] = contextvars.ContextVar("flux2_slot", default=None)


def current_slot() -> AdaptiveLimit | None:
    """The limiter whose slot the running task holds while it creates a task, if any.
    The transport asks for it on a 429 so the wait is spent queueing for a freed slot
    instead of sleeping blind."""
    return _SLOT.get()


class AdaptiveLimit:
    """How many tasks this client lets be in flight (created, not yet seen finished).

    Starts at ``ceiling`` (no limit in practice). A 429 on create means the service
    holds as many of ours as it will: the limit drops to the number it accepted (the
    others holding slots). Every task seen finishing while all slots were busy adds
    ``1/limit`` (one slot per ``limit`` such successes), so the limit creeps back and a
    probe that is refused costs one POST and no waiting: the refused task simply queues
    for the next free slot.
    Used from one event loop only (each loop has its own client)."""

    def __init__(self, ceiling: int = 64) -> None:
        self.ceiling = ceiling
        self.limit = float(ceiling)
        self.active = 0
        self.shrinks = 0
        self._waiters: list[asyncio.Future[None]] = []

    def __repr__(self) -> str:
        return f"AdaptiveLimit(limit={self.limit:.2f}, active={self.active})"

    async def acquire(self) -> None:
        while self.active >= max(1, int(self.limit)):
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            finally:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
        self.active += 1

    def release(self, ok: bool) -> None:
        # Grow only when the limit was what held us back (every slot busy): a limit
        # never reached says nothing about what the service would take.
        at_limit = self.active >= int(self.limit)
        self.active -= 1
        if ok and at_limit:
            self.limit = min(float(self.ceiling), self.limit + 1.0 / max(1.0, self.limit))
        self._wake()

    def _wake(self) -> None:
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def refused(self, retry_after: float | None) -> None:
        """Called by a slot holder whose create got a 429: shrink to what the service
        accepted, give the slot back, take one again when capacity returns."""
        self.active -= 1
        self.limit = float(max(1, min(int(self.limit), self.active)))
        self.shrinks += 1
        self._wake()
        try:
            if not self.active:
                # None of ours is running, so nothing of ours will free capacity: only the
                # server's hint is left. With others running, acquire() waits for one to end.
                await asyncio.sleep(retry_after if retry_after is not None else 1.0)
            await self.acquire()
        except BaseException:
            self.active += 1  # cancelled while not holding: the caller's slot still releases once
            raise

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[_Slot]:
        await self.acquire()
        held = _Slot(self)
        try:
            yield held
        finally:
            held.release(False)


class _Slot:
    def __init__(self, limit: AdaptiveLimit) -> None:
        self.limit = limit
        self.held = True

    @contextlib.contextmanager
    def creating(self) -> Iterator[None]:
        """Mark the create call made inside as this slot's, for the transport's 429s."""
        token = _SLOT.set(self.limit)
        try:
            yield
        finally:
            _SLOT.reset(token)

    def release(self, ok: bool) -> None:
        if self.held:
            self.held = False
            self.limit.release(ok)
