"""HTTP with retries: jittered exponential backoff that honours ``Retry-After``.

Retried: transport errors, timeouts, 429, 5xx and 2xx bodies that are not
JSON. A POST is retried only when it carries an ``Idempotency-Key``, so a
retry can never create (or charge) a second task.
"""

from __future__ import annotations

import asyncio
import email.utils
import html
import json
import logging
import random
import re
import time
from dataclasses import dataclass
from typing import Any

import httpx

from .._redact import redact
from ..catalog import IDEMPOTENCY_HEADER, REQUEST_ID_HEADER, SIMULATOR_HEADER, TASK_ID_HEADER
from ..errors import (
    APIError,
    Flux2Error,
    ImageDownloadError,
    MalformedResponseError,
    NetworkError,
    RateLimitError,
    ServerError,
    TimeoutError,
    error_for_status,
)
from ._limits import (
    ResponseLimits,
    check_image,
    current_slot,
    parse_json,
    read_body,
    stream_image,
    within,
)

log = logging.getLogger("flux2_widgets")
DEFAULT_LIMITS = ResponseLimits()

RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
#: Never wait longer than this for one Retry-After hint.
MAX_RETRY_AFTER = 60.0
_TITLE = re.compile(r"<title>(.*?)</title>|<h1[^>]*>(.*?)</h1>", re.IGNORECASE | re.DOTALL)
_TAGS = re.compile(r"<[^>]+>")


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


def parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


#: Longest error body kept on an exception: enough for any real one, bounded for hostile ones.
MAX_ERROR_BODY = 64 * 1024
_MESSAGE_KEYS = ("message", "detail", "errorMessage", "msg", "error_description")


def _scrub(value: Any, depth: int = 0) -> Any:
    """A copy of a parsed body with every string redacted and the nesting bounded."""
    if depth > 8:
        return "..."
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {redact(str(k)): _scrub(v, depth + 1) for k, v in list(value.items())[:200]}
    if isinstance(value, list):
        return [_scrub(v, depth + 1) for v in value[:200]]
    return value


def _text_of(value: Any) -> str | None:
    """A message from one of the shapes a message field takes: text, a list of texts,
    or FastAPI-style ``[{"loc": [...], "msg": "..."}]``."""
    if isinstance(value, str) and value.strip():
        return value.strip()
    if isinstance(value, list):
        parts = []
        for item in value[:10]:
            if isinstance(item, dict):
                where = ".".join(str(p) for p in item.get("loc", ()) if p != "body")
                text = _text_of(item.get("msg") or item.get("message"))
                if text:
                    parts.append(f"{where}: {text}" if where else text)
            elif (text := _text_of(item)) is not None:
                parts.append(text)
        return "; ".join(parts) or None
    if isinstance(value, dict):
        return _text_of(value.get("message") or value.get("msg"))
    return None


def field_errors(body: Any) -> dict[str, list[str]]:
    """``{"errors": {"prompt": ["..."]}}`` (RunAPI's validation failure) as a dict of
    lists of strings; also takes a bare string or a list of objects with a field name."""
    raw = body.get("errors") if isinstance(body, dict) else None
    if isinstance(raw, dict):
        out: dict[str, list[str]] = {}
        for name, problems in list(raw.items())[:50]:
            items = problems if isinstance(problems, list) else [problems]
            out[str(name)] = [str(p) for p in items[:10] if p not in (None, "")]
        return out
    if isinstance(raw, list):
        listed: dict[str, list[str]] = {}
        for item in raw[:50]:
            if isinstance(item, dict) and (name := item.get("field") or item.get("param")):
                listed.setdefault(str(name), []).append(str(item.get("message") or item.get("msg") or ""))
        return listed
    return {}


def error_message(response: httpx.Response) -> tuple[str, str | None]:
    """Pull a human message and a code out of any of the error shapes the API uses."""
    message, code, _, _ = _parse_error(response)
    return message, code


