"""Run a coroutine to completion from synchronous code.

Plain scripts get a private event loop per thread, kept for the life of the
thread so pooled connections survive between calls. Inside a notebook the
kernel's loop is already running: only then is nested-loop support applied,
to that loop, so widget tasks keep running while a sync call waits.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import threading
import weakref
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

_local = threading.local()
_patched: set[int] = set()
_patch_lock = threading.Lock()
_private_loops: weakref.WeakSet[asyncio.AbstractEventLoop] = weakref.WeakSet()


def private_loop() -> asyncio.AbstractEventLoop:
    loop: asyncio.AbstractEventLoop | None = getattr(_local, "loop", None)
    if loop is None or loop.is_closed():
        loop = asyncio.new_event_loop()
        _local.loop = loop
        _private_loops.add(loop)
    return loop


@atexit.register
def _close_private_loops() -> None:
    for loop in list(_private_loops):
        if not loop.is_running() and not loop.is_closed():
            loop.close()


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
        _pad_ready_queue(loop)
        _patched.add(id(loop))


def _noop() -> None:
    return None


def _pad_ready_queue(loop: asyncio.AbstractEventLoop) -> None:
    """Keep the caller's (unpatched) ``_run_once`` frame alive across a nested run.

    The loop iteration that runs the notebook cell began before nest_asyncio2 was
    applied: it counted the ready handles up front and pops exactly that many. A
    nested run drains some of them, so that frame would pop an empty deque and
    kill the kernel (erdewit/nest_asyncio#11). Topping the queue back up with
    no-op handles lets it finish its count.
    """
    ready = getattr(loop, "_ready", None)
    if ready is None:
        return
    nested = loop.run_until_complete

    def run_until_complete(future: Any) -> Any:
        before = len(ready)
        try:
            return nested(future)
        finally:
            for _ in range(before - len(ready)):
                loop.call_soon(_noop)

    loop.run_until_complete = run_until_complete  # type: ignore[method-assign]


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        loop = private_loop()
    else:
        allow_nesting(loop)
    task = loop.create_task(coro)
    try:
        return loop.run_until_complete(task)
    except BaseException:
        # Ctrl-C (or any escape) must stop the work too: on a notebook's loop an
        # orphaned task would keep polling and report into whatever cell runs next.
        if not task.done():
            task.cancel()
            with contextlib.suppress(BaseException):
                loop.run_until_complete(task)
        raise
