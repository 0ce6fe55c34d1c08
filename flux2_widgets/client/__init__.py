"""The RunAPI Flux 2 client: ``AsyncFlux2Client`` and its synchronous twin ``Flux2Client``.

One implementation (``_core``) serves both; the private modules beside it each hold one
job: ``_transport`` (the one road every request takes: timeouts, limits, retries, error
mapping), ``_limits`` (what an answer may cost, and how many tasks run at once),
``_error_answers`` (what an error body says), ``_pricing`` (price schedules and quotes),
``_polling`` (when to ask again), ``_uploads`` (local files as remix sources),
``_checks`` (arguments), ``_settings`` (key and base URL), ``_defaults`` (the process-wide
default clients) and ``_embedded`` (the simulator child process used when no key is
configured). The client knows no screen.
"""

from __future__ import annotations

from ._core import AsyncFlux2Client, Flux2Client, ResultCallback, UpdateCallback
from ._defaults import default_async_client, default_client
from ._limits import ResponseLimits
from ._polling import PollPolicy

__all__ = [
    "AsyncFlux2Client",
    "Flux2Client",
    "PollPolicy",
    "ResponseLimits",
    "ResultCallback",
    "UpdateCallback",
    "default_async_client",
    "default_client",
]
