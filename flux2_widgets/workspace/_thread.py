"""The workspace's own thread, for database work called from an event loop.

One thread, first in first out, not asyncio's default pool (which a notebook's own
``to_thread`` work fills) nor the preview thread (a page of thumbnails would hold up a
vote). A lock wait (another process's transaction) then stalls only this thread, never
the kernel's loop. Made again in a forked child, which inherits the executor but not
its thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

from .._threads import DedicatedThread

__all__ = ["off_loop"]

T = TypeVar("T")
_thread = DedicatedThread("flux2-workspace")
_workspace_executor = _thread.executor


async def off_loop(fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` on the workspace thread; the running loop goes on meanwhile. A write
    that was started finishes even if the awaiting task is cancelled."""
    job = _thread.run(fn, *args)
    return await asyncio.shield(job)
