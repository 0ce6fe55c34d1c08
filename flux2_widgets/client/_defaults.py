"""Process-wide defaults: one client per kind, and where results are kept.

With no API key configured anywhere, the default client talks to the embedded simulator
(``_embedded.shared_simulator``), so every notebook works offline.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from ..store import ResultStore
    from ._core import AsyncFlux2Client, Flux2Client

RESULTS_ENV = "FLUX2_RESULTS_DIR"

# Re-entrant: building the default client may start the shared simulator.
_lock = threading.RLock()
_sync_client: Flux2Client | None = None



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
