"""Bookkeeping: tasks, charges, faults, request log, balance, clock.

No I/O happens here. Everything is guarded by one lock because the server
thread writes while the test or notebook thread reads snapshots.
"""

from __future__ import annotations

import hashlib
import json
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, NamedTuple

from ..catalog import PRICES, TYPICAL_LATENCY, ImageRequest

__all__ = [
    "TaskRecord", "UploadRecord", "Fault", "Stats", "CallbackRecord", "State",
    "FAULT_KINDS", "TRANSPORT_FAULTS", "TASK_FAULTS", "STATUS_FAULTS",
    "SIM_UNPRICED_CHARGE_USD", "PENDING_FRACTION", "IMAGE_PATH",
]

#: Simulator-only: what a completed task of a tier without a published price
#: (Max, unless ``prices=`` gives one) is charged. The wire answer reports ``usage.cost: null`` for those;
#: the ledger needs a number, and inventing a price would look like a fact.
SIM_UNPRICED_CHARGE_USD = 0.0
#: Share of a task's latency spent in ``pending`` before ``processing``.
PENDING_FRACTION = 0.1
#: Uploaded files are temporary, like result images (about 7 days).
UPLOAD_TTL = timedelta(days=7)

# Fault kinds -> the default ``on`` they match. Transport faults replace a
# whole HTTP answer; task faults are taken when a task is created; status
# faults when a status GET is answered.
TRANSPORT_FAULTS = {"422": "post", "429": "any", "500": "any", "502": "any", "503": "any",
                    "drop": "any",
                    "slow": "any", "malformed": "any", "html": "any"}
TASK_FAULTS = {"fail_task": "post", "never_finish": "post"}
STATUS_FAULTS = {"unknown_status": "get", "poll_404": "get"}
FAULT_KINDS = {**TRANSPORT_FAULTS, **TASK_FAULTS, **STATUS_FAULTS}
_ON = ("post", "get", "any", "cdn")
#: CDN path of a task's n-th image; a 200 under its prefix is one image download.
IMAGE_PATH = "/images/{task_id}/{n}.png"
_IMAGES = IMAGE_PATH.partition("{")[0]


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Fault:
    kind: str
    on: str
    remaining: int
    opts: dict[str, Any]

    def matches(self, origin: str, method: str) -> bool:
        if self.on == "cdn":
            return origin == "cdn"
        if origin != "api":
            return False
        method = "get" if method.upper() in ("GET", "HEAD") else method.lower()
        return self.on in ("any", method)


class CallbackRecord(NamedTuple):
    url: str
    payload: dict[str, Any]
    #: HTTP status of the delivery, ``"skipped"`` (not loopback) or ``"error: ..."``.
    status: int | str


@dataclass
class TaskRecord:
    id: str
    action: str
    model: str
    request: ImageRequest
    body: dict[str, Any]
    #: ``"full"`` (``/api/v1/flux_2``, answers ``id``) or ``"short"`` (``/v1``, answers ``task_id``).
    form: str
    aspect_ratio: str  # resolved: never "auto"
    size: tuple[int, int]
    #: Monotonic seconds (the simulator clock).
    created: float
    latency: float
    created_at: str
    #: Catalog price per image; ``None`` where the catalog has none (Max).
    cost: float | None
    fail_message: str | None = None
    never_finish: bool = False
    weird_status: bool = False
    #: ``"completed"`` or ``"failed"`` once finalized (charged, called back); else ``None``.
    final_status: str | None = None
    #: Monotonic time the finalization happened (at or after ``due``).
    completed: float | None = None
    image_urls: list[str] = field(default_factory=list)
    #: ``concurrent.futures.Future`` of the rendered image, set by the engine.
    image: Any = None

    @property
    def due(self) -> float:
        return self.created + self.latency

    @property
    def completed_at(self) -> str | None:
        """Wall-clock end of a finalized task: creation plus latency, not when it was noticed."""
        if self.final_status is None:
            return None
        created = datetime.fromisoformat(self.created_at.replace("Z", "+00:00"))
        return _iso(created + timedelta(seconds=self.latency))

    @property
    def charged(self) -> float | None:
        """What the ledger took for this task: only a completed one is charged."""
        if self.final_status != "completed":
            return None
        return self.cost if self.cost is not None else SIM_UNPRICED_CHARGE_USD

    @property
    def tier(self) -> str:
        return self.request.tier

    @property
    def resolution(self) -> str:
        return self.request.resolution

    def status_at(self, now: float) -> str:
        if self.final_status:
            return self.final_status
        if now < self.created + self.latency * PENDING_FRACTION:
            return "pending"
        return "processing"

    @property
    def status(self) -> str:
        return self.status_at(time.monotonic())


