"""A RunAPI-compatible local simulator of the Flux 2 image API.

Real HTTP on loopback: an API origin (``sim.url``) shaped like RunAPI and a
second origin (``sim.cdn_url``) serving the images, like a CDN. Images are
procedural, deterministic and watermarked SIMULATED; latency follows the
catalog's typical figures scaled by ``speed`` (or is fixed); costs come from the
catalog; faults can be injected.

    >>> with Simulator(speed=50) as sim:            # doctest: +SKIP
    ...     client = Flux2Client(api_key="sim", base_url=sim.url)
"""

from __future__ import annotations

import atexit
import threading
import time
import weakref
from collections.abc import Mapping
from typing import Any

from ._app import build_api_app, build_cdn_app
from ._engine import Engine
from ._faults import quiet_uvicorn_drops
from ._server import ServerThread, bind
from ._state import (
    FAULT_KINDS,
    PENDING_FRACTION,
    SIM_UNPRICED_CHARGE_USD,
    CallbackRecord,
    State,
    Stats,
    TaskRecord,
)

__all__ = [
    "Simulator", "Stats", "TaskRecord", "CallbackRecord",
    "FAULT_KINDS", "PENDING_FRACTION", "SIM_UNPRICED_CHARGE_USD", "DEFAULT_BALANCE_CENTS",
]

#: Starting simulated balance ($100), reported by ``GET /api/v1/me/balance``.
DEFAULT_BALANCE_CENTS = 10_000

_running: weakref.WeakSet[Simulator] = weakref.WeakSet()


@atexit.register
def _stop_all() -> None:
    for sim in list(_running):
        sim.stop()


