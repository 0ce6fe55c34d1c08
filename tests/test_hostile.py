"""A server that misbehaves the way broken proxies, CDNs and APIs do, one mode per test.

The hostile server is its own small starlette app under uvicorn on 127.0.0.1:0 (not
the simulator: the simulator is well-behaved by design). A task's mode is chosen by
its prompt, ``"hostile <mode>"``; the task id is the mode, so the status route knows
what to answer. Every test asserts the outcome is a typed ``Flux2Error`` saying what
the server did (never a raw exception), within a bounded time and memory, and that a
completed task is never lost.
"""

from __future__ import annotations

import asyncio
import gzip
import io
import json
import struct
import time
import tracemalloc
import zlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from conftest import ROOT, SECRET_KEY
from PIL import Image
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from flux2_widgets import (
    APITimeoutError,
    AsyncFlux2Client,
    Flux2Error,
    Generation,
    ImageDownloadError,
    MalformedResponseError,
    PollPolicy,
    RateLimitError,
    ResponseLimits,
    ResultStore,
    UnknownStatusError,
)
from flux2_widgets.simulator._server import ServerThread, bind

MiB = 1024 * 1024


def _png(width: int = 48, height: int = 32) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 80, 40)).save(buffer, "PNG")
    return buffer.getvalue()


