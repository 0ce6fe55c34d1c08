"""Process-wide defaults: one embedded simulator and one client per kind.

With no API key configured anywhere, everything (widgets, comparisons, the
CLI) runs on a simulator started on first use, on 127.0.0.1 with an ephemeral
port. ``FLUX2_SIMULATOR_SPEED`` scales its clock (default 4: a Pro 1k image in
about two seconds, lively enough for a live demo).
"""

from __future__ import annotations

import atexit
import os
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from ..store import ResultStore
    from ._core import AsyncFlux2Client, Flux2Client
    from ._embedded import SimulatorProcess

SPEED_ENV = "FLUX2_SIMULATOR_SPEED"
RESULTS_ENV = "FLUX2_RESULTS_DIR"
DEFAULT_DEMO_SPEED = 4.0

# Re-entrant: building the default client may start the shared simulator.
_lock = threading.RLock()
_simulator: SimulatorProcess | None = None
_sync_client: Flux2Client | None = None


def shared_simulator() -> SimulatorProcess:
    """The embedded simulator: a child process started on first use, which exits
    with this one. Its balance is large enough for a whole day of teaching."""
    global _simulator
    with _lock:
        if _simulator is None or not _simulator.running:
            from ._embedded import SimulatorProcess

            speed = float(os.environ.get(SPEED_ENV) or DEFAULT_DEMO_SPEED)
            _simulator = SimulatorProcess(speed=speed)
            atexit.register(_simulator.stop)
        return _simulator


def default_store() -> ResultStore:
    """Where default clients keep every result: ``$FLUX2_RESULTS_DIR`` or
    ``./flux2_results`` (images, JSON sidecars and the run log ``resume`` reads)."""
    from ..store import ResultStore

    return ResultStore(os.environ.get(RESULTS_ENV) or "flux2_results")


def default_client(**options: Any) -> Flux2Client:
    """A sync client for the configured key, else for the embedded simulator.
    Without options it is one shared client, so the session's history (latencies
    learned, money spent) accumulates in one place, and it saves every result to
    ``default_store()`` so a dead kernel or an expired URL loses nothing."""
    global _sync_client
    from ._core import Flux2Client

    if options:
        return Flux2Client(**options)
    with _lock:
        if _sync_client is None:
            _sync_client = Flux2Client(store=default_store())
        return _sync_client


def default_async_client(**options: Any) -> AsyncFlux2Client:
    """The async twin of ``default_client`` for the running loop (httpx pools are
    bound to one loop, so each loop gets its own)."""
    if options:
        from ._core import AsyncFlux2Client

        return AsyncFlux2Client(**options)
    return default_client().aio


def as_async_client(client: Any = None) -> AsyncFlux2Client:
    """Accept None, a sync client or an async client; give the async one."""
    if client is None:
        return default_async_client()
    aio = getattr(client, "aio", None)
    return aio if aio is not None else client
