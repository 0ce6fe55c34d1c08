"""What an error answer says: its message, code, per-field errors and parsed body.

RunAPI (and whatever stands in front of it) answers errors in many shapes: ``{"error":
{"code", "message"}}``, ``{"error": "..."}``, ``{"message"}``, ``{"detail"}`` (FastAPI's
list too), ``{"errorMessage"}``, ``{"msg"}``, validation failures with ``{"errors":
{field: [...]}}``, and HTML pages. Each becomes one typed ``APIError`` that keeps what the
user needs, redacted and bounded.
"""

from __future__ import annotations

import email.utils
import html
import re
import time
from typing import Any

import httpx

from .._redact import redact
from ..catalog import REQUEST_ID_HEADER, TASK_ID_HEADER
from ..errors import APIError, MalformedResponseError, error_for_status
from ._limits import ResponseLimits, parse_json

__all__ = ["MAX_ERROR_BODY", "error_from_response", "field_errors", "parse_retry_after"]

_DEFAULT_LIMITS = ResponseLimits()
_TITLE = re.compile(r"<title>(.*?)</title>|<h1[^>]*>(.*?)</h1>", re.IGNORECASE | re.DOTALL)
_TAGS = re.compile(r"<[^>]+>")


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (a number or an HTTP date), ``None`` if absent
    or unreadable; never negative."""
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


def _parse_error(response: httpx.Response) -> tuple[str, str | None, Any, dict[str, list[str]]]:
    """(message, code, parsed body, per-field errors) of an error answer."""
    text = response.text if len(response.content) <= MAX_ERROR_BODY else response.text[:MAX_ERROR_BODY]
    try:
        # Depth-capped like every answer: an error body must not raise RecursionError either.
        body = parse_json(text.encode(), _DEFAULT_LIMITS, "an error answer")
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
