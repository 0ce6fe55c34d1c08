"""Starlette routes: the RunAPI-shaped API origin and the image CDN origin."""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import PurePosixPath
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..catalog import (
    ACTIONS,
    API_PREFIX,
    FILES_PATH,
    MAX_UPLOAD_BYTES,
    MODEL_IDS,
    RESOLUTIONS,
    TASK_ID_HEADER,
    TIER_INFO,
    UPLOAD_EXTENSIONS,
    UPLOAD_FORMATS,
    UPLOAD_KINDS,
    ImageRequest,
    contract_errors,
    file_label,
)
from ._engine import FILE_PATH, IMAGE_PATH, Engine
from ._faults import FaultGate
from ._images import Decoded, decode_upload
from ._state import State, TaskRecord

__all__ = ["build_api_app", "build_cdn_app"]

_IMAGE_CACHE = "public, max-age=604800, immutable"  # the real URLs live about 7 days


def _error(status: int, code: str, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message, **extra}}, status_code=status)


def _invalid(errors: dict[str, list[str]]) -> JSONResponse:
    """RunAPI's answer to a request that breaks its contract."""
    return JSONResponse({"error": "Validation failed", "errors": errors}, status_code=422)


def _cents(usd: float | None) -> int | None:
    return None if usd is None else round(usd * 100)


def _now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def _pacing_value(seconds: float) -> str:
    return str(int(seconds)) if float(seconds).is_integer() else f"{seconds:g}"


#: The price-schedule vocabulary (DESIGN.md section 2): Flux 2 bills one call, priced by
#: output resolution.
SERVICE = "flux_2"


# -- uploads -----------------------------------------------------------------------------
#: A base64 body of the largest allowed file, plus room for the JSON around it.
_MAX_UPLOAD_BODY = MAX_UPLOAD_BYTES * 4 // 3 + 64 * 1024
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class _Rejected(Exception):
    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field

    def response(self) -> JSONResponse:
        extra = {"field": self.field} if self.field else {}
        return _error(self.status, self.code, self.message, **extra)


async def _rejected(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, _Rejected)
    return exc.response()


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise _Rejected(400, "bad_request", f"request body must be JSON: {exc}") from None
    if not isinstance(body, dict):
        raise _Rejected(400, "bad_request", "request body must be a JSON object")
    return body


@dataclass(frozen=True)
class _Upload:
    data: bytes
    file_name: str
    decoded: Decoded
    fingerprint: str


def _safe_name(name: object, fmt: str) -> str:
    # Served back as a URL path segment: keep it to characters that need no quoting.
    base = PurePosixPath(name.replace("\\", "/")).name if isinstance(name, str) else ""
    base = _UNSAFE.sub("_", base).lstrip(".")[:120]
    return base or f"upload.{UPLOAD_EXTENSIONS[fmt]}"


def _read_upload(raw: bytes) -> _Upload:
    """Parse, decode and check an upload body. CPU-heavy for big files: runs off the loop."""
    body = _json_object(raw)
    source = body.get("source")
    if source is None:
        raise _Rejected(422, "validation_error",
                        'source is required: {"source": {"type": "base64", "data": "<base64>"}}', "source")
    if not isinstance(source, dict) or source.get("type") != "base64":
        kind = source.get("type") if isinstance(source, dict) else type(source).__name__
        raise _Rejected(422, "validation_error",
                        f"source type {kind!r} is not supported here; send "
                        '{"type": "base64", "data": "<base64>"} (a public URL needs no upload: '
                        "use it as a remix source as it is)", "source.type")
    data = source.get("data")
    if not isinstance(data, str) or not data.strip():
        raise _Rejected(422, "validation_error", "source.data must be a non-empty base64 string",
                        "source.data")
    if data.startswith("data:") and "," in data[:200]:  # a data: URL is base64 with a prefix
        data = data.split(",", 1)[1]
    try:
        blob = base64.b64decode("".join(data.split()), validate=True)
    except (binascii.Error, ValueError):
        raise _Rejected(422, "validation_error", "source.data is not valid base64", "source.data") from None
    if len(blob) > MAX_UPLOAD_BYTES:
        raise _Rejected(422, "file_too_large", f"the file is {file_label(len(blob))}; "
                        f"the limit is {file_label(MAX_UPLOAD_BYTES)}", "source.data")
    try:
        decoded = decode_upload(blob)
    except ValueError:
        decoded = None
    if decoded is None or decoded.format not in UPLOAD_FORMATS:
        found = f"a {decoded.format} image" if decoded else "not an image"
        raise _Rejected(422, "unsupported_file_type",
                        f"the file is {found}; image sources must be {UPLOAD_KINDS}", "source.data")
    name = _safe_name(body.get("file_name"), decoded.format)
    fingerprint = hashlib.sha256(b"files\n")
    fingerprint.update(raw)
    return _Upload(blob, name, decoded, fingerprint.hexdigest())


