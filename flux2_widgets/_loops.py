"""Run a model's work on its home event loop, whatever thread a callback arrives on.

Why this exists: ipykernel 7 with JupyterLab's default settings delivers widget messages on
kernel *subshell* threads, each running its own asyncio loop. A button handler therefore runs
on a loop that is not the one the client's connection pools, events and tasks belong to, and
anything loop-bound used from there fails ("... is bound to a different event loop") or is
silently never awaited. The rule of the widget layer: a model remembers the loop it was born on
(the notebook's loop when a cell builds it) and every piece of work it starts runs there;
callbacks on other threads hand their work over with ``call_soon_threadsafe``.

Plain code (a script, a test without asyncio) has no loop of its own: its models share one
background loop on a daemon thread, started the first time new work needs it. Finalizers and
``close()`` never start it: ``call_if_alive`` does nothing when the home loop has ended, since
work on an ended loop is already over. (A thread cannot even start at interpreter exit, and a
finalizer that waits for one hangs the process.)
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

__all__ = ["HomeLoop", "background_loop", "running_loop"]

T = TypeVar("T")

_background: asyncio.AbstractEventLoop | None = None
_background_lock = threading.Lock()


def running_loop() -> asyncio.AbstractEventLoop | None:
    """The loop running this code (a notebook cell's, a handler's), or ``None`` in plain code."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def background_loop(*, start: bool = True) -> asyncio.AbstractEventLoop | None:
    """The process's one background loop for plain code (started on first use when ``start``)."""
    global _background
    with _background_lock:
        if _background is not None and not _background.is_closed():
            return _background
        if not start:
            return None
        loop = asyncio.new_event_loop()
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(loop)
            ready.set()
            loop.run_forever()

        threading.Thread(target=run, name="flux2-background-loop", daemon=True).start()
        ready.wait()
        _background = loop
        return loop


def _forget_after_fork() -> None:
    # The child has the loop object but not the thread that ran it.
    global _background, _background_lock
    _background, _background_lock = None, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)


class HomeLoop:
    """The loop a model's asynchronous work belongs to.

    Built inside a running loop (a notebook cell), that loop is home. Built in plain
    synchronous code, or once the home loop has ended, new work goes to the process's
    background loop, so buttons still work when nothing else drives a loop.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self._loop = loop if loop is not None else running_loop()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """Where new work runs (starting the background loop if it must: never from a finalizer)."""
        if self._loop is None or self._loop.is_closed():
            self._loop = background_loop()
        assert self._loop is not None
        return self._loop

    @property
    def alive(self) -> asyncio.AbstractEventLoop | None:
        """The home loop if work can still run there, without starting anything."""
        loop = self._loop
        return loop if loop is not None and not loop.is_closed() else None

    def is_current(self) -> bool:
        """True when the caller runs on the home loop itself."""
        loop = running_loop()
        return loop is not None and loop is self.alive

    def call(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn(*args)`` on the home loop: at once when already there, else as soon as
        the home loop gets to it (never on the caller's thread)."""
        if self.is_current():
            fn(*args)
        else:
            self.loop.call_soon_threadsafe(fn, *args)

    def call_if_alive(self, fn: Callable[..., Any], *args: Any) -> bool:
        """Like ``call``, but only while the home loop lives: for cancelling and closing, which
        have nothing left to do once the loop has ended. Never starts a thread or waits."""
        loop = self.alive
        if loop is None:
            return False
        if running_loop() is loop:
            fn(*args)
            return True
        try:
            loop.call_soon_threadsafe(fn, *args)
        except RuntimeError:  # closed between the check and the call
            return False
        return True

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

    def run(self, make: Callable[[], Coroutine[Any, Any, T]], timeout: float | None = None) -> T:
        """Run ``make()`` on the home loop and wait for its result from synchronous code
        (see ``block_on``)."""
        result: concurrent.futures.Future[T] = concurrent.futures.Future()

        async def body() -> None:
            try:
                result.set_result(await make())
            except BaseException as exc:
                result.set_exception(exc)
                if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                    raise

        self.spawn(body)
        return self.block_on(result, timeout)

    def block_on(self, future: concurrent.futures.Future[T], timeout: float | None = None) -> T:
        """Wait, from synchronous code, for ``future`` (resolved by work on the home loop).

        On the home loop itself (a notebook cell calling ``wait()``) the loop is run nested
        (nest_asyncio2, applied only then), so widgets keep updating; from another thread the
        caller simply blocks. From a different *running* loop it refuses: that loop would stall
        (use ``await`` there)."""
        running = running_loop()
        home = self.alive
        if running is not None and running is not home:
            raise RuntimeError("this was started on another event loop; use `await` here instead "
                               "of a blocking wait()")
        if running is None:
            return future.result(timeout)
        from ._sync import allow_nesting

        allow_nesting(running)
        # shield: a timeout stops the waiting, not the work (cancelling a wrapped future would
        # cancel the concurrent one too)
        waiter = asyncio.shield(asyncio.wrap_future(future, loop=running))
        try:
            return running.run_until_complete(asyncio.wait_for(waiter, timeout))
        except asyncio.TimeoutError:
            raise concurrent.futures.TimeoutError() from None
