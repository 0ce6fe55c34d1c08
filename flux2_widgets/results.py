"""Typed results: a ``Task`` in flight, a finished ``Generation`` and its images.

Results keep the exact request they came from so they can show it as JSON or
as a curl command (for RunAPI, with the key left as ``$RUNAPI_API_KEY``), and they display
themselves in Jupyter.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import re
import shlex
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._formats import sniff_format
from ._sharing import sim_badge_html
from .catalog import DEFAULT_BASE_URL, MAX_IMAGES_PER_TASK, ImageRequest, is_loopback, tier_label, url_problem
from .errors import MalformedResponseError, UnknownStatusError
from .money import cost_text

if TYPE_CHECKING:  # pragma: no cover
    from PIL import Image as PILImage

__all__ = ["Task", "Generation", "GeneratedImage", "TERMINAL_STATUSES", "ACTIVE_STATUSES",
           "cost_text", "curl_command"]

ACTIVE_STATUSES = ("pending", "processing")
TERMINAL_STATUSES = ("completed", "failed")
KNOWN_STATUSES = ACTIVE_STATUSES + TERMINAL_STATUSES

_TASK_ID = re.compile(r"[A-Za-z0-9._:-]{1,200}")

#: Longest side of preview thumbnails, in pixels.
THUMBNAIL_SIDE = 384


@dataclass
class Task:
    """A task as last seen by the client. ``refresh`` returns a new one."""

    id: str
    action: str
    status: str
    request: ImageRequest | None = None
    image_urls: tuple[str, ...] = ()
    error: str | None = None
    billed_cost: float | None = None
    generated_images: int | None = None
    submitted_at: float = field(default_factory=time.time)
    observed_at: float = field(default_factory=time.time)
    request_id: str | None = None
    retry_after: float | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)
    #: The Idempotency-Key of the create that made it (when this client or its run log knows it):
    #: the key its money is reserved and settled under in the workspace budget.
    idempotency_key: str | None = field(default=None, repr=False)

    @property
    def done(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @property
    def ok(self) -> bool:
        return self.status == "completed"

    @property
    def elapsed(self) -> float:
        return max(0.0, self.observed_at - self.submitted_at)

    @classmethod
    def from_answer(cls, data: Any, *, action: str, request: ImageRequest | None = None,
                    submitted_at: float | None = None, request_id: str | None = None,
                    retry_after: float | None = None) -> Task:
        """Parse a create or status answer; accepts ``id`` or ``task_id``."""
        if not isinstance(data, dict):
            raise MalformedResponseError(
                f"expected a JSON object for a task, got {type(data).__name__}", request_id=request_id)
        nested = data.get("data")
        task: dict[str, Any] = nested if isinstance(nested, dict) and "status" not in data else data
        task_id = task.get("id") or task.get("task_id")
        if not task_id or isinstance(task_id, bool) or not isinstance(task_id, (str, int)):
            raise MalformedResponseError("the task answer has no 'id' (or 'task_id')",
                                         request_id=request_id, body=data)
        # Ids become file names and URL paths: refuse anything that could escape them.
        if not _TASK_ID.fullmatch(str(task_id)) or str(task_id) in (".", ".."):
            raise MalformedResponseError(f"the task answer has an unusable id {str(task_id)[:40]!r}",
                                         request_id=request_id, body=data)
        task_id = str(task_id)

        def bad(what: str, value: Any) -> MalformedResponseError:
            return MalformedResponseError(f"task {task_id}: the server sent {what} {_short(value)}",
                                          request_id=request_id, task_id=task_id, code="bad_field")

        status = task.get("status")
        if not isinstance(status, str):
            raise MalformedResponseError(
                f"task {task_id}: the server sent status {_short(status)} ({type(status).__name__}); "
                f"a status is one of {', '.join(KNOWN_STATUSES)}",
                request_id=request_id, task_id=task_id, code="bad_status")
        status = status.lower()
        if status not in KNOWN_STATUSES:
            # Not a verdict: the task may still finish (and be billed), so it stays resumable.
            raise UnknownStatusError(
                f"task {task_id} reported an unknown status {_short(status)} "
                f"(expected one of {', '.join(KNOWN_STATUSES)})",
                task_id=task_id, code="unknown_status", request_id=request_id)
        images = task.get("images")
        if images is None:
            images = []
        if not isinstance(images, list):
            raise bad("images that are not a list:", images)
        if len(images) > MAX_IMAGES_PER_TASK:
            # Counted before anything is read or fetched: a task makes one image, and an
            # answer listing thousands must not turn into thousands of downloads.
            raise MalformedResponseError(
                f"task {task_id}: the server listed {len(images):,} images; a Flux 2 task makes at "
                f"most {MAX_IMAGES_PER_TASK}, so the answer was not used (the task is kept: "
                "client.resume() asks again)",
                request_id=request_id, task_id=task_id, code="too_many_images")
        urls: list[str] = []
        for item in images:
            url = item.get("url") if isinstance(item, dict) else item
            if url_problem(url) is not None:  # e.g. "http://[::1": not even a URL
                raise bad("an image URL that is not an http(s) URL:", url)
            urls.append(str(url).strip())
        usage = task.get("usage")
        if usage is None:
            usage = {}
        if not isinstance(usage, dict):
            raise bad("usage that is not an object:", usage)
        cost = usage.get("cost")
        if cost is not None and (isinstance(cost, bool) or not isinstance(cost, (int, float))
                                 or not math.isfinite(cost) or cost < 0):
            raise bad("a cost that is not an amount in USD:", cost)
        count = usage.get("generated_images")
        if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 0):
            raise bad("generated_images that is not a count:", count)
        error = task.get("error")
        if isinstance(error, dict):
            error = error.get("message") or json.dumps(error)[:500]
        elif error is not None and not isinstance(error, str):
            error = _short(error)
        return cls(
            id=str(task_id), action=action, status=status, request=request,
            image_urls=tuple(urls), error=str(error)[:2000] if error else None,
            billed_cost=float(cost) if isinstance(cost, (int, float)) else None,
            generated_images=count,
            submitted_at=submitted_at if submitted_at is not None else time.time(),
            observed_at=time.time(), request_id=request_id, retry_after=retry_after, raw=data,
        )

    def _repr_html_(self) -> str:
        label = self.request.label if self.request else self.action
        return (f"<code>Task {html.escape(self.id)}</code> &middot; {html.escape(label)} &middot; "
                f"<b>{html.escape(self.status)}</b>")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


Fetcher = Callable[[str], bytes]
AsyncFetcher = Callable[[str], Awaitable[bytes]]


def image_format(data: bytes) -> str:
    """"png", "jpeg" or "webp" from an image's first bytes (the strict sniffer every
    download and upload uses); "bin" for anything else."""
    return sniff_format(data) or "bin"


class GeneratedImage:
    """One output image. Bytes are downloaded once (lazily, or eagerly by
    ``generate``) from the image host, never with the API key."""

    def __init__(self, url: str, index: int = 0, *, data: bytes | None = None,
                 fetch: Fetcher | None = None, afetch: AsyncFetcher | None = None) -> None:
        self.url = url
        self.index = index
        self._data = data
        self._fetch = fetch
        self._afetch = afetch
        self._size: tuple[int, int] | None = None
        self._thumbs: dict[int, bytes] = {}
        self._format: str | None = None
        self.path: Path | None = None

    @property
    def downloaded(self) -> bool:
        """The bytes are here: in memory, or in the file this image was saved to."""
        return self._data is not None or self.path is not None

    @property
    def in_memory(self) -> bool:
        return self._data is not None

    @property
    def data(self) -> bytes:
        """The image bytes: from memory, else from the file it was saved to, else downloaded."""
        if self._data is None:
            if self.path is not None and self.path.exists():
                self._data = self.path.read_bytes()
            elif self._fetch is None:
                raise RuntimeError("this image has no downloader; use `await image.aread()`")
            else:
                self._data = self._fetch(self.url)
        return self._data

    async def aread(self) -> bytes:
        """``data`` without blocking the loop (a file read or a download off it)."""
        if self._data is None:
            import asyncio

            if (self.path is not None and self.path.exists()) or self._afetch is None:
                return await asyncio.to_thread(lambda: self.data)
            self._data = await self._afetch(self.url)
        return self._data

    def release(self) -> bool:
        """Drop the bytes from memory once they are in a file (``path``): they are read back
        from it when asked. Keeps a big sweep's memory flat. Returns whether anything was
        dropped. The pixel size and format are kept (read from the header first)."""
        if self._data is None or self.path is None:
            return False
        if self._size is None:
            from PIL import Image

            with Image.open(io.BytesIO(self._data)) as img:
                self._size = img.size
        self._format = image_format(self._data)
        self._data = None
        return True

    @property
    def format(self) -> str:
        if self._format is not None and self._data is None:
            return self._format
        return image_format(self.data)

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) read from the image header."""
        if self._size is None:
            from PIL import Image
            with Image.open(io.BytesIO(self.data)) as img:
                self._size = img.size
        return self._size

    def to_pil(self) -> PILImage.Image:
        from PIL import Image
        img = Image.open(io.BytesIO(self.data))
        img.load()
        self._size = img.size
        return img

    def thumbnail(self, side: int = THUMBNAIL_SIDE) -> bytes:
        """A small JPEG preview (cached per size). CPU work: call it off the event loop."""
        if side not in self._thumbs:
            from ._thumbs import make_thumbnail
            self._thumbs[side], self._size = make_thumbnail(self.data, side)
        return self._thumbs[side]

    async def athumbnail(self, side: int = THUMBNAIL_SIDE) -> bytes:
        """``thumbnail`` made on the preview thread: the event loop stays responsive. An image
        released to its file is read for the preview and not kept in memory."""
        if side not in self._thumbs:
            import asyncio

            from ._thumbs import make_thumbnail, off_loop

            if self._data is None and self.path is not None and self.path.exists():
                data = await asyncio.to_thread(self.path.read_bytes)
            else:
                data = await self.aread()
            self._thumbs[side], self._size = await off_loop(make_thumbnail, data, side)
        return self._thumbs[side]

    def save(self, path: str | Path) -> Path:
        """Write the original bytes; a directory gets ``<task>-<n>.<ext>``."""
        path = Path(path)
        if path.is_dir():
            stem = self.url.rstrip("/").split("/")[-2:]
            path = path / f"{'-'.join(stem).rsplit('.', 1)[0]}.{self.format}"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(self.data)
        self.path = path
        return path

    def _repr_png_(self) -> bytes | None:
        return self.data if self.format == "png" else None

    def __repr__(self) -> str:
        state = (f"{len(self._data)} bytes" if self._data is not None else
                 f"in {self.path.name}" if self.path is not None else "not downloaded")
        return f"GeneratedImage(url={self.url!r}, {state})"