@dataclass
class UploadRecord:
    """A file stored by ``POST /api/v1/files``, served from the CDN origin."""

    id: str
    file_name: str
    mime_type: str
    data: bytes
    #: Pixel size of the uploaded image.
    size: tuple[int, int]
    #: The catalog ratio nearest the image's own: what remix "auto" resolves to.
    aspect_ratio: str
    url: str
    created_at: str
    expires_at: str
    #: A finished ``concurrent.futures.Future`` whose result has ``.thumb``, like
    #: ``TaskRecord.image``, so a remix reads either kind of source the same way.
    image: Any = None

    def answer(self) -> dict[str, Any]:
        return {"file_name": self.file_name, "url": self.url, "size_bytes": len(self.data),
                "mime_type": self.mime_type, "created_at": self.created_at, "expires_at": self.expires_at}


@dataclass(frozen=True)
class Stats:
    """A snapshot; later traffic does not change it."""

    requests: list[tuple[str, str, int | None]]
    cdn_requests: list[tuple[str, str, int | None]]
    charges: list[tuple[str, float]]
    total_charged: float
    tasks_created: int
    #: Result images the CDN served (answers 200 on ``/images/...``).
    image_downloads: int
    #: Authorization headers the CDN received (should stay empty).
    cdn_authorization: list[str]
    callbacks: list[CallbackRecord]
    balance_cents: int
    #: Files stored by ``POST /api/v1/files``.
    uploads: int = 0

    def count(self, method: str | None = None, path_prefix: str | None = None,
              origin: str = "api") -> int:
        log = self.requests if origin == "api" else self.cdn_requests
        return sum(1 for m, p, _ in log
                   if (method is None or m == method.upper())
                   and (path_prefix is None or p.startswith(path_prefix)))