class Simulator:
    """Start with ``start()`` or ``with Simulator(...) as sim``; see the module doc."""

    def __init__(self, speed: float = 1.0,
                 latency: float | Mapping[tuple[str, str], float] | None = None,
                 seed: int = 0, host: str = "127.0.0.1", port: int = 0,
                 api_key: str | None = None, jitter: float = 0.15, *,
                 cdn_port: int = 0, balance_cents: int = DEFAULT_BALANCE_CENTS,
                 pacing: float | None = None,
                 prices: Mapping[tuple[str, str], float | None] | None = None,
                 timestamps: bool = False) -> None:
        """``pacing``: seconds sent as ``Retry-After`` on every status answer of an
        unfinished task (the server's wish for when to poll next), as RunAPI may do.
        ``prices``: USD per image by (tier, resolution), published and charged instead
        of the catalog's (``{("max", "1k"): 0.1}`` gives Max a price).
        ``timestamps``: add ``created_at`` / ``completed_at`` to task answers. Off by
        default and not what RunAPI sends: a client must never depend on them."""
        if speed <= 0:
            raise ValueError("speed must be > 0")
        if not 0 <= jitter < 1:
            raise ValueError("jitter must be in [0, 1)")
        if pacing is not None and not pacing > 0:
            raise ValueError("pacing must be > 0 seconds (or None)")
        self.host = host
        self.port = port
        self.cdn_port = cdn_port
        self._state = State(speed=speed, latency=latency, jitter=jitter, seed=seed,
                            api_key=api_key, balance_cents=balance_cents, timestamps=timestamps,
                            pacing=pacing, prices=prices)
        self._engine = Engine(self._state)
        self._server: ServerThread | None = None
        self._lock = threading.Lock()
        self._url = ""
        self._cdn_url = ""

    # -- lifecycle -----------------------------------------------------------------
    def start(self) -> Simulator:
        """Listen on both origins; returns once requests are accepted."""
        with self._lock:
            if self._server is not None:
                return self
            api_sock = bind(self.host, self.port)
            try:
                cdn_sock = bind(self.host, self.cdn_port)
            except OSError:
                api_sock.close()
                raise
            host = f"[{self.host}]" if ":" in self.host else self.host
            self._url = f"http://{host}:{api_sock.getsockname()[1]}"
            self._cdn_url = f"http://{host}:{cdn_sock.getsockname()[1]}"
            executor = self._engine.open(self._cdn_url)
            quiet_uvicorn_drops()
            server = ServerThread(
                [(build_api_app(self._engine), api_sock), (build_cdn_app(self._engine), cdn_sock)],
                on_loop=self._set_loop,
                on_exit=lambda: self._engine.close(executor),
            )
            server.start()
            self._server = server
            _running.add(self)
        return self

    def _set_loop(self, loop: Any) -> None:
        self._engine.loop = loop

    def stop(self) -> None:
        """Stop both servers and free their ports. Idempotent."""
        with self._lock:
            server, self._server = self._server, None
            if server is None:
                return
            server.stop()
            _running.discard(self)

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._server is not None and self._server.alive

    def __repr__(self) -> str:
        where = f"{self._url} (images {self._cdn_url})" if self.running else "stopped"
        return f"<Simulator {where} speed={self._state.speed} latency={self._state.latency!r}>"

    # -- origins -------------------------------------------------------------------
    @property
    def url(self) -> str:
        """API origin, e.g. ``http://127.0.0.1:54321``: pass it as the base URL."""
        self._require_started()
        return self._url

    @property
    def cdn_url(self) -> str:
        """Image origin; task answers point here."""
        self._require_started()
        return self._cdn_url

    def _require_started(self) -> None:
        if not self._url:
            raise RuntimeError("simulator not started; call start() or use 'with Simulator() as sim'")

    # -- knobs (live) --------------------------------------------------------------
    @property
    def speed(self) -> float:
        return self._state.speed

    @speed.setter
    def speed(self, value: float) -> None:
        if value <= 0:
            raise ValueError("speed must be > 0")
        self._state.speed = value

    @property
    def latency(self) -> float | Mapping[tuple[str, str], float] | None:
        return self._state.latency

    @latency.setter
    def latency(self, value: float | Mapping[tuple[str, str], float] | None) -> None:
        self._state.latency = value

    @property
    def pacing(self) -> float | None:
        return self._state.pacing

    @pacing.setter
    def pacing(self, value: float | None) -> None:
        if value is not None and not value > 0:
            raise ValueError("pacing must be > 0 seconds (or None)")
        self._state.pacing = value

    @property
    def api_key(self) -> str | None:
        return self._state.api_key

    # -- observation ---------------------------------------------------------------
    @staticmethod
    def now() -> float:
        """The simulator clock (``time.monotonic``) that task times use."""
        return time.monotonic()

    @property
    def stats(self) -> Stats:
        self._engine.finish_due()
        return self._state.snapshot()

    def count(self, method: str | None = None, path_prefix: str | None = None,
              origin: str = "api") -> int:
        """Requests seen, filtered by method and path prefix; ``origin="cdn"`` for images."""
        if origin not in ("api", "cdn"):
            raise ValueError("origin must be 'api' or 'cdn'")
        return self._state.snapshot().count(method, path_prefix, origin)

    @property
    def tasks(self) -> dict[str, TaskRecord]:
        self._engine.finish_due()
        with self._state.lock:
            return dict(self._state.tasks)

    @property
    def on_callback(self) -> list[CallbackRecord]:
        with self._state.lock:
            return list(self._state.callbacks)

    # -- control -------------------------------------------------------------------
    def inject(self, kind: str, times: int = 1, **opts: Any) -> Simulator:
        """Queue a fault for the next ``times`` matching requests; faults are
        consumed in the order they were injected.

        Transport faults replace an answer: "429" (``retry_after`` seconds,
        fractional allowed), "500" / "502" / "503" (optional ``retry_after``;
        ``style`` "nested" | "string" | "message" picks the error body shape),
        "422" (``errors``: {field: [messages]}, the validation shape; default on "post"),
        "drop" (connection closed mid-answer), "slow" (``delay`` seconds, then the
        real answer), "malformed" (200, truncated JSON), "html" (502 HTML page).
        ``on``: "any" (default: every API request), "post", "get" or "cdn" (image
        downloads). ``after=True``: the request is really processed first (the
        task exists, is charged when done) and only the answer is lost.

        Task faults, taken by the next created tasks: "fail_task" (``message``;
        ends failed, not charged), "never_finish" (processing forever).
        Status faults, taken by the next status GETs: "poll_404" (that answer is
        404), "unknown_status" (that task reports status "weird" from then on).

        ``rate=p`` (0 < p <= 1): the fault hits each matching request with probability
        ``p`` (seeded by the simulator's ``seed``) until it has hit ``times`` times;
        e.g. ``inject("drop", times=10**6, rate=0.05)`` drops 5% of connections.
        """
        rate = opts.get("rate")
        if rate is not None and not (isinstance(rate, (int, float)) and 0 < rate <= 1):
            raise ValueError("rate must be a probability in (0, 1]")
        self._state.inject(kind, times, **opts)
        return self

    def limit_in_flight(self, tasks: int | None, retry_after: float = 1.0) -> Simulator:
        """Allow at most ``tasks`` tasks in flight (created, not yet finished); a create
        beyond answers 429 with ``Retry-After: retry_after``. An idempotent replay of a
        task that exists is answered as usual. ``None`` lifts the limit."""
        if tasks is not None and (isinstance(tasks, bool) or not isinstance(tasks, int) or tasks < 1):
            raise ValueError("tasks must be a whole number >= 1, or None")
        with self._state.lock:
            self._state.max_in_flight = tasks
            self._state.in_flight_retry_after = float(retry_after)
        return self

    def reset(self) -> None:
        """Forget tasks, logs, charges, callbacks, faults and idempotency keys; every
        request's takes start over (its next task draws its first picture again)."""
        self._state.reset()
        self._engine.forget_renders()
