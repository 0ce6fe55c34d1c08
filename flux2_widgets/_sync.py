"""Run a coroutine to completion from synchronous code.

Plain scripts get a private event loop per thread, kept for the life of the
thread so pooled connections survive between calls. Inside a notebook the
kernel's loop is already running: only then is nested-loop support applied,
to that loop, so widget tasks keep running while a sync call waits.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

_local = threading.local()
_patched: set[int] = set()
_patch_lock = threading.Lock()


def private_loop() -> asyncio.AbstractEventLoop:
    loop: asyncio.AbstractEventLoop | None = getattr(_local, "loop", None)
    if loop is None or loop.is_closed():
        loop = asyncio.new_event_loop()
        _local.loop = loop
    return loop


def current_loop() -> asyncio.AbstractEventLoop:
    """The loop a sync call will run on: the running one, else this thread's private one."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return private_loop()


def allow_nesting(loop: asyncio.AbstractEventLoop) -> None:
    """Let ``loop.run_until_complete`` be called while ``loop`` is running."""
    with _patch_lock:
        if id(loop) in _patched:
            return
        import nest_asyncio2

        nest_asyncio2.apply(loop)
        _patched.add(id(loop))


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return private_loop().run_until_complete(coro)
    allow_nesting(loop)
    return loop.run_until_complete(coro)
