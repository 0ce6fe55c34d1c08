"""Task lifecycle: create, render in the background, complete on time, call back.

Rendering starts the moment a task is created, on a small thread pool, so the
PNG bytes are ready before the task's latency has elapsed. Completion is a
timer on the server loop (for callbacks and charges) plus a lazy check on
every read, so an answer never says ``processing`` after the due time.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
import os
import re
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

from ..catalog import ASPECT_RATIOS, UPLOAD_FORMATS, ImageRequest, pixel_size
from . import _callbacks
from ._images import Decoded, Rendered, RenderSpec, SourceRef, render
from ._state import IMAGE_PATH, CallbackRecord, State, TaskRecord, UploadRecord

__all__ = ["Engine", "IMAGE_PATH", "FILE_PATH", "nearest_ratio"]

#: CDN path of an uploaded file (``file_name`` is sanitized: URL-safe as it is).
FILE_PATH = "/files/{file_id}/{file_name}"
#: The seeds' short routes (``/v1/...``) name the id ``task_id``.
_ID_KEY = {"full": "id", "short": "task_id"}
_IMAGE_RE = re.compile(r"^/images/(?P<task_id>[A-Za-z0-9_-]+)/(?P<n>\d+)\.png$")
_FILE_RE = re.compile(r"^/files/(?P<file_id>[A-Za-z0-9_-]+)/[^/]+$")


def _new_id() -> str:
    # A UUID, as RunAPI's task ids are. Random, not sequential: a run log resumed
    # against a fresh simulator must get 404, not somebody else's task.
    return str(uuid.uuid4())


def nearest_ratio(size: tuple[int, int]) -> str:
    """The catalog aspect ratio closest to ``size``'s shape (compared on a log scale,
    so 2:1 is as far from 1:1 as 1:2 is)."""
    w, h = size

    def distance(ratio: str) -> float:
        a, b = (int(x) for x in ratio.split(":"))
        return abs(math.log((w * b) / (h * a)))

    return min(ASPECT_RATIOS, key=distance)


class Engine:
    def __init__(self, state: State) -> None:
        self.state = state
        self.cdn_url = ""
        self.loop: asyncio.AbstractEventLoop | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._deliveries: set[asyncio.Task[None]] = set()
        # How many tasks each picture request has had: the n-th task of the same
        # request is the n-th variation, so a batch shows variety while a rerun
        # against a fresh simulator (same seed) gets the same pictures back.
        self._takes: dict[tuple, int] = {}

    # -- lifecycle -----------------------------------------------------------------
    def open(self, cdn_url: str) -> ThreadPoolExecutor:
        self.cdn_url = cdn_url
        workers = max(2, min(4, os.cpu_count() or 2))
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix="flux2-sim-render")
        return self._executor

    def close(self, executor: ThreadPoolExecutor) -> None:
        """Release one run's pool. Queued renders still finish, so images of
        tasks created before a restart stay downloadable."""
        executor.shutdown(wait=False)
        if self._executor is executor:
            self._executor = None
            self.loop = None

    # -- create --------------------------------------------------------------------
    def local_source(self, url: str) -> TaskRecord | UploadRecord | None:
        """The task or upload behind ``url`` when it is one of our CDN URLs. Either has
        ``aspect_ratio`` and ``image`` (a future whose result has ``.thumb``)."""
        parts, cdn = urlsplit(url), urlsplit(self.cdn_url)
        if not cdn.port or parts.port != cdn.port or parts.hostname not in (cdn.hostname, "localhost"):
            return None
        if match := _IMAGE_RE.match(parts.path):
            return self.state.tasks.get(match["task_id"])
        if match := _FILE_RE.match(parts.path):
            return self.state.uploads.get(match["file_id"])
        return None

    def add_upload(self, data: bytes, file_name: str, decoded: Decoded) -> UploadRecord:
        """Store an upload decoded off the loop (``_images.decode_upload``)."""
        file_id = "file_" + uuid.uuid4().hex[:20]
        image: Future[Decoded] = Future()
        image.set_result(decoded)
        return self.state.new_upload(
            id=file_id, file_name=file_name, mime_type=UPLOAD_FORMATS[decoded.format], data=data,
            size=decoded.size, aspect_ratio=nearest_ratio(decoded.size),
            url=self.cdn_url + FILE_PATH.format(file_id=file_id, file_name=file_name), image=image)

    def file_for(self, file_id: str, file_name: str) -> UploadRecord | None:
        record = self.state.uploads.get(file_id)
        return record if record is not None and record.file_name == file_name else None

    def create(self, request: ImageRequest, body: dict[str, Any], form: str) -> TaskRecord:
        executor = self._executor
        if executor is None:
            raise RuntimeError("simulator is not running")
        ratio = request.aspect_ratio
        sources = [self.local_source(u) for u in request.source_image_urls]
        if ratio == "auto":
            ratio = sources[0].aspect_ratio if sources and sources[0] else "1:1"
        size = pixel_size(ratio, request.resolution)
        task = self.state.new_task(request=request, body=body, form=form, aspect_ratio=ratio,
                                   size=size, make_id=_new_id)
        task.image_urls = [self.cdn_url + IMAGE_PATH.format(task_id=task.id, n=0)]
        take_key = (request.prompt, request.tier, request.resolution, ratio, tuple(request.source_image_urls))
        with self.state.lock:
            variation = self._takes.get(take_key, 0)
            self._takes[take_key] = variation + 1
        spec = RenderSpec(prompt=request.prompt, tier=request.tier, resolution=request.resolution,
                          aspect_ratio=ratio, size=size, seed=self.state.seed, variation=variation)
        refs = [(u, s.image if s else None) for u, s in zip(request.source_image_urls, sources, strict=True)]
        task.image = executor.submit(_render_with_sources, spec, refs)
        if self.loop is not None and not task.never_finish:
            self.loop.call_later(max(0.0, task.due - time.monotonic()), self.finish_due)
        return task

    def forget_renders(self) -> None:
        """Start every request's variations over (``Simulator.reset``)."""
        with self.state.lock:
            self._takes.clear()

    # -- completion ----------------------------------------------------------------
    def finish_due(self) -> None:
        """Finalize due tasks and send their callbacks. Safe from any thread."""
        for task in self.state.finish_due():
            if task.request.callback_url:
                self._dispatch_callback(task)

    def _dispatch_callback(self, task: TaskRecord) -> None:
        url = task.request.callback_url
        payload = self.status_body(task)
        if not _callbacks.is_loopback(url):
            self.state.record_callback(CallbackRecord(url, payload, "skipped"))
            return
        loop = self.loop
        if loop is None:
            return
        def start() -> None:
            # The loop keeps only weak references to tasks: hold them until done.
            job = loop.create_task(_callbacks.deliver(url, payload, task.id, self.state))
            self._deliveries.add(job)
            job.add_done_callback(self._deliveries.discard)

        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            start()
        else:
            try:
                loop.call_soon_threadsafe(start)
            except RuntimeError:  # the loop closed meanwhile (simulator stopping)
                pass

    # -- answers -------------------------------------------------------------------
    def create_body(self, task: TaskRecord) -> dict[str, Any]:
        body: dict[str, Any] = {_ID_KEY[task.form]: task.id, "status": "pending", "model": task.model}
        if self.state.timestamps:
            body["created_at"] = task.created_at
        return body

    def status_body(self, task: TaskRecord, *, form: str | None = None,
                    weird: bool = False) -> dict[str, Any]:
        """``form``: the route family asked (default: the one that created the task)."""
        status = "weird" if weird else task.status_at(time.monotonic())
        body: dict[str, Any] = {_ID_KEY[form or task.form]: task.id, "status": status, "model": task.model}
        if status == "completed":
            body["images"] = [{"url": u} for u in task.image_urls]
        body["error"] = task.fail_message if status == "failed" else None
        if status == "completed":
            # cost null (not a guess) where the catalog has no price.
            body["usage"] = {"cost": task.cost, "generated_images": len(task.image_urls)}
        if self.state.timestamps:  # opt-in only: RunAPI's task answers carry no timestamps
            body["created_at"] = task.created_at
            body["completed_at"] = task.completed_at
        return body

    # -- images --------------------------------------------------------------------
    def image_for(self, task_id: str, n: int) -> Future[Rendered] | None:
        """The render future behind a published image URL, else ``None``."""
        self.finish_due()
        task = self.state.tasks.get(task_id)
        if task is None or task.final_status != "completed" or not 0 <= n < len(task.image_urls):
            return None
        return task.image


def _render_with_sources(spec: RenderSpec, refs: list[tuple[str, Future | None]]) -> Rendered:
    # Sources were submitted earlier to the same FIFO pool, so they are running
    # or done by now: waiting here cannot deadlock.
    sources = []
    for url, fut in refs:
        thumb = None
        if fut is not None:
            try:
                thumb = fut.result().thumb
            except Exception:  # a broken source becomes a placeholder panel
                thumb = None
        sources.append(SourceRef(url, thumb))
    if sources:
        spec = dataclasses.replace(spec, sources=tuple(sources))
    return render(spec)
