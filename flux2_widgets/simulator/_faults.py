"""The gate every request passes: request id, request log, transport faults.

Written as raw ASGI because two faults need what a framework response cannot
give: ``drop`` must break the connection, and ``after`` variants must run the
real handler (so the task exists) and then throw its answer away.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

from starlette.datastructures import Headers
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..catalog import REQUEST_ID_HEADER, SIMULATOR_HEADER
from ._state import Fault, State

__all__ = ["FaultGate", "DroppedConnection", "quiet_uvicorn_drops"]

_HTML_PAGE = """<!DOCTYPE html>
<html><head><title>502 Bad Gateway</title></head>
<body><h1>502 Bad Gateway</h1><p>The upstream server did not answer (simulated).</p>
<hr><address>flux2_widgets simulator</address></body></html>
"""

_SERVER_ERRORS = {
    "500": ("server_error", "internal server error (simulated)"),
    "502": ("bad_gateway", "bad gateway (simulated)"),
    "503": ("service_unavailable", "service temporarily unavailable (simulated)"),
}


class DroppedConnection(Exception):
    """Raised after headers are sent so uvicorn closes the connection mid-answer."""


class _DropFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, DroppedConnection)


def quiet_uvicorn_drops() -> None:
    """A deliberate drop is not an error worth a traceback on stderr."""
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _DropFilter) for f in logger.filters):
        logger.addFilter(_DropFilter())


def _retry_after(value: Any) -> str:
    seconds = float(value)
    return str(int(seconds)) if seconds.is_integer() else f"{seconds:g}"


def _error_body(fault: Fault, code: str, message: str) -> dict[str, Any]:
    # RunAPI answers errors in several shapes; ``style`` lets client tests see each.
    style = fault.opts.get("style", "nested")
    if style == "string":
        return {"error": message}
    if style == "message":
        return {"message": message}
    return {"error": {"code": code, "message": message}}


def _fault_response(fault: Fault) -> Response:
    kind = fault.kind
    if kind == "429":
        return JSONResponse(
            _error_body(fault, "rate_limited", "too many requests (simulated)"),
            status_code=429, headers={"Retry-After": _retry_after(fault.opts.get("retry_after", 1))})
    if kind in _SERVER_ERRORS:
        code, message = _SERVER_ERRORS[kind]
        headers = {}
        if "retry_after" in fault.opts:
            headers["Retry-After"] = _retry_after(fault.opts["retry_after"])
        return JSONResponse(_error_body(fault, code, message), status_code=int(kind), headers=headers)
    if kind == "422":
        # The service refusing what the contract allows (moderation, a rule it tightened):
        # the real validation shape, with the per-field messages the test asks for.
        errors = fault.opts.get("errors") or {"prompt": ["was refused (simulated)"]}
        return JSONResponse({"error": "Validation failed", "errors": errors}, status_code=422)
    if kind == "html":
        return HTMLResponse(_HTML_PAGE, status_code=502)
    if kind == "malformed":
        return Response(b'{"id": "task_trunc', status_code=200, media_type="application/json")
    raise AssertionError(f"no response for fault {kind!r}")


async def _discard(message: Message) -> None:
    return None


class FaultGate:
    def __init__(self, app: ASGIApp, state: State, origin: str) -> None:
        self.app = app
        self.state = state
        self.origin = origin

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        headers = Headers(scope=scope)
        request_id = "req_" + uuid.uuid4().hex[:16]
        recorded = False

        def record(status: int | None) -> None:
            nonlocal recorded
            if not recorded:
                recorded = True
                self.state.record_request(self.origin, method, path, status,
                                          headers.get("authorization"))

        async def send_tagged(message: Message) -> None:
            if message["type"] == "http.response.start":
                # Logged before the client can see the answer, so a test that
                # just got a response always finds it in the stats.
                record(message["status"])
                extra = [(REQUEST_ID_HEADER.encode(), request_id.encode())]
                if self.origin == "api":
                    extra.append((SIMULATOR_HEADER.encode(), b"flux2_widgets"))
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        fault = self.state.take_transport_fault(self.origin, method)
        try:
            if fault is None:
                await self.app(scope, receive, send_tagged)
                return
            if fault.kind == "slow":
                await asyncio.sleep(float(fault.opts.get("delay", 1.0)))
                await self.app(scope, receive, send_tagged)
                return
            if fault.opts.get("after"):
                await self.app(scope, receive, _discard)
            if fault.kind == "drop":
                record(None)
                # Headers promise a body that never comes; uvicorn then closes
                # the socket, which httpx reports as RemoteProtocolError.
                await send({"type": "http.response.start", "status": 200,
                            "headers": [(b"content-type", b"application/json"),
                                        (b"content-length", b"64")]})
                raise DroppedConnection(f"{method} {path}")
            await _fault_response(fault)(scope, receive, send_tagged)
        finally:
            record(None)