class _Api:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.state: State = engine.state

    # -- helpers -------------------------------------------------------------------
    def _unauthorized(self, request: Request) -> JSONResponse | None:
        header = request.headers.get("authorization")
        if header is None:
            return _error(401, "unauthorized",
                          "missing Authorization header; send 'Authorization: Bearer <API key>'")
        scheme, _, token = header.partition(" ")
        token = token.strip()
        expected = self.state.api_key
        if scheme.lower() != "bearer" or not token or (expected is not None and token != expected):
            return _error(401, "unauthorized", "invalid API key")
        return None

    def _task_answer(self, body: dict[str, Any], task: TaskRecord, *, replayed: bool = False) -> JSONResponse:
        if replayed:
            body = {**body, "task_replayed": True}
        headers = {TASK_ID_HEADER: task.id}
        pacing = self.state.pacing
        if pacing is not None and body.get("status") in ("pending", "processing"):
            headers["Retry-After"] = _pacing_value(pacing)
        return JSONResponse(body, headers=headers)

    def _replay(self, key: str, fingerprint: str) -> tuple[str, dict[str, Any]] | None:
        """(id, answer) stored under an Idempotency-Key, if any; a 409 when it came with
        another body. Call with the state lock held."""
        if not key or key not in self.state.idempotency:
            return None
        seen_print, record_id, answer = self.state.idempotency[key]
        if seen_print != fingerprint:
            raise _Rejected(409, "conflict", "Idempotency-Key was already used with a different request body")
        return record_id, answer

    @staticmethod
    def _form(request: Request) -> str:
        return "full" if request.url.path.startswith(API_PREFIX) else "short"

    @staticmethod
    def _action(request: Request) -> str:
        action = request.path_params["action"]
        if action not in ACTIONS:
            raise HTTPException(404)
        return action

    # -- routes --------------------------------------------------------------------
    async def create(self, request: Request) -> Response:
        action = self._action(request)
        form = self._form(request)
        if (denied := self._unauthorized(request)) is not None:
            return denied
        body = _json_object(await request.body())
        if errors := contract_errors(body, action):
            return _invalid(errors)
        image_request = ImageRequest.from_payload(body, action)

        key = request.headers.get("idempotency-key", "").strip()
        fingerprint = self.state.fingerprint(request.url.path, body)
        with self.state.lock:
            if (seen := self._replay(key, fingerprint)) is not None:
                task_id, answer = seen
                return self._task_answer(answer, self.state.tasks[task_id], replayed=True)
            if (limited := self.state.in_flight_refusal()) is not None:
                running, allowed, wait = limited
                refusal = _error(429, "rate_limited", f"too many tasks in flight ({running}; this key "
                                 f"may run {allowed} at once) (simulated)")
                refusal.headers["Retry-After"] = f"{wait:g}"
                return refusal
            needed = self.state.price(image_request.tier, image_request.resolution) or 0.0
            available = self.state.balance_cents() / 100 - self.state.reserved_usd()
            if needed > available + 1e-9:
                return _error(402, "insufficient_credits",
                              f"insufficient credits: this image costs ${needed:.2f}, "
                              f"available ${max(0.0, available):.2f}")
            task = self.engine.create(image_request, body, form)
            answer = self.engine.create_body(task)
            if key:
                self.state.idempotency[key] = (fingerprint, task.id, answer)
        return self._task_answer(answer, task)

    async def status(self, request: Request) -> Response:
        action = self._action(request)
        if (denied := self._unauthorized(request)) is not None:
            return denied
        task_id = request.path_params["task_id"]
        fault = self.state.take_status_fault()
        if fault is not None and fault.kind == "poll_404":
            return _error(404, "not_found", f"task {task_id!r} not found")
        task = self.state.tasks.get(task_id)
        if task is None or task.action != action:
            return _error(404, "not_found", f"task {task_id!r} not found")
        if fault is not None and fault.kind == "unknown_status":
            task.weird_status = True
        self.engine.finish_due()
        body = self.engine.status_body(task, form=self._form(request), weird=task.weird_status)
        return self._task_answer(body, task)

    async def upload(self, request: Request) -> Response:
        """``POST /api/v1/files`` with a base64 source: store it, answer its CDN URL."""
        if (denied := self._unauthorized(request)) is not None:
            return denied
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size <= _MAX_UPLOAD_BODY:  # past the limit, drain without keeping
                chunks.append(chunk)
        if size > _MAX_UPLOAD_BODY:
            return _error(422, "file_too_large", f"the request is {file_label(size)}; a file may be "
                          f"at most {file_label(MAX_UPLOAD_BYTES)}", field="source.data")
        upload = await asyncio.to_thread(_read_upload, b"".join(chunks))
        key = request.headers.get("idempotency-key", "").strip()
        with self.state.lock:
            if (seen := self._replay(key, upload.fingerprint)) is not None:
                return JSONResponse(seen[1])
            record = self.engine.add_upload(upload.data, upload.file_name, upload.decoded)
            answer = record.answer()
            if key:
                self.state.idempotency[key] = (upload.fingerprint, record.id, answer)
        return JSONResponse(answer)

    async def balance(self, request: Request) -> Response:
        if (denied := self._unauthorized(request)) is not None:
            return denied
        self.engine.finish_due()
        balance = self.state.balance_cents()
        spent = self.state.start_balance_cents - balance
        return JSONResponse({"balance_cents": balance, "paid_balance_cents": balance,
                             "bonus_balance_cents": 0, "spent_cents_today": spent,
                             "spent_cents_total": spent})

    async def me(self, request: Request) -> Response:
        if (denied := self._unauthorized(request)) is not None:
            return denied
        return JSONResponse({"id": 1, "name": "Simulator", "email": "simulator@localhost",
                             "account": {"id": 1, "name": "flux2_widgets simulator"}})

    def _schedule(self, model: str) -> dict[str, Any]:
        tier, action = MODEL_IDS[model]
        overrides = {res: _cents(self.state.price(tier, res)) for res in TIER_INFO[tier].resolutions}
        priced = {res: cents for res, cents in overrides.items() if cents is not None}
        return {
            "service": SERVICE, "action": action, "model": model,
            "pricing_status": "available" if priced else "pending",
            "catalog_status": "active", "currency": "USD", "billing_unit": "call",
            "unit_price_cents": priced.get(RESOLUTIONS[0]) if priced else None,
            "billing_config": {"key": "output_resolution", "overrides": priced},
        }

    async def price_schedules(self, request: Request) -> Response:
        """Anonymous, like RunAPI's: prices are public. ETag / If-None-Match: 304."""
        want = request.query_params
        schedules = [self._schedule(model) for model, (_, action) in MODEL_IDS.items()
                     if want.get("service") in (None, "", SERVICE)
                     and want.get("action") in (None, "", action)
                     and want.get("model") in (None, "", model)]
        etag = '"' + hashlib.sha256(json.dumps(schedules, sort_keys=True).encode()).hexdigest()[:32] + '"'
        if etag in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]:
            return Response(status_code=304, headers={"ETag": etag})
        return JSONResponse({"as_of": _now_iso(), "price_schedules": schedules}, headers={"ETag": etag})

    async def price_quotes(self, request: Request) -> Response:
        """``{service, action, model, params}`` -> what a call would reserve."""
        body = _json_object(await request.body())
        errors: dict[str, list[str]] = {}
        if body.get("service") != SERVICE:
            errors["service"] = [f"must be {SERVICE!r}"]
        action, model = body.get("action"), body.get("model")
        if action not in ACTIONS:
            errors["action"] = [f"must be one of {', '.join(ACTIONS)}"]
        params = body.get("params") or {}
        if not isinstance(params, dict):
            errors["params"] = ["must be an object"]
        elif not errors:
            wire = {**params, "model": model}
            errors.update(contract_errors(wire, action))
        if errors or not isinstance(model, str):
            return _invalid(errors or {"model": ["is required"]})
        schedule = self._schedule(model)
        res = params.get("output_resolution") or RESOLUTIONS[0]
        cents = schedule["billing_config"]["overrides"].get(res)
        return JSONResponse({"price_quote": {
            "service": SERVICE, "action": action, "model": model,
            "pricing_status": "available" if cents is not None else "pending",
            "currency": "USD", "reservation_amount_cents": cents if cents is not None else 0,
            "estimate_basis": "output_resolution" if cents is not None else "pending",
            "as_of": _now_iso()}})


