"""Deliver widget messages the way ipykernel 7 does under JupyterLab's default settings.

With ``commsOverSubshells`` on (JupyterLab 4.4+'s default, "perCommTarget"), every
``jupyter.widget`` comm message is handled on a kernel *subshell*: a thread of its own
running its own asyncio loop forever, while the notebook's loop (where cells run and
where the client's connections, events and tasks live) keeps running in the main
thread. Clicking from code on the main thread (``button.click()``, nbclient) never
exercises that: this harness does.

``Subshell`` feeds a widget's comm handler (``widget._handle_msg``) the message the
front end sends, inside a coroutine on the subshell's loop, exactly as ipykernel's
``dispatch_shell`` does. It records every asyncio task created on that loop besides
its own handlers, so a test can assert that a click started *no* work there (work
must run on the model's home loop). ``errors`` collects what the widget layer would
only have logged: exceptions in callbacks and in tasks nobody awaited.

``click_on_an_idle_subshell`` is the other half: the click's loop is left open but no
longer running, as under nest_asyncio (which ipykernel ships). Anything that adopted that
loop as its home would never run again.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["Subshell", "click_on_an_idle_subshell", "close_idle_subshells", "subshell"]


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            text += f" [{type(record.exc_info[1]).__name__}: {record.exc_info[1]}]"
        self.records.append(f"{record.name}: {text}")


class Subshell:
    """A thread with its own forever-running loop that handles comm messages."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        #: Tasks created on the subshell loop other than the message handlers themselves.
        self.stray_tasks: list[str] = []
        self._handlers: set[int] = set()
        self.loop.set_task_factory(self._task_factory)
        self.loop.set_exception_handler(self._on_loop_error)
        self._log = _Collect()
        self.thread = threading.Thread(target=self._run, name="subshell-test", daemon=True)

    # -- life --------------------------------------------------------------------
    def start(self) -> Subshell:
        ready = threading.Event()
        self.loop.call_soon(ready.set)
        self.thread.start()
        ready.wait(5)
        logging.getLogger().addHandler(self._log)
        return self

    def stop(self) -> None:
        logging.getLogger().removeHandler(self._log)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def _task_factory(self, loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> asyncio.Task[Any]:
        task: asyncio.Task[Any] = asyncio.Task(coro, loop=loop, **kwargs)
        if id(coro) not in self._handlers:
            self.stray_tasks.append(getattr(coro, "__qualname__", repr(coro)))
        return task

    def _on_loop_error(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        self._log.records.append(f"subshell loop: {context.get('message')} {context.get('exception')!r}")

    # -- messages ----------------------------------------------------------------
    def deliver(self, widget: Any, data: dict[str, Any], buffers: list[bytes] | None = None,
                ) -> concurrent.futures.Future[None]:
        """Hand ``widget`` a comm message's ``data`` on the subshell thread."""
        msg = {"header": {"msg_type": "comm_msg"}, "parent_header": {},
               "content": {"comm_id": widget.model_id, "data": data}, "buffers": buffers or []}

        async def handle() -> None:
            widget._handle_msg(msg)

        coro = handle()
        self._handlers.add(id(coro))
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    async def send(self, widget: Any, data: dict[str, Any]) -> None:
        """Deliver and wait for the handler, without blocking the caller's loop."""
        await asyncio.wait_for(asyncio.wrap_future(self.deliver(widget, data)), 10)

    async def click(self, button: Any) -> None:
        """What the front end sends when a user clicks a Button."""
        assert not button.disabled, f"{button.description!r} is disabled"
        await self.send(button, {"method": "custom", "content": {"event": "click"}})

    async def set_state(self, widget: Any, **state: Any) -> None:
        """What the front end sends when a user types into or toggles a control."""
        await self.send(widget, {"method": "update", "state": state, "buffer_paths": []})

    # -- verdicts --------------------------------------------------------------------
    @property
    def errors(self) -> list[str]:
        return list(self._log.records)

    def assert_clean(self) -> None:
        """Nothing ran on the subshell's loop but the handlers, and nothing failed."""
        assert not self.stray_tasks, f"work started on the subshell's loop: {self.stray_tasks}"
        assert not self.errors, "errors logged while handling widget messages:\n" + "\n".join(self.errors)


@contextmanager
def subshell() -> Iterator[Subshell]:
    shell = Subshell().start()
    try:
        yield shell
    finally:
        shell.stop()


_IDLE_LOOPS: list[asyncio.AbstractEventLoop] = []


def click_on_an_idle_subshell(button: Any) -> None:
    """Click as ipykernel 7 does with comms over subshells: on another thread, inside that
    thread's own event loop, while the notebook's loop keeps running. The subshell's loop is
    left open but idle afterwards (as under nest_asyncio, which ipykernel ships): anything
    that adopted it as home would never run again."""
    errors: list[BaseException] = []

    async def click() -> None:
        button._handle_msg({"content": {"data": {"method": "custom", "content": {"event": "click"}}},
                            "buffers": []})

    def run() -> None:
        loop = asyncio.new_event_loop()
        _IDLE_LOOPS.append(loop)
        try:
            loop.run_until_complete(click())
        except BaseException as exc:  # surfaced in the test thread
            errors.append(exc)

    thread = threading.Thread(target=run, name="subshell")
    thread.start()
    thread.join(5)
    if errors:
        raise errors[0]


def close_idle_subshells() -> None:
    """Close the loops ``click_on_an_idle_subshell`` left open."""
    while _IDLE_LOOPS:
        _IDLE_LOOPS.pop().close()