def _parse_error(response: httpx.Response) -> tuple[str, str | None, Any, dict[str, list[str]]]:
    """(message, code, parsed body, per-field errors) of an error answer."""
    text = response.text if len(response.content) <= MAX_ERROR_BODY else response.text[:MAX_ERROR_BODY]
    try:
        # Depth-capped like every answer: an error body must not raise RecursionError either.
        body = parse_json(text.encode(), DEFAULT_LIMITS, "an error answer")
    except MalformedResponseError:
        body = None
    if isinstance(body, dict):
        errors = field_errors(body)
        err = body.get("error")
        code = body.get("code") if isinstance(body.get("code"), str) else None
        if isinstance(err, dict):
            message = _text_of(err.get("message")) or _text_of(err.get("code")) or text[:200]
            code = err.get("code") if isinstance(err.get("code"), str) else code
        elif isinstance(err, str) and err.strip():
            message = err.strip()
        else:
            message = next((m for k in _MESSAGE_KEYS if (m := _text_of(body.get(k)))), "") or text[:200]
        if errors:
            # Name every field and what it said: the user fixes them all in one go.
            listed = "; ".join(f"{name}: {', '.join(problems) or 'invalid'}"
                               for name, problems in errors.items())
            message = f"{message} ({listed})" if message else listed
            code = code or "validation_failed"
        return message, code, body, errors
    if body is not None:
        return (text.strip()[:200] or response.reason_phrase or "error"), None, body, {}
    if "<html" in text[:500].lower() or "<!doctype" in text[:500].lower():
        match = _TITLE.search(text)
        title = (match.group(1) or match.group(2)) if match else ""
        title = html.unescape(_TAGS.sub("", title)).strip()[:200]
        return (f"the server answered with an HTML error page{': ' + title if title else ''}",
                "html_error", None, {})
    return (text.strip()[:200] or response.reason_phrase or "error"), None, None, {}


def error_from_response(response: httpx.Response, *, task_id: str | None = None) -> APIError:
    message, code, body, errors = _parse_error(response)
    return error_for_status(
        response.status_code, message, code=code,
        request_id=response.headers.get(REQUEST_ID_HEADER),
        task_id=task_id or response.headers.get(TASK_ID_HEADER),
        retry_after=parse_retry_after(response.headers.get("retry-after")),
        body=_scrub(body), errors={redact(k): [redact(m) for m in v] for k, v in errors.items()},
    )


@dataclass
class JSONAnswer:
    data: Any
    status: int
    request_id: str | None
    retry_after: float | None
    attempts: int
    #: The answer came from flux2_widgets' simulator (it says so in a header).
    from_simulator: bool = False


async def request_json(
    http: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    retry: RetryPolicy,
    json_body: Any = None,
    content: bytes | None = None,
    headers: dict[str, str] | None = None,
    task_id: str | None = None,
    limits: ResponseLimits | None = None,
) -> JSONAnswer:
    """Send one API call, retrying what is safe to retry, and return its JSON.

    ``content``: a JSON body already encoded (large bodies are encoded off the loop).
    Bodies are read under ``limits``; faults and rate limits have separate patience."""
    headers = dict(headers or {})
    if content is not None:
        headers.setdefault("Content-Type", "application/json")
    limits = limits or limits_of(http)
    can_retry = method != "POST" or IDEMPOTENCY_HEADER in headers
    attempt = faults = limited = 0
    what = f"the answer to {method} {url}"
    while True:
        attempt += 1
        error: Flux2Error
        try:
            async with http.stream(method, url, json=json_body, content=content,
                                   headers=headers) as streamed:
                cap = limits.json_bytes if streamed.is_success else 256 * 1024
                body = await within(limits.answer_seconds, read_body(streamed, cap, what))
        except asyncio.TimeoutError:
            error = TimeoutError(f"{method} {url}: the answer's body did not arrive within "
                                 f"{limits.answer_seconds:g}s (a stalled or trickling server)",
                                 task_id=task_id, code="answer_timeout")
        except httpx.TimeoutException as exc:
            error = TimeoutError(f"{method} {url} timed out ({type(exc).__name__}); "
                                 "raise timeout= or check the network", task_id=task_id)
        except httpx.TransportError as exc:
            detail = redact(str(exc)) or "connection error"
            error = NetworkError(f"{method} {url} failed: {type(exc).__name__}: {detail}", task_id=task_id)
        except MalformedResponseError as exc:
            exc.task_id = exc.task_id or task_id
            error = exc
        else:
            # A plain response over the bytes already read: error parsing stays one function.
            response = httpx.Response(streamed.status_code, headers=_plain(streamed.headers),
                                      content=body, request=streamed.request)
            request_id = response.headers.get(REQUEST_ID_HEADER)
            retry_after = parse_retry_after(response.headers.get("retry-after"))
            log.debug("%s %s -> %s (attempt %d)", method, url, response.status_code, attempt)
            if response.is_success:
                try:
                    data = parse_json(body, limits, f"{what} ({response.status_code})")
                except MalformedResponseError as exc:
                    exc.status, exc.request_id, exc.task_id = response.status_code, request_id, task_id
                    error = exc
                else:
                    return JSONAnswer(data, response.status_code, request_id, retry_after, attempt,
                                      SIMULATOR_HEADER in response.headers)
            else:
                error = error_from_response(response, task_id=task_id)
                if response.status_code not in RETRYABLE_STATUSES:
                    raise error
        rate_limited = isinstance(error, RateLimitError)
        if rate_limited:
            limited += 1
        else:
            faults += 1
        if error.retry_after is not None and error.retry_after > retry.max_retry_after:
            error.message = (f"{error.message}; the server asks to wait {error.retry_after:,.0f}s "
                             f"before trying again, more than max_retry_after={retry.max_retry_after:g}s: "
                             "try again later (or raise max_retry_after)")
            raise error
        if not can_retry or faults > retry.max_retries or limited > retry.rate_limit_retries:
            if isinstance(error, (RateLimitError, ServerError, NetworkError, TimeoutError)) and attempt > 1:
                error.message = (f"{error.message} (gave up after {attempt} attempts: "
                                 f"{limited} rate-limited, {faults} faults)")
            raise error
        slot = current_slot() if rate_limited and method == "POST" else None
        if slot is not None:
            log.info("retrying %s %s after RateLimitError when capacity returns (one of this client's "
                     "tasks finishes, or Retry-After %ss)", method, url, error.retry_after)
            await slot.refused(error.retry_after)
            continue
        if isinstance(error, NetworkError) and faults == 1:
            # A dropped connection is most often one stale or broken socket, not an
            # overloaded server: the first retry goes out at once (on a fresh connection).
            delay = random.uniform(0, retry.base_delay / 10)
        else:
            delay = retry.delay(limited if rate_limited else faults, error.retry_after)
        log.info("retrying %s %s in %.2fs after %s", method, url, delay, type(error).__name__)
        await asyncio.sleep(delay)


