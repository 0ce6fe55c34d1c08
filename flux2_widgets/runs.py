"""One run driven into one view: the protocol a view implements, and the driver.

A view (a ``TaskTile``, a comparison cell's tile, or a plain recorder in a test) is told what
happens to its request: started, each status seen, the result or the error, stopped. The driver
asks the client to ``collect`` the request, which waits for an existing task (a resume sends
nothing new) or submits a new one.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any, Protocol

from .catalog import ImageRequest
from .errors import TaskFailedError, ValidationError
from .results import Generation, Task
from .store import ResultStore

__all__ = ["CollectingClient", "RunView", "create_key", "run_in_view"]


def create_key(current: str, last_error: BaseException | None) -> str:
    """The Idempotency-Key for sending a request (again). Kept while an earlier create may
    have reached the service with its answer lost (an outage, a timeout, a stop): the service
    then returns that very task, charged once. New when there is none yet, or when the service
    settled it: it refused the create (a 4xx other than 408/429) or the task failed (the same
    key would only return the failed task). Whatever its age: a Retry is asked for, and if the
    service has forgotten an old key, a new one would bill a second task just the same (unlike
    ``resume``, which does not send old creates again unasked)."""
    if not current:
        return uuid.uuid4().hex
    if isinstance(last_error, (TaskFailedError, ValidationError)):
        return uuid.uuid4().hex
    status = getattr(last_error, "status", None)
    if isinstance(status, int) and 400 <= status < 500 and status not in (408, 429):
        return uuid.uuid4().hex
    return current


class RunView(Protocol):
    """What one run reports to. ``TaskTile`` is one; a test may use a plain recorder."""

    request: ImageRequest
    task: Task | None
    task_id: str
    exception: BaseException | None
    #: The Idempotency-Key of the view's create ("" until the first send).
    idempotency_key: str

    @property
    def retry_mode(self) -> str: ...

    def start(self, *, resume: bool = False) -> None: ...

    def update(self, task: Task) -> None: ...

    async def show_generation(self, gen: Generation, *, latency_known: bool = True) -> None: ...

    def show_error(self, exc: BaseException | str) -> None: ...

    def mark_stopped(self) -> None: ...


class CollectingClient(Protocol):
    """The part of ``AsyncFlux2Client`` a run needs."""

    async def collect(self, request: ImageRequest | None = None, *, task: Task | None = None,
                      timeout: float | None = None, on_update: Callable[[Task], Any] | None = None,
                      store: ResultStore | None = None, idempotency_key: str | None = None) -> Generation: ...


async def run_in_view(client: CollectingClient, view: RunView, request: ImageRequest | None = None, *,
                      timeout: float | None = None, store: ResultStore | None = None,
                      resume: bool = False) -> Generation | Exception:
    """Drive one generation into one view. Returns the ``Generation`` or the error (shown in the
    view, not raised). ``resume=True`` waits for the view's existing task instead of sending a new
    one. Cancelling the coroutine marks the view stopped and re-raises."""
    if request is not None:
        view.request = request
    resume = resume and bool(view.task_id)
    previous = view.task
    task: Task | None = None
    if resume:
        if previous is not None and previous.id == view.task_id:
            task = previous
        else:
            task = Task(id=view.task_id, action=view.request.action or "text_to_image", status="pending",
                        request=view.request)
    # A task an earlier session submitted and that finished while nobody watched has no
    # duration anyone saw: the service sends no timestamps, so the tile must not invent one.
    first_seen: list[str] = []

    def on_update(task: Task) -> None:
        if not first_seen:
            first_seen.append(task.status)
        try:
            view.update(task)
        except Exception:  # a display hiccup must never break the client's polling
            pass

    if task is None:
        view.idempotency_key = create_key(view.idempotency_key, view.exception)
    view.start(resume=resume)
    try:
        gen = await client.collect(view.request, task=task, timeout=timeout, on_update=on_update,
                                   idempotency_key=None if task is not None else view.idempotency_key,
                                   **({} if store is None else {"store": store}))
    except asyncio.CancelledError:
        view.mark_stopped()
        raise
    except Exception as exc:
        view.show_error(exc)
        return exc
    # Resumed and already completed at the first look: nobody saw when it finished.
    latency_known = not (resume and first_seen[:1] == ["completed"])
    try:
        await view.show_generation(gen, latency_known=latency_known)
    except asyncio.CancelledError:
        view.mark_stopped()
        raise
    except Exception as exc:  # charged, but the image could not be shown
        view.show_error(exc)
    return gen
