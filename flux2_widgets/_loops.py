"""Run a model's work on its home event loop, whatever thread a callback arrives on.

Why this exists: ipykernel 7 with JupyterLab's default settings delivers widget messages on
kernel *subshell* threads, each running its own asyncio loop. A button handler therefore runs
on a loop that is not the one the client's connection pools, events and tasks belong to, and
anything loop-bound used from there fails ("... is bound to a different event loop") or is
silently never awaited. The rule of the widget layer: a model remembers the loop it was born on
(the notebook's loop when a cell builds it) and every piece of work it starts runs there;
callbacks on other threads hand their work over with ``call_soon_threadsafe``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

__all__ = ["HomeLoop", "running_loop"]

T = TypeVar("T")


def running_loop() -> asyncio.AbstractEventLoop | None:
    """The loop running this code (a notebook cell's, a handler's), or ``None`` in plain code."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class HomeLoop:
    """The loop a model's asynchronous work belongs to.

    Built inside a running loop (a notebook cell), that loop is home. Built in plain
    synchronous code, home is a private loop on a daemon thread of its own, so buttons
    still work when nothing else drives a loop (a script, a test without asyncio).
    """

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self._loop = loop if loop is not None else running_loop()
        self._thread: threading.Thread | None = None

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None or self._loop.is_closed():
            self._loop = self._start_private()
        return self._loop

    def is_current(self) -> bool:
        """True when the caller runs on the home loop itself."""
        try:
            return asyncio.get_running_loop() is self.loop
        except RuntimeError:
            return False

    def call(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn(*args)`` on the home loop: at once when already there, else as soon as
        the home loop gets to it (never on the caller's thread)."""
        if self.is_current():
            fn(*args)
        else:
            self.loop.call_soon_threadsafe(fn, *args)

    def spawn(self, make: Callable[[], Coroutine[Any, Any, T]],
              done: Callable[[asyncio.Task[T]], Any] | None = None,
              ) -> concurrent.futures.Future[asyncio.Task[T]]:
        """Create a task from ``make()`` on the home loop. The coroutine is created there
        too, so nothing in it is bound to the caller's loop. The returned future holds the
        task once it exists (already resolved when called from the home loop)."""
        handed: concurrent.futures.Future[asyncio.Task[T]] = concurrent.futures.Future()

        def start() -> None:
            try:
                task = self.loop.create_task(make())
            except BaseException as exc:  # hand the failure to whoever waits for the task
                handed.set_exception(exc)
                return
            if done is not None:
                task.add_done_callback(done)
            handed.set_result(task)

        self.call(start)
        return handed

    def _start_private(self) -> asyncio.AbstractEventLoop:
        loop = asyncio.new_event_loop()
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(loop)
            ready.set()
            loop.run_forever()

        self._thread = threading.Thread(target=run, name="flux2-home-loop", daemon=True)
        self._thread.start()
        ready.wait()
        return loop
