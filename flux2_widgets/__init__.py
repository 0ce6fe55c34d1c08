"""Flux 2 image models (via RunAPI) in Jupyter: widgets, a sync/async client,
side-by-side comparisons and an offline simulator.

``import flux2_widgets`` stays light: names are imported on first use, so
httpx, Pillow, ipywidgets and the simulator's server load only when needed.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    "ImageRequest": "catalog",
    "Flux2Client": "client",
    "AsyncFlux2Client": "client",
    "PollPolicy": "client",
    "ResponseLimits": "client",
    "default_client": "client",
    "default_async_client": "client",
    "Task": "results",
    "Generation": "results",
    "GeneratedImage": "results",
    "ResultStore": "store",
    "Simulator": "simulator",
    "Studio": "widgets",
    "CompareWidget": "widgets",
    "compare_tiers": "compare",
    "compare_resolutions": "compare",
    "compare_prompts": "compare",
    "compare_grid": "compare",
    "grid": "compare",
    "Axis": "compare",
    "cost_table": "compare",
    "tally_votes": "compare",
    "Arena": "compare.arena",
    "compare_until_decided": "compare.decide",
    "inspect": "widgets.inspect_view",
    "History": "compare.history",
    "Flux2Error": "errors",
    "ValidationError": "errors",
    "APIError": "errors",
    "BadRequestError": "errors",
    "ConflictError": "errors",
    "MalformedResponseError": "errors",
    "AuthenticationError": "errors",
    "InsufficientCreditsError": "errors",
    "NotFoundError": "errors",
    "RateLimitError": "errors",
    "ServerError": "errors",
    "NetworkError": "errors",
    "APITimeoutError": "errors",
    "ImageDownloadError": "errors",
    "NoImageError": "errors",
    "TaskFailedError": "errors",
    "UnknownStatusError": "errors",
    "TaskTimeoutError": "errors",
    "BudgetExceededError": "errors",
    "UnansweredCreateError": "errors",
    "WorkspaceError": "errors",
    "DuplicateVoteError": "errors",
    "ArenaExistsError": "errors",
    "Workspace": "workspace",
}
#: Old names kept importable (``from flux2_widgets import TimeoutError``) but left out of
#: ``__all__``: a star import must not shadow the builtin ``TimeoutError``.
_COMPAT: dict[str, str] = {"TimeoutError": "errors"}

__all__ = [*_EXPORTS, "__version__"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name) or _COMPAT.get(name)
    if module is None:
        raise AttributeError(f"module 'flux2_widgets' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from .catalog import ImageRequest
    from .client._core import AsyncFlux2Client, Flux2Client
    from .client._defaults import default_async_client, default_client
    from .client._limits import ResponseLimits
    from .client._polling import PollPolicy
    from .compare import (
        Axis,
        compare_grid,
        compare_prompts,
        compare_resolutions,
        compare_tiers,
        cost_table,
        grid,
        tally_votes,
    )
    from .compare.arena import Arena
    from .compare.decide import compare_until_decided
    from .compare.history import History
    from .errors import (
        APIError,
        APITimeoutError,
        ArenaExistsError,
        AuthenticationError,
        BadRequestError,
        BudgetExceededError,
        ConflictError,
        DuplicateVoteError,
        Flux2Error,
        ImageDownloadError,
        InsufficientCreditsError,
        MalformedResponseError,
        NetworkError,
        NoImageError,
        NotFoundError,
        RateLimitError,
        ServerError,
        TaskFailedError,
        TaskTimeoutError,
        TimeoutError,
        UnansweredCreateError,
        UnknownStatusError,
        ValidationError,
        WorkspaceError,
    )
    from .results import GeneratedImage, Generation, Task
    from .simulator import Simulator
    from .store import ResultStore
    from .widgets import CompareWidget, Studio
    from .widgets.inspect_view import inspect
    from .workspace import Workspace
