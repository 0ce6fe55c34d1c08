"""``Run``: one generation's whole life as one observable model.

Longer than most modules, for one job: the lifecycle of one request (its verbs, its status,
the resume-or-resend rule and its money state), which every view, export and the CLI read.

A run holds the request, its Idempotency-Key, the task, one status vocabulary, the result
(a ``Generation`` and its preview) or the error, what Resume or Retry would do now, and its
money state. The Studio's session and the comparisons hold runs; tiles, grids, exports and the
CLI only read them (traitlets: ``run.observe(callback, "status")``), so there is one status, one
resume-or-resend rule and one money truth. It holds no widgets and a test drives it headless.

Life: ``queued`` -> ``submitting`` (the create is being sent) -> ``pending`` / ``processing`` ->
``downloading`` (the task completed; its image is arriving) -> ``completed``; or ``failed`` (an
error, whatever kind) or ``stopped`` (someone stopped waiting). ``start`` / ``stop`` /
``retry`` / ``refresh`` / ``wait`` are the verbs; every one is safe from any thread: the work
runs on the run's home loop (see ``_loops``), where the client's connection pools live, and the
traits change only there.

Money (``money``, worded by ``money.py``): ``estimate`` before anything is sent; ``in flight``
once the create leaves; ``billed`` once the task completed; ``not charged`` only when the
service said the task failed or refused the create (or nothing was sent); ``may still be billed``
for everything else that ended: stopped, or cut off by an outage, after the create may have
reached the service. ``refresh()`` asks the service once and settles it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from traitlets import Bytes, HasTraits, Unicode

from ._loops import HomeLoop
from .catalog import ImageRequest
from .errors import Flux2Error, TaskFailedError, TaskTimeoutError, ValidationError, is_refusal
from .money import BILLED, ESTIMATE, IN_FLIGHT, MAY_BE_BILLED, NOT_CHARGED, money_text
from .results import THUMBNAIL_SIDE, Generation, Task

__all__ = ["ACTIVE", "ENDED", "STATUSES", "STEPS", "Run"]

STATUSES = ("queued", "submitting", "pending", "processing", "downloading", "completed", "failed", "stopped")
#: Statuses while the run's work is going.
ACTIVE = ("submitting", "pending", "processing", "downloading")
ENDED = ("completed", "failed", "stopped")
#: What Resume / Retry does: wait for the same task (nothing new is sent or charged), send the
#: create again with its Idempotency-Key (the service returns the task if it made it: one
#: charge), or send it as a new task (the service refused it or said it failed).
STEPS = ("resume", "resend", "new")

_UNSET: Any = object()


def _said_failed(exc: BaseException | None) -> bool:
    """The service itself said the task failed (failed tasks are not charged)."""
    return isinstance(exc, TaskFailedError)


def _async_client(source: Any) -> Any:
    """The async client for the loop this runs on (a sync client keeps one per loop)."""
    aio = getattr(source, "aio", None)
    return aio if aio is not None else source


class Run(HasTraits):
    """One request's life. ``Run(request, client)``; ``run.start()``, then ``run.wait()`` or
    ``await run``; ``run.generation`` once completed. See the module docstring."""

    #: One of ``STATUSES``.
    status = Unicode("queued")
    #: The service's task id ("" until the create is answered).
    task_id = Unicode("")
    #: One of ``money.MONEY_STATES``.
    money = Unicode(ESTIMATE)
    #: The error of a failed run, redacted, for people ("" otherwise).
    error_text = Unicode("")
    #: A JPEG preview (``preview_side`` px), made off the loop before the run says "completed".
    preview = Bytes(b"")
    #: What ``retry()`` would do now: one of ``STEPS``, or "" while there is nothing to retry.
    next_step = Unicode("")

    def __init__(self, request: ImageRequest, client: Any = None, *, store: Any = None,
                 timeout: float | None = None, home: HomeLoop | None = None, task: Task | None = None,
                 idempotency_key: str = "", sent: bool = False, price: float | None = _UNSET,
                 preview_side: int = THUMBNAIL_SIDE, origin: str = "session") -> None:
        super().__init__()
        if not isinstance(request, ImageRequest):
            raise ValidationError(f"a run needs an ImageRequest, got {type(request).__name__}",
                                  field="request", value=type(request).__name__, allowed="ImageRequest")
        if client is None:
            from .client._defaults import default_client

            client = default_client()
        self.request = request
        #: The client (sync or async) the run collects with; a sync one lends its async twin
        #: for the home loop.
        self.client = client
        self.store = store
        self.timeout = timeout
        self.home = home if home is not None else HomeLoop()
        #: The task as last seen (``None`` before the create is answered).
        self.task: Task | None = task
        self.generation: Generation | None = None
        self.error: BaseException | None = None
        self.idempotency_key = idempotency_key or uuid.uuid4().hex
        #: The create may have reached the service (it was sent, now or in an earlier session).
        self.sent = sent or task is not None
        #: USD the run is expected to cost (the catalog's, or a live price list's), ``None`` unknown.
        self.estimate: float | None = request.estimated_cost if price is _UNSET else price
        self.preview_side = preview_side
        #: "session" (started here) or "earlier" (a task an earlier session left unfinished).
        self.origin = origin
        #: False when the task finished while nobody watched (collected later): no latency to show.
        self.latency_known = True
        self.started_at: float | None = None
        self.finished_at: float | None = None
        self._t0: float | None = None
        self._elapsed = 0.0
        self._job: asyncio.Task[None] | None = None
        self._driving = False
        self._starting = False
        self._ended: concurrent.futures.Future[Run] = concurrent.futures.Future()
        #: Set once the create was answered (or the run ended): see ``wait_submitted``.
        self._answered = threading.Event()
        if task is not None:
            self.task_id = task.id
        if self.sent:
            # A task (or a create) from before: it may finish, or have finished, and be billed.
            self.money = MAY_BE_BILLED
        self._refresh_step()

    @classmethod
    def from_generation(cls, generation: Generation, client: Any, *, home: HomeLoop | None = None,
                        preview_side: int = THUMBNAIL_SIDE) -> Run:
        """A completed run around a result you already have (History, an earlier comparison):
        nothing is sent. Its preview is made off the loop, on the home loop's time."""
        run = cls(generation.request, client, task=generation.task, home=home, preview_side=preview_side,
                  price=generation.estimated_cost)
        run.generation = generation
        run.latency_known = True
        run.started_at, run.finished_at = generation.submitted_at, generation.completed_at
        run._update(status="completed", money=BILLED, task_id=generation.id)
        run._refresh_step()
        run._ended.set_result(run)
        run.home.spawn(run._make_preview)
        return run

    async def _make_preview(self) -> None:
        gen = self.generation
        if gen is None or not gen.images or self.preview:
            return
        try:
            self._update(preview=await gen.images[0].athumbnail(self.preview_side))
        except Exception as exc:  # an image gone from disk: say so on the card
            self._update(error_text=_error_text(exc))

    def __repr__(self) -> str:
        task = f" task {self.task_id}," if self.task_id else ""
        return f"<Run {self.request.label}:{task} {self.status}, {self.cost_text}>"

    # -- reading ---------------------------------------------------------------------------
    @property
    def active(self) -> bool:
        """Going, or asked to start (from another thread) and about to."""
        return self.status in ACTIVE or self._starting

    @property
    def done(self) -> bool:
        return self.status in ENDED and not self._starting

    @property
    def ok(self) -> bool:
        return self.generation is not None and self.status == "completed"

    @property
    def simulated(self) -> bool:
        if self.generation is not None:
            return self.generation.simulated
        return bool(getattr(self.client, "simulated", False))

    @property
    def elapsed(self) -> float:
        """Seconds this attempt has been going, or took; the task's latency once completed."""
        if self.generation is not None and self.status == "completed":
            return self.generation.elapsed
        if self._t0 is not None and self.active:
            return time.monotonic() - self._t0
        return self._elapsed

    @property
    def latency(self) -> float | None:
        """Submit to completion as the client saw it; ``None`` unless completed and watched."""
        if self.generation is not None and self.latency_known:
            return self.generation.elapsed
        return None

    @property
    def billed_cost(self) -> float | None:
        """What the service billed: its ``usage.cost`` once the task completed (``None`` when it
        did not report one), 0 when it said the task failed or refused it; ``None`` while the
        outcome is open."""
        if self.money == NOT_CHARGED:
            return 0.0
        if self.money != BILLED or self.task is None:
            return None
        return self.task.billed_cost

    @property
    def cost(self) -> float | None:
        """The money this run stands for: billed (reported, else estimated), what it may still
        be billed (never 0 while the service may bill), 0 only when not charged."""
        if self.money == NOT_CHARGED:
            return 0.0
        if self.money == BILLED and self.billed_cost is not None:
            return self.billed_cost
        return self.estimate

    @property
    def cost_source(self) -> str:
        """Where ``cost`` comes from: "billed" (the service said: its usage.cost, or failed) or
        "estimate"."""
        return "billed" if self.billed_cost is not None else "estimate"

    @property
    def committed(self) -> float:
        """What counts against a budget: spent, running, or possibly billed (0 if not charged)."""
        return self.cost or 0.0

    @property
    def cost_text(self) -> str:
        return money_text(self.money, self.cost, simulated=self.simulated,
                          reported=self.money == BILLED and self.billed_cost is not None)

    @property
    def size(self) -> tuple[int, int] | None:
        """The image's real pixel size once downloaded, else the catalog's approximate one."""
        gen = self.generation
        if gen is not None and gen.images and gen.images[0].downloaded:
            try:
                return gen.images[0].size
            except Exception:  # undecodable bytes: fall back to the catalog
                pass
        return self.request.size

    async def asave(self) -> list[Path]:
        """The result's image files on disk: where the client's store already wrote them, else
        written now (with a sidecar when the run has a store), off the event loop."""
        gen = self.generation
        if gen is None:
            raise ValidationError("nothing to save yet: the task has not completed", field="run",
                                  value=self.status, allowed="a completed run")
        paths = [img.path for img in gen.images if img.path is not None and img.path.exists()]
        if gen.images and len(paths) == len(gen.images):
            return paths
        from .client._disk import on_disk

        store = self.store if self.store is not None else getattr(self.client, "store", None)
        if store is not None:
            return [Path(p) for p in await on_disk(store.save, gen, files=True)]
        return await on_disk(gen.save, Path("flux2_results"), files=True)

    def to_row(self) -> dict[str, Any]:
        """The run as data: request, status, size, money (state and amounts), latency, task."""
        r = self.request
        size = self.size
        gen = self.generation
        return {
            "task_id": self.task_id, "prompt": r.prompt, "tier": r.tier, "resolution": r.resolution,
            "aspect_ratio": r.aspect_ratio, "action": r.action or "text_to_image",
            "width": size[0] if size else None, "height": size[1] if size else None,
            "images": len(gen.images) if gen else 0, "status": self.status, "error": self.error_text,
            "money": self.money, "estimated_cost": self.estimate, "billed_cost": self.billed_cost,
            "cost": self.cost, "cost_source": self.cost_source,
            "latency_s": round(self.latency, 3) if self.latency is not None else None,
            "simulated": self.simulated, "urls": " ".join(i.url for i in gen.images) if gen else "",
        }

    # -- verbs -----------------------------------------------------------------------------
    def start(self) -> Run:
        """Send the request and follow its task, on the home loop; returns at once. A run made
        around an existing task (``task=``) waits for it instead: nothing new is sent."""
        if self.status == "queued":
            self._arm()
            self.home.call(self._begin, self.task is not None)
        return self

    def stop(self) -> None:
        """Stop waiting (from any thread). The task may still finish on the service and be
        billed: the run says "may still be billed" until ``refresh()`` learns how it ended."""
        self.home.call_if_alive(self._stop_here)

    def retry(self) -> str:
        """Run a failed or stopped request again by the one rule (``next_step``): wait for the
        same task when it may still finish (nothing is charged twice), send the create again
        with its Idempotency-Key when it may have reached the service, else send a new task.
        Returns the step taken."""
        step = self.next_step
        if not step:
            raise ValidationError(f"nothing to retry: this run is {self.status}", field="run",
                                  value=self.status, allowed="a failed or stopped run")
        if step == "new":
            self.idempotency_key = uuid.uuid4().hex
            self.task, self.sent = None, False
        self._arm()
        self.home.call(self._begin, step == "resume")
        return step

    def refresh(self, *, collect: bool = False, timeout: float | None = None) -> str:
        """Ask the service once how a task that "may still be billed" ended, and settle the
        money: failed -> not charged, completed -> billed (and, with ``collect``, its image is
        fetched, nothing new being sent or charged, before this returns). Blocks; returns the
        money state."""
        return self.home.run(lambda: self.arefresh(collect=collect), timeout)

    async def arefresh(self, *, collect: bool = False) -> str:
        """``refresh`` for async code (on the run's home loop)."""
        if self.money != MAY_BE_BILLED or not self.task_id or self.active:
            return self.money
        client = _async_client(self.client)
        try:
            current = await client.get(self.task_id, self.request.action or "text_to_image",
                                       request=self.request,
                                       submitted_at=self.task.submitted_at if self.task else None)
        except Flux2Error:
            return self.money  # still unknown: it stays counted
        if self.money != MAY_BE_BILLED or self.active:
            return self.money  # resumed meanwhile
        current.idempotency_key = self.idempotency_key
        self.task = current
        if current.status == "failed":
            self._update(money=NOT_CHARGED, error_text=self.error_text or
                         f"the service says task {current.id} failed: {current.error or 'no reason given'}")
            await self._tell_store("record_failure", current, TaskFailedError(
                f"task {current.id} failed: {current.error or 'no reason given'}", task_id=current.id,
                code="task_failed"))
        elif current.status == "completed":
            self._update(money=BILLED)
            await self._tell_store("record_billed", current)
            if collect:
                self.retry()  # resume: fetch the finished image, nothing sent
                await self._until_ended()
        self._refresh_step()
        return self.money

    async def _tell_store(self, what: str, *args: Any) -> None:
        """The run log and the workspace budget learn how a task ended (failed: not charged;
        completed: billed), as the service told ``refresh``."""
        store = self.store if self.store is not None else getattr(self.client, "store", None)
        if store is None:
            return
        from .client._disk import on_disk

        try:
            await on_disk(getattr(store, what), *args)
        except OSError:
            pass  # the log stays as it was: resume() will ask the service again

    def wait_submitted(self, timeout: float | None = None) -> bool:
        """Block (plain code only) until the create was answered, or the run ended: the service
        is then working on it. Returns False on timeout."""
        return self._answered.wait(timeout)

    def wait(self, timeout: float | None = None) -> Run:
        """Block until the run ends (completed, failed or stopped) and return it. In a notebook
        cell it nests on the kernel's loop so widgets keep updating; in async code use
        ``await run``. ``TaskTimeoutError`` after ``timeout`` seconds: the run keeps going."""
        self.start()
        try:
            self.home.block_on(self._ended, timeout)
        except concurrent.futures.TimeoutError:
            raise TaskTimeoutError(
                f"the {self.request.label} run is still {self.status} after {timeout:g}s; it keeps "
                "running: wait() again, or stop() it", task_id=self.task_id or None,
                code="wait_timeout") from None
        return self

    def __await__(self) -> Any:
        self.start()
        return self._until_ended().__await__()

    async def _until_ended(self) -> Run:
        await asyncio.shield(asyncio.wrap_future(self._ended))
        return self

    # -- on the home loop ------------------------------------------------------------------------
    def _arm(self) -> None:
        """A fresh 'ended' for the attempt about to start (made on the caller's thread, so a
        wait() right after start() waits for this attempt, not the last, and ``done`` is false
        until it ends)."""
        self._starting = True
        if self._ended.done():
            self._ended = concurrent.futures.Future()

    def _begin(self, resume: bool) -> None:
        if not self._starting or self.status in ACTIVE:
            return  # stopped before it began, or already going
        self._starting = False
        self.generation, self.error = None, None
        self._t0 = time.monotonic()
        self.started_at = self.started_at or time.time()
        self.finished_at = None
        money = self.money if resume and self.money in (BILLED, MAY_BE_BILLED) else (
            IN_FLIGHT if self.sent else ESTIMATE)
        if resume and self.money == MAY_BE_BILLED:
            money = IN_FLIGHT  # followed again: it is running, as far as anyone knows
        self._update(status="processing" if resume else "submitting", error_text="", preview=b"",
                     money=money, next_step="", task_id=self.task.id if resume and self.task else "")
        self._driving = False
        self._job = asyncio.get_running_loop().create_task(self._drive(resume))

    async def _drive(self, resume: bool) -> None:
        self._driving = True
        client = _async_client(self.client)
        first_seen: list[str] = []

        def on_update(task: Task) -> None:
            if not first_seen:
                first_seen.append(task.status)
            self._seen(task)

        def on_sending(_key: str) -> None:
            self.sent = True
            self._update(money=IN_FLIGHT)

        extra = {"store": self.store} if self.store is not None else {}
        task = self.task if resume else None
        try:
            gen = await client.collect(self.request, task=task, timeout=self.timeout, on_update=on_update,
                                       idempotency_key=None if task is not None else self.idempotency_key,
                                       on_sending=on_sending, **extra)
        except asyncio.CancelledError:
            self._end("stopped", None)
            raise
        except Exception as exc:  # one run's trouble is its own: shown, never raised at others
            self._end("failed", exc)
            return
        # Resumed and already completed at the first look: nobody saw when it finished.
        self.latency_known = not (resume and first_seen[:1] == ["completed"])
        self.generation, self.task = gen, gen.task
        self._update(status="downloading", money=BILLED, task_id=gen.id)
        try:
            preview = await gen.images[0].athumbnail(self.preview_side) if gen.images else b""
        except asyncio.CancelledError:
            self._end("completed", None)  # the result is here; only its preview was cut short
            raise
        except Exception as exc:  # billed, but the image cannot be shown: say why
            self._end("failed", exc)
            return
        self._end("completed", None, preview)

    def _seen(self, task: Task) -> None:
        if self.done or task.status == "failed":
            return  # a late report after a stop; a failure comes with its error at once
        self.task = task
        if task.status == "completed":
            self._update(status="downloading", money=BILLED, task_id=task.id)
        else:
            self._update(status=task.status, money=IN_FLIGHT, task_id=task.id)

    def _end(self, status: str, exc: BaseException | None, preview: bytes = b"") -> None:
        if exc is not None:
            self.error = exc
            known = getattr(exc, "task_id", None)
            if known and self.task is None:
                # The error knows the task (a wait cut off after the create was answered).
                self.task = Task(id=str(known), action=self.request.action or "text_to_image",
                                 status="pending", request=self.request)
        if self._t0 is not None:
            self._elapsed = time.monotonic() - self._t0
        self._t0 = None
        self.finished_at = time.time()
        self._update(status=status, money=self._money_after(status, exc), preview=preview,
                     error_text=_error_text(exc) if exc is not None else "",
                     task_id=self.task.id if self.task is not None else self.task_id)
        self._refresh_step()
        if not self._ended.done():
            self._ended.set_result(self)

    def _money_after(self, status: str, exc: BaseException | None) -> str:
        if status == "completed" or self.generation is not None or (
                self.task is not None and self.task.status == "completed"):
            return BILLED
        if _said_failed(exc) or (self.task is not None and self.task.status == "failed"):
            return NOT_CHARGED
        if not self.sent and self.task is None:
            return NOT_CHARGED  # nothing left this kernel
        if self.task is None and is_refusal(exc):
            return NOT_CHARGED  # the service refused the create: no task was made
        return MAY_BE_BILLED

    def _stop_here(self) -> None:
        job = self._job
        if job is not None and not job.done():
            job.cancel()
            if not self._driving:  # cancelled before its first step: _drive's handler never runs
                self._end("stopped", None)
        elif self.status == "queued" or self._starting:
            self._starting = False
            self._end("stopped", None)

    def _refresh_step(self) -> None:
        self._update(next_step=self._step())

    def _step(self) -> str:
        if self.status not in ("failed", "stopped"):
            return ""
        failed = _said_failed(self.error) or (self.task is not None and self.task.status == "failed")
        if self.task is not None:
            if failed:
                return "new"
            # A task the service did not find (a 404 on its status) may still have been made and
            # billed: a new send could pay twice, so Retry only asks about the same task again.
            return "resume"
        if self.sent and not is_refusal(self.error):
            return "resend"
        return "new"

    def _update(self, **values: Any) -> None:
        with self.hold_trait_notifications():
            for name, value in values.items():
                setattr(self, name, value)
        if self.status not in ("queued", "submitting"):
            self._answered.set()
        elif "status" in values:
            self._answered.clear()


def _error_text(exc: BaseException) -> str:
    from ._redact import redact

    text = str(exc) or type(exc).__name__
    return redact(f"{type(exc).__name__}: {text}")