async def _not_found(request: Request, exc: Exception) -> Response:
    status = getattr(exc, "status_code", 404)
    if status == 405:
        return _error(405, "method_not_allowed", f"{request.method} is not allowed on {request.url.path}")
    return _error(404, "not_found", f"no route {request.method} {request.url.path}")


def build_api_app(engine: Engine) -> FaultGate:
    api = _Api(engine)

    async def stats(request: Request) -> Response:
        """Simulator-only: what it has seen, for tests and teaching ("how many polls?")."""
        snap = engine.state.snapshot()
        return JSONResponse({
            "requests": [list(r) for r in snap.requests], "charges": [list(c) for c in snap.charges],
            "total_charged": snap.total_charged, "tasks_created": snap.tasks_created,
            "image_downloads": snap.image_downloads, "uploads": snap.uploads,
            "cdn_authorization": snap.cdn_authorization,
            "balance_cents": snap.balance_cents})

    routes = [
        Route("/_simulator/stats", stats, methods=["GET"]),
        Route(f"{API_PREFIX}/{{action}}", api.create, methods=["POST"]),
        Route(f"{API_PREFIX}/{{action}}/{{task_id}}", api.status, methods=["GET"]),
        Route("/v1/{action}", api.create, methods=["POST"]),
        Route("/v1/{action}/{task_id}", api.status, methods=["GET"]),
        Route(FILES_PATH, api.upload, methods=["POST"]),
        Route("/api/v1/me/balance", api.balance, methods=["GET"]),
        Route("/api/v1/me", api.me, methods=["GET"]),
        Route("/api/v1/price_schedules", api.price_schedules, methods=["GET"]),
        Route("/api/v1/price_quotes", api.price_quotes, methods=["POST"]),
    ]
    app = Starlette(routes=routes,
                    exception_handlers={404: _not_found, 405: _not_found, _Rejected: _rejected})
    return FaultGate(app, engine.state, "api")


def build_cdn_app(engine: Engine) -> FaultGate:
    async def image(request: Request) -> Response:
        try:
            n = int(request.path_params["n"])
        except ValueError:
            raise HTTPException(404) from None
        future = engine.image_for(request.path_params["task_id"], n)
        if future is None:
            return Response(b"image not found", status_code=404, media_type="text/plain")
        rendered = await asyncio.wrap_future(future)
        return Response(rendered.png, media_type="image/png",
                        headers={"Cache-Control": _IMAGE_CACHE})

    async def file(request: Request) -> Response:
        record = engine.file_for(request.path_params["file_id"], request.path_params["file_name"])
        if record is None:
            return Response(b"file not found", status_code=404, media_type="text/plain")
        return Response(record.data, media_type=record.mime_type, headers={"Cache-Control": _IMAGE_CACHE})

    async def missing(request: Request, exc: Exception) -> Response:
        return Response(b"not found", status_code=getattr(exc, "status_code", 404),
                        media_type="text/plain")

    app = Starlette(routes=[Route(IMAGE_PATH, image, methods=["GET"]),
                            Route(FILE_PATH, file, methods=["GET"])],
                    exception_handlers={404: missing, 405: missing})
    return FaultGate(app, engine.state, "cdn")