def _png_header(width: int, height: int) -> bytes:
    """A PNG that claims ``width`` x ``height`` pixels in a few dozen bytes."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b""))
            + chunk(b"IEND", b""))


def _gzip_bomb(prefix: bytes, size: int) -> bytes:
    """``prefix`` + ``size`` zero bytes, gzipped: a small body that inflates to ``size``."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    parts = [packer.compress(prefix)]
    block = bytes(MiB)
    for _ in range(size // MiB):
        parts.append(packer.compress(block))
    parts.append(packer.flush())
    return b"".join(parts)


class Hostile:
    """The misbehaving API + image host, and what it saw."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str]] = []
        #: (path, the client's port) of each request: which connection it came over.
        self.peers: list[tuple[str, int | None]] = []
        #: What a path does the next times it is asked, before its normal answer:
        #: "drop" (the connection breaks mid-answer), "503", "huge" (a body past any small cap).
        self.plan: dict[str, list[str]] = {}
        self.fixed = False  # images become fine (for resume)
        self.png = _png()
        self._bombs: dict[str, bytes] = {}
        self.url = ""
        self._server: ServerThread | None = None

    def bomb(self, name: str) -> bytes:
        if name not in self._bombs:
            if name == "json":
                self._bombs[name] = _gzip_bomb(b'{"id": "bomb", "status": "completed", "pad": "', 256 * MiB)
            else:
                self._bombs[name] = _gzip_bomb(b"\x89PNG\r\n\x1a\n", 256 * MiB)
        return self._bombs[name]

    # -- API origin ----------------------------------------------------------------
    async def create(self, request: Request) -> Response:
        body = json.loads(await request.body())
        mode = body["prompt"].split(" ", 1)[1]
        if mode == "retry-after":
            return JSONResponse({"error": {"code": "rate_limited", "message": "slow down"}}, 429,
                                headers={"Retry-After": "3600"})
        if mode == "create-status0":
            return JSONResponse({"id": mode, "status": 0})
        return JSONResponse({"id": mode, "status": "pending"})

    async def status(self, request: Request) -> Response:
        mode = request.path_params["task_id"]
        if mode.startswith("img-"):
            images = [{"url": f"{self.url}/img/{name}"} for name in mode[4:].split(":")]
            return JSONResponse({"id": mode, "status": "completed", "images": images,
                                 "usage": {"cost": 0.05 * len(images), "generated_images": len(images)}})
        answers: dict[str, Any] = {
            "status0": {"id": mode, "status": 0},
            "status-null": {"id": mode, "status": None},
            "unknown": {"id": mode, "status": "queued_forever"},
            "images-string": {"id": mode, "status": "completed", "images": "http://x.test/a.png"},
            "cost-string": {"id": mode, "status": "completed", "images": [{"url": f"{self.url}/img/ok"}],
                            "usage": {"cost": "free"}},
            "file-url": {"id": mode, "status": "completed", "images": [{"url": "file:///etc/passwd"}]},
            "id-list": {"id": ["a"], "status": "completed"},
        }
        if mode in answers:
            return JSONResponse(answers[mode])
        if mode == "deep":
            return Response(b"[" * 200_000 + b"]" * 200_000, media_type="application/json")
        if mode == "deep-ok":  # nested well below Python's recursion limit, above the client's cap
            nested = b"[" * 200 + b"]" * 200
            return Response(b'{"id": "deep-ok", "status": "completed", "x": ' + nested + b"}",
                            media_type="application/json")
        if mode == "huge":
            return StreamingResponse(self._huge_json(64 * MiB), media_type="application/json")
        if mode == "bomb":
            return Response(self.bomb("json"), media_type="application/json",
                            headers={"Content-Encoding": "gzip"})
        if mode == "stall":
            return StreamingResponse(self._trickle(b'{"id": "stall", "status": "pending"' + b" " * 10_000),
                                     media_type="application/json")
        if mode == "html":
            return HTMLResponse("<html><body>maintenance</body></html>")
        if mode == "deep-error":  # a 400 whose body is nested past Python's recursion limit
            return Response(b'{"error": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", 400,
                            media_type="application/json")
        if mode == "deep-error-ok":  # parses, but nested past the cap
            return Response(b'{"error": {"message": ' + b"[" * 300 + b"]" * 300 + b"}}", 400,
                            media_type="application/json")
        if mode == "redirect":  # an API answer must never send the key elsewhere
            return RedirectResponse("http://127.0.0.2:9/steal", 302)
        if mode == "many-images":  # a task makes one image; this answer lists 3,000
            images = [{"url": f"{self.url}/img/ok?n={i}"} for i in range(3000)]
            return JSONResponse({"id": mode, "status": "completed", "images": images,
                                 "usage": {"cost": 0.05, "generated_images": 3000}})
        if mode == "no-images":  # completed (billed), but no URL until the service is fixed
            images = [{"url": f"{self.url}/img/ok"}] if self.fixed else []
            return JSONResponse({"id": mode, "status": "completed", "images": images,
                                 "usage": {"cost": 0.05, "generated_images": len(images)}})
        if mode == "gzip-ok":
            body = {"id": mode, "status": "completed", "images": [{"url": f"{self.url}/img/ok"}],
                    "usage": {"cost": 0.05, "generated_images": 1}}
            return Response(gzip.compress(json.dumps(body).encode()), media_type="application/json",
                            headers={"Content-Encoding": "gzip"})
        return JSONResponse({"error": "no such mode"}, 404)

    # -- the account routes: prices, quotes, balance, files --------------------------
    @staticmethod
    def _planned(request: Request, normal: dict[str, Any], **headers: str) -> Response:
        behaviour = request.scope.get("hostile_behaviour")
        if behaviour == "503":
            return JSONResponse({"error": "busy, try again"}, 503)
        if behaviour == "huge":  # valid JSON, just far past a small json_bytes cap
            return JSONResponse({**normal, "pad": "x" * 300_000}, headers=headers)
        return JSONResponse(normal, headers=headers)

    async def schedules(self, request: Request) -> Response:
        if request.headers.get("if-none-match") == '"v1"' and not request.scope.get("hostile_behaviour"):
            return Response(status_code=304, headers={"ETag": '"v1"'})
        schedule = {"service": "flux_2", "action": "text_to_image", "model": "flux-2-pro-text-to-image",
                    "pricing_status": "available", "catalog_status": "active", "currency": "USD",
                    "billing_unit": "call", "unit_price_cents": 9,
                    "billing_config": {"key": "output_resolution", "overrides": {"1k": 9, "2k": 11}}}
        return self._planned(request, {"as_of": "2025-01-01", "price_schedules": [schedule]}, ETag='"v1"')

    async def quotes(self, request: Request) -> Response:
        return self._planned(request, {"price_quote": {"reservation_amount_cents": 9, "currency": "USD",
                                                       "pricing_status": "available"}})

    async def balance(self, request: Request) -> Response:
        return self._planned(request, {"balance_cents": 1234, "paid_balance_cents": 1234,
                                       "bonus_balance_cents": 0, "spent_cents_today": 0,
                                       "spent_cents_total": 0})

    async def files(self, request: Request) -> Response:
        await request.body()
        return self._planned(request, {"file_name": "a.png", "url": f"{self.url}/img/ok", "size_bytes": 1,
                                       "mime_type": "image/png"})

    @staticmethod
    async def _huge_json(size: int) -> AsyncIterator[bytes]:
        yield b'{"id": "huge", "status": "completed", "pad": "'
        block = b"x" * MiB
        for _ in range(size // MiB):
            yield block
        yield b'"}'

    @staticmethod
    async def _trickle(data: bytes) -> AsyncIterator[bytes]:
        for i in range(len(data)):
            yield data[i:i + 1]
            await asyncio.sleep(0.05)

    # -- image origin --------------------------------------------------------------
    async def image(self, request: Request) -> Response:
        name = request.path_params["name"]
        if self.fixed or name in ("ok", "flaky"):
            return Response(self.png, media_type="image/png")
        if name == "loop":
            return RedirectResponse(f"{self.url}/img/loop", 302)
        if name == "to-file":
            return RedirectResponse("file:///etc/passwd", 302)
        if name == "html":
            return HTMLResponse("<!DOCTYPE html><html><title>Access denied</title></html>")
        if name == "bytes":
            return Response(bytes(range(256)) * 64, media_type="image/png")
        if name == "pixels":  # 10 gigapixels: Pillow's own bomb check
            return Response(_png_header(100_000, 100_000), media_type="image/png")
        if name == "pixels-mid":  # 25 MP: under Pillow's check, over the client's cap
            return Response(_png_header(5000, 5000), media_type="image/png")
        if name == "huge":
            return StreamingResponse(self._huge_png(300 * MiB), media_type="image/png")
        if name == "bomb":
            return Response(self.bomb("png"), media_type="image/png", headers={"Content-Encoding": "gzip"})
        if name == "slow":
            return StreamingResponse(self._trickle(self.png), media_type="image/png")
        if name == "brotli":
            return Response(self.png, media_type="image/png", headers={"Content-Encoding": "br"})
        return Response(b"gone", 404)

    @staticmethod
    async def _huge_png(size: int) -> AsyncIterator[bytes]:
        yield b"\x89PNG\r\n\x1a\n"
        block = bytes(MiB)
        for _ in range(size // MiB):
            yield block

    # -- lifecycle -----------------------------------------------------------------
    def start(self) -> Hostile:
        async def log(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] == "http":
                path = scope["path"]
                self.requests.append((scope["method"], path))
                self.peers.append((path, scope["client"][1] if scope.get("client") else None))
                planned = self.plan.get(path)
                behaviour = planned.pop(0) if planned else None
                if behaviour == "drop":
                    # Headers promise a body that never comes; uvicorn then closes the socket.
                    promised = [(b"content-type", b"application/json"), (b"content-length", b"64")]
                    await send({"type": "http.response.start", "status": 200, "headers": promised})
                    raise ConnectionAbortedError(f"hostile drop of {path}")
                scope = {**scope, "hostile_behaviour": behaviour}
            await app(scope, receive, send)

        app = Starlette(routes=[
            Route("/api/v1/flux_2/text_to_image", self.create, methods=["POST"]),
            Route("/api/v1/flux_2/text_to_image/{task_id}", self.status, methods=["GET"]),
            Route("/api/v1/price_schedules", self.schedules, methods=["GET"]),
            Route("/api/v1/price_quotes", self.quotes, methods=["POST"]),
            Route("/api/v1/me/balance", self.balance, methods=["GET"]),
            Route("/api/v1/files", self.files, methods=["POST"]),
            Route("/img/{name}", self.image, methods=["GET"]),
        ])
        sock = bind("127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        self._server = ServerThread([(log, sock)])
        self._server.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()

    def count(self, method: str, prefix: str = "") -> int:
        return sum(1 for m, p in self.requests if m == method and p.startswith(prefix))


@pytest.fixture(scope="module")
def hostile_server() -> Iterator[Hostile]:
    server = Hostile().start()
    yield server
    server.stop()


@pytest.fixture
def hostile(hostile_server: Hostile) -> Hostile:
    hostile_server.requests.clear()
    hostile_server.peers.clear()
    hostile_server.plan.clear()
    hostile_server.fixed = False
    return hostile_server


def client_for(server: Hostile, **options: Any) -> AsyncFlux2Client:
    options.setdefault("retry_base_delay", 0.01)
    options.setdefault("max_retries", 1)
    options.setdefault("poll", PollPolicy(first=0.02, min_interval=0.01))
    return AsyncFlux2Client(SECRET_KEY, base_url=server.url, **options)


def outcome(server: Hostile, mode: str, **options: Any) -> BaseException:
    """Run ``generate("hostile <mode>")``; return what it raised (it must raise)."""
    async def main() -> None:
        async with client_for(server, **options) as client:
            await client.generate(f"hostile {mode}")

    with pytest.raises(BaseException) as info:
        asyncio.run(asyncio.wait_for(main(), 60))
    return info.value


def typed(exc: BaseException, kind: type[Flux2Error], *words: str) -> Flux2Error:
    assert isinstance(exc, kind), f"expected {kind.__name__}, got {type(exc).__name__}: {exc!r}"
    text = str(exc)
    for word in words:
        assert word in text, f"{word!r} not in {text!r}"
    return exc


# -- answers of the API ------------------------------------------------------------------
def test_status_0_is_an_error_at_once_not_pending(hostile):
    exc = typed(outcome(hostile, "status0"), MalformedResponseError, "status 0", "pending")
    assert exc.task_id == "status0" and exc.code == "bad_status"
    assert hostile.count("GET", "/api") == 1  # not polled until a timeout


def test_a_null_status_and_a_create_answer_with_status_0_are_errors(hostile):
    typed(outcome(hostile, "status-null"), MalformedResponseError, "status None")
    typed(outcome(hostile, "create-status0"), MalformedResponseError, "status 0")
    assert hostile.count("GET", "/api") == 1


def test_an_unknown_status_is_an_error_at_once(hostile):
    exc = typed(outcome(hostile, "unknown"), UnknownStatusError, "unknown status", "queued_forever")
    assert exc.code == "unknown_status" and hostile.count("GET", "/api") == 1


@pytest.mark.parametrize(("mode", "words"), [
    ("images-string", ("images that are not a list",)),
    ("cost-string", ("cost that is not an amount", "'free'")),
    ("file-url", ("not an http(s) URL", "file:///etc/passwd")),
    ("id-list", ("no 'id'",)),
])
def test_fields_of_the_wrong_type_are_refused(hostile, mode, words):
    typed(outcome(hostile, mode), MalformedResponseError, *words)
    assert hostile.count("GET", "/img") == 0


def test_json_nested_deeper_than_python_can_parse(hostile):
    exc = typed(outcome(hostile, "deep"), MalformedResponseError, "nested too deeply")
    assert exc.code == "too_deep"


def test_json_nested_deeper_than_the_cap(hostile):
    typed(outcome(hostile, "deep-ok"), MalformedResponseError, "more than 64 levels")


def test_a_huge_json_body_is_cut_off_at_the_cap(hostile):
    tracemalloc.start()
    try:
        exc = typed(outcome(hostile, "huge"), MalformedResponseError, "4,194,304-byte limit")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert exc.code == "too_large"
    assert peak < 48 * MiB, f"peak {peak / MiB:.1f} MiB for a 64 MiB answer"


def test_a_gzip_bomb_answer_is_counted_after_decoding(hostile):
    tracemalloc.start()
    try:
        typed(outcome(hostile, "bomb"), MalformedResponseError, "larger than", "limit")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 48 * MiB, f"peak {peak / MiB:.1f} MiB for a 256 MiB bomb"


def test_a_trickling_answer_ends_at_the_deadline(hostile):
    limits = ResponseLimits(answer_seconds=0.5)
    started = time.monotonic()
    exc = typed(outcome(hostile, "stall", limits=limits, max_retries=0), APITimeoutError,
                "did not arrive within 0.5s")
    assert exc.task_id == "stall" and time.monotonic() - started < 20


def test_an_api_redirect_is_an_error_not_followed(hostile):
    from flux2_widgets import APIError

    exc = typed(outcome(hostile, "redirect"), APIError)
    assert exc.status == 302 and exc.task_id == "redirect"


@pytest.mark.parametrize("mode", ["deep-error", "deep-error-ok"])
def test_a_deeply_nested_error_body_is_still_a_typed_error(hostile, mode):
    from flux2_widgets import BadRequestError

    exc = typed(outcome(hostile, mode), BadRequestError)
    assert exc.status == 400 and exc.task_id == mode


def test_an_html_page_instead_of_json(hostile):
    typed(outcome(hostile, "html"), MalformedResponseError, "not JSON")


def test_retry_after_an_hour_raises_at_once_with_the_time(hostile):
    started = time.monotonic()
    exc = typed(outcome(hostile, "retry-after"), RateLimitError, "3,600s", "max_retry_after=60s")
    assert exc.retry_after == pytest.approx(3600) and hostile.count("POST") == 1
    assert time.monotonic() - started < 20  # not slept on


def test_retry_after_within_the_patience_is_waited_out(make_sim):
    sim = make_sim(latency=0.05)
    sim.inject("429", times=2, on="post", retry_after=0.05)

    async def main() -> Generation:
        async with AsyncFlux2Client(SECRET_KEY, base_url=sim.url, max_retries=0) as client:
            return await client.generate("patient with rate limits, impatient with faults")

    gen = asyncio.run(main())
    # max_retries=0 gives faults no second try, yet rate limits have their own patience.
    assert gen.image.format == "png" and sim.stats.tasks_created == 1


def test_a_503_asking_for_an_hour_raises_at_once(make_sim):
    from flux2_widgets import ServerError

    sim = make_sim(latency=0.05)
    sim.inject("503", times=3, on="post", retry_after=3600)

    async def main() -> None:
        async with AsyncFlux2Client(SECRET_KEY, base_url=sim.url, max_retry_after=30) as client:
            await client.generate("a service down for maintenance")

    with pytest.raises(ServerError, match=r"3,600s .*max_retry_after=30s"):
        asyncio.run(main())
    assert sim.count("POST") == 1


# -- images ------------------------------------------------------------------------------
@pytest.mark.parametrize(("image", "code", "words"), [
    ("loop", "too_many_redirects", ("redirected more than 5 times",)),
    ("html", "not_an_image", ("an HTML page", "text/html")),
    ("bytes", "not_an_image", ("not PNG, JPEG or WebP",)),
    ("pixels", "too_many_pixels", ("pixel count",)),
    ("pixels-mid", "too_many_pixels", ("5000x5000",)),
    ("brotli", "bad_encoding", ("Content-Encoding 'br'",)),
    ("to-file", "bad_url", ("'file:///etc/passwd' is not an http(s) URL",)),
])
def test_a_bad_image_is_a_typed_error_and_the_task_is_kept(hostile, tmp_path, image, code, words):
    store = ResultStore(tmp_path)
    exc = typed(outcome(hostile, f"img-{image}", store=store), ImageDownloadError,
                "completed (and is billed)", *words)
    assert exc.code == code and exc.task_id == f"img-{image}"
    assert exc.urls == (f"{hostile.url}/img/{image}",)
    (kept,) = store.undelivered()
    assert kept.id == exc.task_id and kept.image_urls == exc.urls and store.pending() == []
    if image == "loop":
        assert hostile.count("GET", "/img/loop") == 6  # the first ask and 5 hops, no more


def test_a_huge_image_stops_at_the_byte_cap_with_bounded_memory(hostile):
    tracemalloc.start()
    try:
        exc = typed(outcome(hostile, "img-huge"), ImageDownloadError, "33,554,432-byte limit")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    print(f"peak traced memory on a 300 MiB image: {peak / MiB:.1f} MiB")
    assert exc.code == "too_large" and peak < 80 * MiB


def test_a_gzip_bomb_image_is_counted_after_decoding(hostile):
    tracemalloc.start()
    try:
        typed(outcome(hostile, "img-bomb"), ImageDownloadError, "33,554,432-byte limit")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 80 * MiB


def test_a_slow_image_ends_at_the_download_deadline(hostile):
    limits = ResponseLimits(download_seconds=0.5)
    exc = typed(outcome(hostile, "img-slow", limits=limits), ImageDownloadError, "longer than 0.5s")
    assert exc.code == "download_timeout"


def test_one_bad_image_never_costs_the_batch_and_resume_fetches_it_later(hostile, tmp_path):
    store = ResultStore(tmp_path)
    modes = ["img-ok", "img-html", "img-loop", "img-pixels", "status0", "img-bytes"]

    async def main() -> tuple[list[Any], list[Any]]:
        async with client_for(hostile, store=store) as client:
            first = await client.generate_many([f"hostile {m}" for m in modes])
            hostile.fixed = True
            again = await client.resume()
            return first, again

    first, again = asyncio.run(main())
    assert isinstance(first[0], Generation) and first[0].image.format == "png"
    assert all(isinstance(r, Flux2Error) for r in first[1:])
    assert [type(r).__name__ for r in first[1:]] == ["ImageDownloadError"] * 3 + [
        "MalformedResponseError", "ImageDownloadError"]
    # The four completed-but-undelivered tasks are fetched again from their kept URLs;
    # the malformed one stays pending (resume polled it again and got the same answer).
    delivered = sorted(g.id for g in again if isinstance(g, Generation))
    assert delivered == sorted(["img-html", "img-loop", "img-pixels", "img-bytes"])
    assert store.undelivered() == []
    assert [t.id for t in store.pending()] == ["status0"]


def test_a_comparison_keeps_the_good_side_when_the_other_image_is_html(hostile):
    from flux2_widgets import Flux2Client, compare_prompts

    client = Flux2Client(SECRET_KEY, base_url=hostile.url, retry_base_delay=0.01,
                         poll=PollPolicy(first=0.02, min_interval=0.01))
    try:
        cmp = compare_prompts("hostile img-ok", "hostile img-html", client=client).wait(timeout=60)
    finally:
        client.close()
    good, bad = cmp.cells
    assert good.ok and good.result is not None and good.result.image.format == "png"
    assert isinstance(bad.error, ImageDownloadError) and "an HTML page" in str(bad.error)
    assert bad.status == "failed"


def test_an_expired_image_url_is_reported_once_and_not_tried_again(hostile, tmp_path):
    store = ResultStore(tmp_path)

    async def main() -> tuple[Any, Any, Any]:
        async with client_for(hostile, store=store) as client:
            with pytest.raises(ImageDownloadError):
                await client.generate("hostile img-html")
            (kept,) = store.undelivered()
            kept.observed_at -= 8 * 24 * 3600  # completed eight days ago
            store.record_undelivered(kept, RuntimeError("still html"), client.base_url)
            downloads = hostile.count("GET", "/img")
            first = await client.resume()
            return first, downloads, await client.resume()

    (expired,), downloads, second = asyncio.run(main())
    typed(expired, ImageDownloadError, "expired")
    assert hostile.count("GET", "/img") == downloads  # nothing fetched for an expired URL
    assert second == [] and store.undelivered() == []


def test_largest_hostile_answer_peak_memory_is_reported(hostile, capsys):
    """The figure for the report: peak traced memory while refusing each big answer."""
    peaks = {}
    for mode in ("huge", "bomb", "img-huge", "img-bomb"):
        tracemalloc.start()
        try:
            assert isinstance(outcome(hostile, mode), Flux2Error)
            peaks[mode] = tracemalloc.get_traced_memory()[1] / MiB
        finally:
            tracemalloc.stop()
    with capsys.disabled():
        print("\npeak MiB:", {k: round(v, 1) for k, v in peaks.items()})
    assert max(peaks.values()) < 80


def test_compressed_answers_within_the_caps_are_read(hostile):
    # The caps count decoded bytes; they are not a refusal of compression.
    async def main() -> Generation:
        async with client_for(hostile) as client:
            return await client.generate("hostile gzip-ok")

    gen = asyncio.run(main())
    assert gen.image.format == "png" and gen.image.size == (48, 32) and gen.cost == 0.05


def test_simulator_in_flight_limit_and_fault_rates(make_sim):
    import httpx

    sim = make_sim(latency=0.4).limit_in_flight(2, retry_after=0.5)
    body = {"model": "flux-2-pro-text-to-image", "prompt": "a slot please"}
    with httpx.Client(base_url=sim.url, headers={"Authorization": "Bearer k"}) as api:
        codes = [api.post("/api/v1/flux_2/text_to_image", json=body,
                          headers={"Idempotency-Key": f"key-{i}"}) for i in range(3)]
        replay = api.post("/api/v1/flux_2/text_to_image", json=body, headers={"Idempotency-Key": "key-0"})
    assert [r.status_code for r in codes] == [200, 200, 429]
    assert codes[2].headers["Retry-After"] == "0.5" and "2 at once" in codes[2].json()["error"]["message"]
    # A replay answers the task it made; it is not a new task.
    assert replay.status_code == 200 and replay.json()["id"] == codes[0].json()["id"]
    assert sim.stats.tasks_created == 2

    sim.reset()  # lifts the limit too
    sim.inject("500", times=10**6, rate=0.25, on="get")
    with httpx.Client(base_url=sim.url) as api:
        statuses = [api.get("/api/v1/me/balance", headers={"Authorization": "Bearer k"}).status_code
                    for _ in range(200)]
    assert 20 <= statuses.count(500) <= 80 and statuses.count(200) == 200 - statuses.count(500)
    with pytest.raises(ValueError, match="probability"):
        sim.inject("drop", rate=1.5)


# -- a rate-limit storm ------------------------------------------------------------------
def test_storm_every_task_delivered_once_and_charged_once(make_sim):
    """50 tasks, a key allowed 4 in flight (429 beyond), 5% of connections dropped (some
    after the server did the work). Speed is measured in benchmarks/bench_storm.py."""
    import sys

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench_storm import storm

    sim = storm(make_sim(latency=0.15, seed=3))

    async def main() -> tuple[list[Any], Any]:
        async with AsyncFlux2Client(SECRET_KEY, base_url=sim.url) as client:
            results = await client.generate_many([f"storm prompt {i}" for i in range(50)])
            return results, client.in_flight

    results, limit = asyncio.run(main())
    stats = sim.stats
    delivered = [r for r in results if isinstance(r, Generation) and r.image.format == "png"]
    assert len(delivered) == 50, [r for r in results if not isinstance(r, Generation)][:3]
    assert stats.tasks_created == 50 and len({g.id for g in delivered}) == 50  # none created twice
    assert len(stats.charges) == 50 and stats.total_charged == pytest.approx(50 * 0.05)
    refusals = sum(1 for _, _, s in stats.requests if s == 429)
    # It slows down when told: a client that only retried would be refused every Retry-After
    # by each of the 46 waiting tasks; this one learns the limit and only probes above it.
    assert 1 <= refusals <= 25 and limit.shrinks == refusals and limit.limit < 8
    assert any(s is None for _, _, s in stats.requests + stats.cdn_requests)  # drops happened


def test_an_image_url_that_is_not_even_a_url_is_a_typed_error():
    from flux2_widgets.errors import MalformedResponseError
    from flux2_widgets.results import Task

    answer = {"id": "3f0c2b1e-0000-4000-8000-000000000000", "status": "completed",
              "images": [{"url": "http://[::1"}], "usage": {"cost": 0.05, "generated_images": 1}}
    with pytest.raises(MalformedResponseError) as info:
        Task.from_answer(answer, action="text_to_image")
    assert "http(s) URL" in str(info.value)


def test_a_price_list_of_the_wrong_shape_falls_back_instead_of_raising():
    from flux2_widgets.client._pricing import parse_schedules

    for hostile in ({"price_schedules": [{"model": ["x"]}]}, {"price_schedules": [{"model": {"a": 1}}]},
                    {"price_schedules": "none"}, [1, 2]):
        try:
            listed = parse_schedules(hostile)
        except Exception as exc:  # only a typed error may come out
            from flux2_widgets.errors import Flux2Error

            assert isinstance(exc, (Flux2Error, ValueError)), repr(exc)
        else:
            assert listed.price("pro", "1k") is None or listed.price("pro", "1k") >= 0
    # Python's JSON reads Infinity and NaN: neither is a price (unknown, never infinite or free).
    for cents in (float("inf"), float("nan"), -5):
        schedule = {"model": "flux-2-pro-text-to-image", "pricing_status": "available",
                    "unit_price_cents": cents}
        assert parse_schedules({"price_schedules": [schedule]}).price("pro", "1k") is None


# -- answers a task cannot give --------------------------------------------------------------
def test_thousands_of_image_urls_are_refused_before_any_download(hostile, tmp_path):
    from flux2_widgets.catalog import MAX_IMAGES_PER_TASK

    store = ResultStore(tmp_path)
    started = time.monotonic()
    exc = typed(outcome(hostile, "many-images", store=store), MalformedResponseError,
                "3,000 images", f"at most {MAX_IMAGES_PER_TASK}")
    assert exc.code == "too_many_images" and exc.task_id == "many-images"
    assert hostile.count("GET", "/img") == 0 and hostile.count("GET", "/api") == 1
    assert time.monotonic() - started < 20  # it was 30 s and counting, downloading
    # Completed, so billed: the task stays in the run log to be asked for again, never "failed".
    assert [t.id for t in store.pending()] == ["many-images"]
    assert not [e for e in store.events() if e.get("event") == "failed"]


def test_a_completed_task_without_an_image_is_kept_and_resume_asks_again(hostile, tmp_path):
    from flux2_widgets import NoImageError, TaskFailedError
    from flux2_widgets.errors import is_resumable

    store = ResultStore(tmp_path)
    exc = typed(outcome(hostile, "no-images", store=store), NoImageError, "completed (and is billed)",
                "client.resume()")
    assert not isinstance(exc, TaskFailedError) and exc.code == "no_images" and exc.task_id == "no-images"
    assert is_resumable(exc)
    (kept,) = store.undelivered()
    assert kept.id == "no-images" and kept.image_urls == () and store.pending() == []
    assert not [e for e in store.events() if e.get("event") == "failed"]

    async def resume(fixed: bool) -> list[Any]:
        hostile.fixed = fixed
        async with client_for(hostile, store=store) as client:
            return await client.resume()

    polls = hostile.count("GET", "/api")
    (still,) = asyncio.run(resume(False))  # asked again (one GET); still no image: kept again
    assert isinstance(still, NoImageError) and hostile.count("GET", "/api") == polls + 1
    assert [t.id for t in store.undelivered()] == ["no-images"]
    (gen,) = asyncio.run(resume(True))
    assert isinstance(gen, Generation) and gen.image.format == "png"
    assert store.undelivered() == [] and store.pending() == []


# -- every request takes the one road: caps and retries for prices, quotes, balance, files ----
SMALL_JSON = ResponseLimits(json_bytes=64 * 1024)


def test_a_price_schedule_over_the_json_cap_is_refused_and_a_5xx_retried(hostile):
    path = "/api/v1/price_schedules"

    async def prices(**options: Any) -> Any:
        async with client_for(hostile, **options) as client:
            return await client.prices()

    hostile.plan[path] = ["huge", "huge"]
    refused = asyncio.run(prices(limits=SMALL_JSON))
    # 300 KB of valid JSON past the client's 64 KiB cap: read up to the cap, refused, retried
    # once (max_retries=1), then the catalog's figures, labelled as such.
    assert refused.source == "catalog" and refused[("pro", "1k")] == 0.05
    assert hostile.count("GET", path) == 2
    hostile.plan[path] = ["503"]
    live = asyncio.run(prices())
    assert live.source == "live" and live[("pro", "1k")] == 0.09 and hostile.count("GET", path) == 4

    async def revalidated() -> tuple[Any, Any]:
        async with client_for(hostile) as client:
            return await client.prices(), await client.prices(refresh=True)

    first, again = asyncio.run(revalidated())
    assert again is first  # the 304 kept the list: ETag revalidation goes the same road


def test_balance_is_retried_after_a_5xx_and_a_drop_and_capped(hostile):
    from flux2_widgets import ServerError

    path = "/api/v1/me/balance"

    async def balance(**options: Any) -> Any:
        async with client_for(hostile, **options) as client:
            return await client.balance()

    hostile.plan[path] = ["503", "drop"]
    assert asyncio.run(balance(max_retries=2))["balance_cents"] == 1234
    assert hostile.count("GET", path) == 3
    hostile.plan[path] = ["huge"]
    with pytest.raises(MalformedResponseError, match="65,536-byte limit") as info:
        asyncio.run(balance(max_retries=0, limits=SMALL_JSON))
    assert info.value.code == "too_large"
    hostile.plan[path] = ["503", "503"]
    with pytest.raises(ServerError, match="gave up after 2 attempts"):
        asyncio.run(balance(max_retries=1))


def test_a_quote_is_retried_like_a_get_since_it_creates_nothing(hostile):
    path = "/api/v1/price_quotes"

    async def quote() -> Any:
        async with client_for(hostile) as client:
            return await client.quote("a fox in snow")

    hostile.plan[path] = ["503"]
    answer = asyncio.run(quote())
    assert (answer.usd, answer.source) == (0.09, "quote") and hostile.count("POST", path) == 2


def test_an_upload_answer_gets_the_caps_and_the_retries(hostile):
    path = "/api/v1/files"

    async def upload(**options: Any) -> str:
        async with client_for(hostile, **options) as client:
            return await client.upload(hostile.png, filename="a.png")

    hostile.plan[path] = ["drop"]
    assert asyncio.run(upload()) == f"{hostile.url}/img/ok" and hostile.count("POST", path) == 2
    hostile.plan[path] = ["huge"]
    with pytest.raises(MalformedResponseError, match="65,536-byte limit"):
        asyncio.run(upload(max_retries=0, limits=SMALL_JSON))


# -- lazy reads (download=False, then image.data from synchronous code) ----------------------
def test_lazy_reads_retry_a_dropped_connection_wherever_they_are_made(hostile):
    """On the client's own loop (a notebook cell), from another thread while that loop runs,
    and after the client closed: each read gets the transport's retry of a dropped
    connection (the old lazy read made a new pool per read and never retried)."""
    path = "/img/flaky"

    async def main() -> tuple[list[bytes], Any]:
        client = client_for(hostile)
        async with client:
            images = [(await client.generate("hostile img-flaky", download=False)).image for _ in range(4)]
            assert not any(img.downloaded for img in images)
            hostile.plan[path] = ["drop"]
            on_loop = images[0].data  # sync code on the client's own loop, as in a notebook cell
            hostile.plan[path] = ["drop"]
            in_thread = await asyncio.to_thread(lambda: images[1].data)  # the loop keeps running
            again = await asyncio.to_thread(lambda: images[2].data)  # the same thread pool, reused
            pool = client._transport._sync_cdn
        return [on_loop, in_thread, again], (images[3], pool)

    reads, (late, pool) = asyncio.run(main())
    assert pool is not None  # the worker threads used the transport's one sync pool
    hostile.plan[path] = ["drop"]
    reads.append(late.data)  # the loop is gone and the client closed: the sync twin, same policy
    assert all(r == hostile.png for r in reads)
    assert hostile.count("GET", path) == 7  # 4 reads, 3 of them after a drop
    # The two clean reads from worker threads came over one kept-alive connection.
    ports = [port for p, port in hostile.peers if p == path]
    assert ports[3] == ports[4], ports


@pytest.mark.parametrize("where", ["loop", "thread"])
def test_a_lazy_read_gets_the_clients_caps_and_deadline(hostile, where):
    async def main() -> list[BaseException]:
        limits = ResponseLimits(image_bytes=64, download_seconds=0.5)
        async with client_for(hostile, limits=limits) as client:
            small = (await client.generate("hostile img-ok", download=False)).image
            slow = (await client.generate("hostile img-slow", download=False)).image
            errors = []
            for image in (small, slow):
                try:
                    if where == "loop":
                        image.data  # noqa: B018 - the read is the point
                    else:
                        await asyncio.to_thread(lambda image=image: image.data)
                except Flux2Error as exc:
                    errors.append(exc)
            return errors

    too_big, too_slow = asyncio.run(main())
    typed(too_big, ImageDownloadError, "64-byte limit")
    typed(too_slow, ImageDownloadError, "0.5s")
    assert (too_big.code, too_slow.code) == ("too_large", "download_timeout")
