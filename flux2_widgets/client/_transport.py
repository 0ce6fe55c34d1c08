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
    MalformedResponseError,
    NetworkError,
    RateLimitError,
    ServerError,
    TimeoutError,
    error_for_status,
)

log = logging.getLogger("flux2_widgets")

RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
#: Never wait longer than this for one Retry-After hint.
MAX_RETRY_AFTER = 60.0
_TITLE = re.compile(r"<title>(.*?)</title>|<h1[^>]*>(.*?)</h1>", re.IGNORECASE | re.DOTALL)
_TAGS = re.compile(r"<[^>]+>")


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 4
    base_delay: float = 0.25
    max_delay: float = 8.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Backoff before retry number ``attempt`` (1-based)."""
        if retry_after is not None:
            return min(MAX_RETRY_AFTER, max(0.0, retry_after))
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
        body = json.loads(text)
    except ValueError:
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
) -> JSONAnswer:
    """Send one API call, retrying what is safe to retry, and return its JSON.

    ``content``: a JSON body already encoded (large bodies are encoded off the loop)."""
    headers = dict(headers or {})
    if content is not None:
        headers.setdefault("Content-Type", "application/json")
    can_retry = method != "POST" or IDEMPOTENCY_HEADER in headers
    attempt = 0
    while True:
        attempt += 1
        error: Flux2Error
        try:
            response = await http.request(method, url, json=json_body, content=content, headers=headers)
        except httpx.TimeoutException as exc:
            error = TimeoutError(f"{method} {url} timed out ({type(exc).__name__}); "
                                 "raise timeout= or check the network", task_id=task_id)
        except httpx.TransportError as exc:
            detail = redact(str(exc)) or "connection error"
            error = NetworkError(f"{method} {url} failed: {type(exc).__name__}: {detail}", task_id=task_id)
        else:
            request_id = response.headers.get(REQUEST_ID_HEADER)
            retry_after = parse_retry_after(response.headers.get("retry-after"))
            log.debug("%s %s -> %s (attempt %d)", method, url, response.status_code, attempt)
            if response.is_success:
                try:
                    data = response.json()
                except ValueError:
                    error = MalformedResponseError(
                        f"{method} {url} answered {response.status_code} with a body that is not JSON: "
                        f"{response.text[:80]!r}", status=response.status_code,
                        request_id=request_id, task_id=task_id)
                else:
                    return JSONAnswer(data, response.status_code, request_id, retry_after, attempt,
                                      SIMULATOR_HEADER in response.headers)
            else:
                error = error_from_response(response, task_id=task_id)
                if response.status_code not in RETRYABLE_STATUSES:
                    raise error
        if not can_retry or attempt > retry.max_retries:
            if isinstance(error, (RateLimitError, ServerError)) and attempt > 1:
                error.message = f"{error.message} (gave up after {attempt} attempts)"
            raise error
        delay = retry.delay(attempt, error.retry_after)
        log.info("retrying %s %s in %.2fs after %s", method, url, delay, type(error).__name__)
        await asyncio.sleep(delay)


async def download(http: httpx.AsyncClient, url: str, *, retry: RetryPolicy) -> bytes:
    """GET an image from its host. ``http`` must be a client without credentials."""
    attempt = 0
    while True:
        attempt += 1
        try:
            response = await http.get(url)
        except (httpx.TimeoutException, httpx.TransportError) as exc:
            error: Flux2Error = NetworkError(f"downloading {url} failed: {type(exc).__name__}")
        else:
            if response.is_success:
                return response.content
            error = error_from_response(response)
            if response.status_code not in RETRYABLE_STATUSES:
                error.message = f"downloading {url} failed: {error.message}"
                raise error
        if attempt > retry.max_retries:
            raise error
        await asyncio.sleep(retry.delay(attempt, error.retry_after))


def dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False)