@dataclass
class Generation:
    """A finished task with its request, images, cost and timings."""

    task: Task
    request: ImageRequest
    images: list[GeneratedImage]
    submitted_at: float
    completed_at: float
    base_url: str = ""
    simulated: bool = False

    @property
    def id(self) -> str:
        return self.task.id

    @property
    def task_id(self) -> str:
        return self.task.id

    @property
    def image(self) -> GeneratedImage:
        return self.images[0]

    @property
    def elapsed(self) -> float:
        """Seconds from submit to the client seeing the task complete."""
        return max(0.0, self.completed_at - self.submitted_at)

    @property
    def cost(self) -> float | None:
        """Billed ``usage.cost`` when the API reports it, else the catalog estimate."""
        if self.task.billed_cost is not None:
            return self.task.billed_cost
        return self.estimated_cost

    @property
    def estimated_cost(self) -> float | None:
        return self.request.estimated_cost * max(1, len(self.images)) \
            if self.request.estimated_cost is not None else None

    @property
    def cost_source(self) -> str:
        """``"billed"`` (from the API's usage) or ``"estimate"`` (from the catalog)."""
        return "billed" if self.task.billed_cost is not None else "estimate"

    @property
    def cost_text(self) -> str:
        return cost_text(self.cost, self.cost_source, self.simulated)

    def request_json(self) -> str:
        return self.request.to_json()

    def curl(self) -> str:
        return curl_command(self.base_url, self.request)

    def save(self, directory: str | Path) -> list[Path]:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        return [img.save(directory / f"{self.id}-{img.index}.{img.format}") for img in self.images]

    def to_row(self) -> dict[str, Any]:
        size = self.images[0].size if self.images and self.images[0].downloaded else self.request.size
        return {
            "task_id": self.id, "prompt": self.request.prompt, "tier": self.request.tier,
            "resolution": self.request.resolution, "aspect_ratio": self.request.aspect_ratio,
            "action": self.request.action, "width": size[0] if size else None,
            "height": size[1] if size else None, "images": len(self.images),
            "estimated_cost": self.estimated_cost, "billed_cost": self.task.billed_cost,
            "cost": self.cost, "cost_source": self.cost_source, "latency_s": round(self.elapsed, 3),
            "status": self.task.status, "simulated": self.simulated,
            "urls": " ".join(i.url for i in self.images),
        }

    def __repr__(self) -> str:
        return (f"Generation(id={self.id!r}, {self.request.label}, images={len(self.images)}, "
                f"cost={self.cost_text!r}, elapsed={self.elapsed:.2f}s)")

    def _repr_html_(self) -> str:
        tiles = []
        for img in self.images:
            try:
                thumb = base64.b64encode(img.thumbnail()).decode()
                w, h = img.size
                tiles.append(
                    f'<figure style="margin:0 8px 8px 0;display:inline-block">'
                    f'<img src="data:image/jpeg;base64,{thumb}" style="max-width:{THUMBNAIL_SIDE}px;'
                    f'border-radius:6px" alt="{html.escape(self.request.prompt[:80])}"/>'
                    f'<figcaption style="font:12px sans-serif;color:#555">{w}x{h}</figcaption></figure>')
            except Exception as exc:  # an undownloadable image must not break display
                tiles.append(f"<div>image {img.index}: {html.escape(str(exc))}</div>")
        badge = f" {sim_badge_html()}" if self.simulated else ""
        return (
            f'<div style="font:13px sans-serif"><div>{"".join(tiles)}</div>'
            f"<div><b>{html.escape(tier_label(self.request.tier))}</b> {self.request.resolution} "
            f"{self.request.aspect_ratio} &middot; {html.escape(self.cost_text)} &middot; "
            f"{self.elapsed:.1f}s &middot; <code>{html.escape(self.id)}</code>{badge}</div>"
            f'<div style="color:#444">{html.escape(self.request.prompt)}</div></div>')



def curl_command(base_url: str, request: ImageRequest) -> str:
    """The create call as a curl command to paste into a shell: the key stays ``$RUNAPI_API_KEY``
    and the address is ``base_url``, or RunAPI's own (``DEFAULT_BASE_URL``) when there is none or
    it is a local one, such as the embedded simulator's ``http://127.0.0.1:<port>``: that port is
    gone with the kernel, and a command copied out of a notebook should run against RunAPI."""
    body = json.dumps(request.payload(), ensure_ascii=False)
    local = not base_url or is_loopback(base_url) or url_problem(base_url) is not None
    url = f"{DEFAULT_BASE_URL if local else base_url.rstrip('/')}{request.path}"
    return (f"curl -X POST {shlex.quote(url)} \\\n"
            f'  -H "Authorization: Bearer $RUNAPI_API_KEY" \\\n'
            f"  -H 'Content-Type: application/json' \\\n"
            f"  -d {shlex.quote(body)}")