class State:
    def __init__(self, *, speed: float, latency: float | Mapping[tuple[str, str], float] | None,
                 jitter: float, seed: int, api_key: str | None, balance_cents: int,
                 timestamps: bool = False, pacing: float | None = None,
                 prices: Mapping[tuple[str, str], float | None] | None = None) -> None:
        self.lock = threading.RLock()
        self.timestamps = timestamps
        self.pacing = pacing
        #: What this server publishes and charges: the catalog's prices unless overridden.
        self.prices: dict[tuple[str, str], float | None] = {**PRICES, **(prices or {})}
        self.speed = speed
        self.latency = latency
        self.jitter = jitter
        self.seed = seed
        self.api_key = api_key
        self.start_balance_cents = balance_cents
        self._clear()

    def _clear(self) -> None:
        self.tasks: dict[str, TaskRecord] = {}
        self.uploads: dict[str, UploadRecord] = {}
        self._open: set[str] = set()
        self.requests: list[tuple[str, str, int | None]] = []
        self.cdn_requests: list[tuple[str, str, int | None]] = []
        self.charges: list[tuple[str, float]] = []
        self.cdn_authorization: list[str] = []
        self.callbacks: list[CallbackRecord] = []
        self.faults: list[Fault] = []
        self._chance = random.Random(f"faults:{self.seed}")
        #: Tasks one key may have in flight (created, not finished); ``None``: no limit.
        self.max_in_flight: int | None = None
        #: Retry-After (seconds) sent with a refusal for being over ``max_in_flight``.
        self.in_flight_retry_after = 1.0
        self.idempotency: dict[str, tuple[str, str, dict[str, Any]]] = {}
        self._seq = 0

    def reset(self) -> None:
        with self.lock:
            self._clear()

    def price(self, tier: str, resolution: str) -> float | None:
        """USD per image this server charges; ``None``: no published price."""
        return self.prices.get((tier, resolution))

    # -- latency -------------------------------------------------------------------
    def latency_for(self, tier: str, resolution: str, seq: int) -> float:
        fixed = self.latency
        if isinstance(fixed, (int, float)):
            return float(fixed)
        if isinstance(fixed, Mapping) and (tier, resolution) in fixed:
            return float(fixed[(tier, resolution)])
        # Jitter keyed on (seed, sequence): reruns see the same latencies,
        # while repeated identical requests still vary.
        rng = random.Random(f"{self.seed}:{seq}")
        factor = 1.0 + rng.uniform(-self.jitter, self.jitter)
        return TYPICAL_LATENCY[(tier, resolution)] * factor / self.speed

    # -- tasks ---------------------------------------------------------------------
    def new_task(self, *, request: ImageRequest, body: dict[str, Any], form: str,
                 aspect_ratio: str, size: tuple[int, int], make_id: Callable[[], str]) -> TaskRecord:
        with self.lock:
            self._seq += 1
            fail = self._take(TASK_FAULTS, "api", "POST", only="fail_task")
            never = self._take(TASK_FAULTS, "api", "POST", only="never_finish")
            task = TaskRecord(
                id=make_id(), action=request.action or "text_to_image", model=request.model,
                request=request, body=body, form=form, aspect_ratio=aspect_ratio, size=size,
                created=time.monotonic(),
                latency=self.latency_for(request.tier, request.resolution, self._seq),
                created_at=_iso(datetime.now(timezone.utc)),
                cost=self.price(request.tier, request.resolution),
            )
            if fail is not None:
                task.fail_message = fail.opts.get(
                    "message", "simulated failure: the model could not generate this image")
            task.never_finish = never is not None
            self.tasks[task.id] = task
            self._open.add(task.id)
            return task

    def new_upload(self, **fields: Any) -> UploadRecord:
        """Store an upload; ``fields`` are ``UploadRecord``'s minus the timestamps."""
        now = datetime.now(timezone.utc)
        record = UploadRecord(created_at=_iso(now), expires_at=_iso(now + UPLOAD_TTL), **fields)
        with self.lock:
            self.uploads[record.id] = record
        return record

    def finish_due(self, now: float | None = None) -> list[TaskRecord]:
        """Finalize every task whose time has come; return the ones just finalized."""
        now = time.monotonic() if now is None else now
        done = []
        with self.lock:
            for task_id in list(self._open):
                task = self.tasks[task_id]
                if task.never_finish or now < task.due:
                    continue
                self._open.discard(task_id)
                task.completed = now
                task.final_status = "failed" if task.fail_message else "completed"
                if task.charged is not None:
                    self.charges.append((task.id, task.charged))
                done.append(task)
        return done

    # -- concurrency limit -------------------------------------------------------------
    def in_flight_refusal(self) -> tuple[int, int, float] | None:
        """(running, allowed, retry_after) when a create now would pass the in-flight
        limit, else ``None``. Call with the lock held, just before creating, so two
        creates can never both take the last slot."""
        if self.max_in_flight is None:
            return None
        now = time.monotonic()
        running = sum(1 for t in self._open if self.tasks[t].never_finish or now < self.tasks[t].due)
        if running < self.max_in_flight:
            return None
        return running, self.max_in_flight, self.in_flight_retry_after

    def reserved_usd(self) -> float:
        with self.lock:
            return sum(self.tasks[t].cost or 0.0 for t in self._open)

    def balance_cents(self) -> int:
        with self.lock:
            return self.start_balance_cents - round(sum(c for _, c in self.charges) * 100)

    # -- idempotency -----------------------------------------------------------------
    @staticmethod
    def fingerprint(path: str, body: Any) -> str:
        canon = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(f"{path}\n{canon}".encode()).hexdigest()

    # -- faults ----------------------------------------------------------------------
    def inject(self, kind: str, times: int = 1, **opts: Any) -> None:
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; use one of {sorted(FAULT_KINDS)}")
        on = opts.pop("on", FAULT_KINDS[kind])
        if kind in TASK_FAULTS or kind in STATUS_FAULTS:
            on = FAULT_KINDS[kind]  # these are bound to their request kind
        if on not in _ON:
            raise ValueError(f"on={on!r} is not one of {_ON}")
        if times < 1:
            raise ValueError("times must be >= 1")
        with self.lock:
            self.faults.append(Fault(kind, on, int(times), opts))

    def _take(self, kinds: Mapping[str, str], origin: str, method: str,
              only: str | None = None) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.kind in kinds and (only is None or fault.kind == only) \
                        and fault.matches(origin, method):
                    # A "rate" fault hits each matching request with that probability.
                    if "rate" in fault.opts and self._chance.random() >= float(fault.opts["rate"]):
                        continue
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self.faults.remove(fault)
                    return fault
        return None

    def take_transport_fault(self, origin: str, method: str) -> Fault | None:
        return self._take(TRANSPORT_FAULTS, origin, method)

    def take_status_fault(self) -> Fault | None:
        return self._take(STATUS_FAULTS, "api", "GET")

    # -- logs --------------------------------------------------------------------------
    def record_request(self, origin: str, method: str, path: str, status: int | None,
                       authorization: str | None = None) -> None:
        with self.lock:
            if origin == "cdn":
                self.cdn_requests.append((method, path, status))
                if authorization is not None:
                    self.cdn_authorization.append(authorization)
            else:
                self.requests.append((method, path, status))

    def record_callback(self, record: CallbackRecord) -> None:
        with self.lock:
            self.callbacks.append(record)

    def snapshot(self) -> Stats:
        with self.lock:
            return Stats(
                requests=list(self.requests), cdn_requests=list(self.cdn_requests),
                charges=list(self.charges),
                total_charged=round(sum(c for _, c in self.charges), 6),
                tasks_created=len(self.tasks),
                image_downloads=sum(1 for _, path, status in self.cdn_requests
                                    if status == 200 and path.startswith(_IMAGES)),
                cdn_authorization=list(self.cdn_authorization),
                callbacks=list(self.callbacks), balance_cents=self.balance_cents(),
                uploads=len(self.uploads),
            )
