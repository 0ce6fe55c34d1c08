"""The workspace's own thread, for database work called from an event loop.

One thread, first in first out, not asyncio's default pool (which a notebook's own
``to_thread`` work fills) nor the preview thread (a page of thumbnails would hold up a
vote). A lock wait (another process's transaction) then stalls only this thread, never
the kernel's loop. Made again in a forked child, which inherits the executor but not
its thread.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

__all__ = ["off_loop"]

T = TypeVar("T")
_executor: ThreadPoolExecutor | None = None
_lock = threading.Lock()


def _workspace_executor() -> ThreadPoolExecutor:
    global _executor
    with _lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(1, thread_name_prefix="flux2-workspace")
        return _executor


def _forget_after_fork() -> None:
    global _executor, _lock
    _executor, _lock = None, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)


async def off_loop(fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` on the workspace thread; the running loop goes on meanwhile. A write
    that was started finishes even if the awaiting task is cancelled."""
    job = asyncio.get_running_loop().run_in_executor(_workspace_executor(), fn, *args)
    return await asyncio.shield(job)