def attach_limits(http: httpx.AsyncClient, limits: ResponseLimits) -> None:
    """Give a client's connection pool its caps, so every call through it (create,
    status, upload, balance) is read under them without each call site passing them."""
    http.flux2_limits = limits  # type: ignore[attr-defined]


def limits_of(http: httpx.AsyncClient) -> ResponseLimits:
    return getattr(http, "flux2_limits", DEFAULT_LIMITS)


def _plain(headers: httpx.Headers) -> list[tuple[str, str]]:
    # The body handed on is already decoded (and its length known).
    return [(k, v) for k, v in headers.multi_items()
            if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")]


async def download(http: httpx.AsyncClient, url: str, *, retry: RetryPolicy,
                   limits: ResponseLimits = DEFAULT_LIMITS) -> bytes:
    """GET an image from its host (``http`` must be a client without credentials) and
    check it is one: PNG, JPEG or WebP, within the byte and pixel caps."""
    attempt = 0
    while True:
        attempt += 1
        error: Flux2Error
        try:
            status, headers, body = await stream_image(http, url, limits)
        except (httpx.TimeoutException, httpx.TransportError) as exc:
            error = ImageDownloadError(f"downloading {url} failed: {type(exc).__name__}",
                                       code="download_failed", urls=(url,))
        except httpx.HTTPError as exc:  # protocol trouble that no retry will fix
            raise ImageDownloadError(f"downloading {url} failed: {type(exc).__name__}: {redact(str(exc))}",
                                     code="download_failed", urls=(url,)) from None
        except MalformedResponseError as exc:
            raise ImageDownloadError(f"downloading {url} failed: {exc.message}", code=exc.code,
                                     urls=(url,)) from None
        else:
            if 200 <= status < 300:
                check_image(body, limits, url, headers.get("content-type"))
                return body
            response = httpx.Response(status, headers=_plain(headers), content=body)
            api_error = error_from_response(response)
            error = ImageDownloadError(f"downloading {url} failed: {api_error.message}",
                                       status=status, code=api_error.code, urls=(url,),
                                       retry_after=api_error.retry_after)
            if status not in RETRYABLE_STATUSES:
                raise error
        if attempt > retry.max_retries or (error.retry_after or 0) > retry.max_retry_after:
            raise error
        dropped = error.status is None and attempt == 1  # see request_json: a fresh socket at once
        await asyncio.sleep(random.uniform(0, retry.base_delay / 10) if dropped
                            else retry.delay(attempt, error.retry_after))


def dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False)
