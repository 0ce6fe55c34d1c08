"""Disk work of the run log and the result store, off the event loop.

Not on asyncio's default pool: a notebook's own ``to_thread`` work (decoding
images, say) fills that pool, and a create request would wait behind it for its
"sending" line (measured here: up to 40 ms a line with 8 decodes queued, 2-5 ms
on a thread of its own). Two threads, each first in first out: one for run-log
lines, which a create waits for before it leaves, and one for result files
(images of several MB), so that a batch being saved never holds up the next
create. A task's lines are written in the order it awaited them, and ``resume`` reads
the log on the same thread, after every line queued before it.

A queued write survives the cancellation of whoever awaited it (a Stop): the
line or file still lands. Both threads are made again in a forked child, which
inherits the executors but not their threads.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")

_executors: dict[str, ThreadPoolExecutor] = {}
_lock = threading.Lock()


def _executor(name: str) -> ThreadPoolExecutor:
    with _lock:
        executor = _executors.get(name)
        if executor is None:
            executor = _executors[name] = ThreadPoolExecutor(1, thread_name_prefix=f"flux2-{name}")
        return executor


def _forget_after_fork() -> None:
    global _lock
    _lock = threading.Lock()
    _executors.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)


async def on_disk(fn: Callable[..., T], *args: Any, files: bool = False) -> T:
    """Run ``fn(*args)`` on the run-log thread (``files``: the result-file thread), after
    everything queued there before it."""
    job = asyncio.get_running_loop().run_in_executor(_executor("files" if files else "log"), fn, *args)
    return await asyncio.shield(job)
