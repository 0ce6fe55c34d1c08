"""A dedicated worker thread for one kind of work (previews, the workspace's database),
started on first use.

A forked child inherits the executor but not its thread, so work sent there would wait for
ever: the child forgets it and starts its own on first use.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

__all__ = ["DedicatedThread"]

T = TypeVar("T")


class DedicatedThread:
    """One worker thread, first in first out, named ``name`` (as seen in a stack dump)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._executor: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=self._forget)

    def executor(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(1, thread_name_prefix=self.name)
            return self._executor

    def _forget(self) -> None:
        self._executor, self._lock = None, threading.Lock()

    def run(self, fn: Callable[..., T], *args: Any) -> asyncio.Future[T]:
        """``fn(*args)`` on this thread, as a future of the running loop."""
        return asyncio.get_running_loop().run_in_executor(self.executor(), fn, *args)
