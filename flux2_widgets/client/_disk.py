"""The run log's writer: one thread, first in first out.

Run-log lines and result files are written off the event loop, but not on
asyncio's default pool: a notebook's own ``to_thread`` work (decoding images,
say) fills that pool, and a create request would then wait behind it for its
"sending" line. Measured in ``benchmarks/bench_polling.py``: with 8 decodes
queued, a line took up to 40 ms to land on the shared pool. One thread also
keeps the log in the order things happened (sent, answered, completed), which
``ResultStore.pending`` relies on.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")

_executor: ThreadPoolExecutor | None = None
_lock = threading.Lock()


def _writer() -> ThreadPoolExecutor:
    global _executor
    with _lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(1, thread_name_prefix="flux2-disk")
        return _executor


async def on_disk(fn: Callable[..., T], *args: Any) -> T:
    """Run ``fn(*args)`` on the writer thread, after everything queued before it."""
    return await asyncio.get_running_loop().run_in_executor(_writer(), fn, *args)
