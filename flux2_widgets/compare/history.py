"""``History``: every saved result of the results folder, back after a kernel restart.

It reads the JSON sidecars a ``ResultStore`` writes next to each image (the
default client saves every result to ``flux2_results/``), filters them by
prompt text, tier, resolution and date, and turns any of them back into
``Generation`` objects: two or more into a comparison or an inspector, one
into a Studio's prompt or remix source. Reading happens on a worker thread
when called from async code (``aload``, ``athumbnail``): the kernel's event
loop never waits for the disk. The widget (``History.view()``) only asks.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from .._checks import check_number
from .._export import require_pandas, write_csv
from ..catalog import RESOLUTIONS, TIERS, ImageRequest, tier_label
from ..errors import ValidationError
from ..results import GeneratedImage, Generation, Task

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ..store import ResultStore
    from .comparison import Comparison

__all__ = ["History", "HistoryEntry"]

T = TypeVar("T")
#: Longest side of the history's small previews.
CARD_SIDE = 160


async def _off_loop(fn: Callable[..., T], *args: Any) -> T:
    # The package's one image thread: disk reads and previews queue there instead of
    # fighting the kernel's loop for the GIL (see _thumbs).
    from .._thumbs import off_loop

    return await off_loop(fn, *args)


@dataclass(frozen=True)
class HistoryEntry:
    """One saved result, as its sidecar describes it."""

    task_id: str
    prompt: str
    tier: str
    resolution: str
    aspect_ratio: str
    action: str
    width: int | None
    height: int | None
    cost: float | None
    cost_source: str
    latency_s: float | None
    simulated: bool
    submitted_at: float
    completed_at: float
    files: tuple[Path, ...]
    meta: dict[str, Any] = field(repr=False, compare=False, hash=False)

    @property
    def when(self) -> datetime:
        """Completion time, in this machine's time zone."""
        return datetime.fromtimestamp(self.completed_at).astimezone()

    @property
    def label(self) -> str:
        return f"{tier_label(self.tier)} · {self.resolution}"

    @property
    def size_text(self) -> str:
        return f"{self.width}x{self.height}" if self.width and self.height else "?"

    @property
    def image_path(self) -> Path | None:
        return self.files[0] if self.files else None

    def row(self) -> dict[str, Any]:
        return {"task_id": self.task_id, "completed": self.when.isoformat(timespec="seconds"),
                "prompt": self.prompt, "tier": self.tier, "resolution": self.resolution,
                "aspect_ratio": self.aspect_ratio, "action": self.action, "width": self.width,
                "height": self.height, "cost": self.cost, "cost_source": self.cost_source,
                "latency_s": self.latency_s, "simulated": self.simulated,
                "file": str(self.image_path or "")}

    def generation(self) -> Generation:
        """The result as a ``Generation``; its images read from disk when first used."""
        request = ImageRequest.from_payload(self.meta["request"]) if self.meta.get("request") else \
            ImageRequest(self.prompt, tier=self.tier, resolution=self.resolution,
                         aspect_ratio=self.aspect_ratio)
        billed = self.meta.get("billed_cost")
        task = Task(id=self.task_id, action=self.action or "text_to_image", status="completed",
                    request=request, billed_cost=billed if isinstance(billed, (int, float)) else None,
                    submitted_at=self.submitted_at, observed_at=self.completed_at)
        urls = str(self.meta.get("urls") or "").split()
        images = []
        for i, path in enumerate(self.files):
            img = GeneratedImage(urls[i] if i < len(urls) else path.as_uri(), i)
            img.path = path
            if self.width and self.height:
                img._size = (self.width, self.height)  # known from the sidecar: no disk read to show it
            images.append(img)
        return Generation(task=task, request=request, images=images, submitted_at=self.submitted_at,
                          completed_at=self.completed_at, base_url=str(self.meta.get("base_url") or ""),
                          simulated=self.simulated)


def _entry(sidecar: Path, meta: dict[str, Any]) -> HistoryEntry | None:
    task_id = meta.get("task_id")
    files = tuple(sidecar.parent / str(name) for name in meta.get("files") or ())
    if not isinstance(task_id, str) or not files:
        return None

    def num(key: str) -> float | None:
        value = meta.get(key)
        return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None

    completed = num("completed_at") or sidecar.stat().st_mtime
    width, height = num("width"), num("height")
    return HistoryEntry(
        task_id=task_id, prompt=str(meta.get("prompt") or ""), tier=str(meta.get("tier") or ""),
        resolution=str(meta.get("resolution") or ""), aspect_ratio=str(meta.get("aspect_ratio") or ""),
        action=str(meta.get("action") or "text_to_image"),
        width=int(width) if width else None, height=int(height) if height else None,
        cost=num("cost"), cost_source=str(meta.get("cost_source") or ""), latency_s=num("latency_s"),
        simulated=bool(meta.get("simulated")), submitted_at=num("submitted_at") or completed,
        completed_at=completed, files=files, meta=meta)


def _day(value: Any, name: str, *, end: bool) -> float | None:
    """A filter bound as a timestamp: a datetime, a date (whole day) or an ISO string."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value) if "T" in value or " " in value.strip() else \
                date.fromisoformat(value)
        except ValueError:
            raise ValidationError(f"{name} must be a date like '2026-11-29' (or a datetime), got "
                                  f"{value!r}", field=name, value=value, allowed="ISO date") from None
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, date):
        start = datetime(value.year, value.month, value.day)
        return (start + timedelta(days=1)).timestamp() if end else start.timestamp()
    raise ValidationError(f"{name} must be a date, a datetime or an ISO string, not "
                          f"{type(value).__name__}", field=name, value=value, allowed="date")


class History:
    """The results folder as a searchable list, newest first.

    ``History()`` reads the default client's folder (``$FLUX2_RESULTS_DIR`` or
    ``./flux2_results``); pass a path or a ``ResultStore`` for another one.
    """

    def __init__(self, store: ResultStore | str | Path | None = None, *, load: bool = True) -> None:
        from ..store import ResultStore

        if store is None:
            from ..client._defaults import default_store

            store = default_store()
        elif isinstance(store, (str, Path)):
            store = ResultStore(store)
        elif not isinstance(store, ResultStore):
            raise ValidationError(f"store must be a folder or a ResultStore, not {type(store).__name__}",
                                  field="store", value=type(store).__name__, allowed="path or ResultStore")
        self.store = store
        self.entries: list[HistoryEntry] = []
        self.loaded = False
        self._view: Any = None
        self._auto = load

    @property
    def root(self) -> Path:
        return self.store.root

    # -- reading ---------------------------------------------------------------------------
    def _read(self) -> list[HistoryEntry]:
        entries = []
        for sidecar in self.root.glob("*/*.json"):
            try:
                meta = json.loads(sidecar.read_text(encoding="utf-8"))
                entry = _entry(sidecar, meta) if isinstance(meta, dict) else None
            except (OSError, ValueError):
                continue  # a sidecar cut short by a dying kernel, or removed meanwhile
            if entry is not None:
                entries.append(entry)
        return sorted(entries, key=lambda e: e.completed_at, reverse=True)

    def load(self) -> History:
        """Read the folder now (blocking); returns the history."""
        self.entries, self.loaded = self._read(), True
        return self

    async def aload(self) -> History:
        """Read the folder on a worker thread."""
        self.entries, self.loaded = await _off_loop(self._read), True
        return self

    def _ensure(self) -> None:
        if not self.loaded and self._auto:
            self.load()

    def __len__(self) -> int:
        self._ensure()
        return len(self.entries)

    def __iter__(self) -> Any:
        self._ensure()
        return iter(self.entries)

    def __getitem__(self, index: int | str) -> HistoryEntry:
        """An entry by position (0 = newest) or task id."""
        self._ensure()
        if isinstance(index, str):
            for entry in self.entries:
                if entry.task_id == index:
                    return entry
            raise KeyError(index)
        return self.entries[index]

    # -- filtering -------------------------------------------------------------------------
    def filter(self, prompt: str | None = None, *, tier: str | None = None, resolution: str | None = None,
               since: Any = None, until: Any = None, days: float | None = None) -> list[HistoryEntry]:
        """Entries whose prompt contains ``prompt`` (any case), in ``tier`` and ``resolution``,
        completed from ``since`` to ``until`` (dates are whole days) or in the last ``days``."""
        self._ensure()
        if tier is not None and tier not in TIERS:
            raise ValidationError(f"unknown tier {tier!r}; use one of: {', '.join(TIERS)}", field="tier",
                                  value=tier, allowed=TIERS)
        if resolution is not None and resolution not in RESOLUTIONS:
            raise ValidationError(f"unknown resolution {resolution!r}; use one of: {', '.join(RESOLUTIONS)}",
                                  field="resolution", value=resolution, allowed=RESOLUTIONS)
        check_number("days", days, optional=True)
        start, end = _day(since, "since", end=False), _day(until, "until", end=True)
        if days is not None:
            recent = datetime.now().timestamp() - days * 86400
            start = recent if start is None else max(start, recent)
        needle = (prompt or "").strip().lower()
        return [e for e in self.entries
                if (not needle or needle in e.prompt.lower())
                and (tier is None or e.tier == tier)
                and (resolution is None or e.resolution == resolution)
                and (start is None or e.completed_at >= start)
                and (end is None or e.completed_at < end)]

    # -- using entries ---------------------------------------------------------------------
    def _entries(self, items: Iterable[HistoryEntry | str | int]) -> list[HistoryEntry]:
        return [item if isinstance(item, HistoryEntry) else self[item] for item in items]

    def generations(self, *items: HistoryEntry | str | int) -> list[Generation]:
        return [e.generation() for e in self._entries(items)]

    def compare(self, *items: HistoryEntry | str | int, blind: bool = False,
                labels: Sequence[str] | None = None) -> Comparison:
        """A finished comparison of two or more saved results (nothing is sent): votes,
        ``to_image()``, ``inspect()`` and exports as usual."""
        from .comparison import Comparison

        entries = self._entries(items)
        title = "From history: " + " vs ".join(e.label for e in entries)
        return Comparison.from_generations([e.generation() for e in entries], labels=labels, title=title,
                                           blind=blind)

    def inspect(self, *items: HistoryEntry | str | int, **options: Any) -> Any:
        """Zoom, swipe, blink and diff over saved results."""
        from ..widgets.inspect_view import Inspector

        return Inspector.from_generations(self.generations(*items), **options)

    def send_to_studio(self, item: HistoryEntry | str | int, studio: Any, *, as_source: bool = False,
                       client: Any = None) -> str:
        """Put a saved result into a Studio: its prompt (default), or its image as a remix
        source, uploaded first with the Studio's client (a result's own URL expires, and the
        simulator's dies with its kernel). Blocking; the widget uses :meth:`asend_to_studio`."""
        entry = self._entries([item])[0]
        if not as_source:
            studio.prompt = entry.prompt
            return entry.prompt
        from .. import _sync

        data = self._image_bytes(entry)
        uploader = client if client is not None else getattr(studio, "client", None)
        if uploader is None:
            from ..client._defaults import default_client

            uploader = default_client()
        result = uploader.upload(data, filename=entry.image_path.name if entry.image_path else None)
        url = _sync.run_sync(result) if asyncio.iscoroutine(result) else result
        self._add_source(studio, str(url))
        return str(url)

    async def asend_to_studio(self, item: HistoryEntry | str | int, studio: Any, *, as_source: bool = False,
                              client: Any = None) -> str:
        entry = self._entries([item])[0]
        if not as_source:
            studio.prompt = entry.prompt
            return entry.prompt
        data = await _off_loop(self._image_bytes, entry)
        uploader = client if client is not None else getattr(studio, "client", None)
        if uploader is None:
            from ..client._defaults import default_async_client

            uploader = default_async_client()
        aio: Any = getattr(uploader, "aio", uploader)  # a sync client's async twin, for this loop
        url = str(await aio.upload(data, filename=entry.image_path.name if entry.image_path else None))
        self._add_source(studio, url)
        return url

    @staticmethod
    def _image_bytes(entry: HistoryEntry) -> bytes:
        if entry.image_path is None or not entry.image_path.exists():
            raise ValidationError(f"the image of {entry.task_id} is no longer on disk", field="item",
                                  value=entry.task_id, allowed="a result whose file exists")
        return entry.image_path.read_bytes()

    @staticmethod
    def _add_source(studio: Any, url: str) -> None:
        studio.sources = [*studio.sources, url] if url not in studio.sources else list(studio.sources)
        studio.mode = "remix_image"

    def thumbnail(self, entry: HistoryEntry, side: int = CARD_SIDE) -> bytes:
        """A small JPEG of the entry's image (reads the file: blocking)."""
        from .._thumbs import make_thumbnail

        if entry.image_path is None:
            raise FileNotFoundError(entry.task_id)
        return make_thumbnail(entry.image_path.read_bytes(), side)[0]

    async def athumbnail(self, entry: HistoryEntry, side: int = CARD_SIDE) -> bytes:
        return await _off_loop(self.thumbnail, entry, side)

    # -- export and display ----------------------------------------------------------------
    def rows(self, entries: Iterable[HistoryEntry] | None = None) -> list[dict[str, Any]]:
        self._ensure()
        return [e.row() for e in (self.entries if entries is None else entries)]

    def to_csv(self, path: str | Path) -> Path:
        return write_csv(path, self.rows())

    def to_pandas(self) -> pd.DataFrame:
        return require_pandas().DataFrame(self.rows())

    def view(self, studio: Any = None) -> Any:
        """The gallery widget; with ``studio=``, its buttons can send a result there."""
        from ..widgets.history_view import HistoryView

        if self._view is None or (studio is not None and self._view.studio is not studio):
            self._view = HistoryView(self, studio=studio)
        return self._view

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any] | None:
        try:
            bundle = self.view()._repr_mimebundle_(include=include, exclude=exclude)
        except Exception:  # no widgets here: plain text
            return None
        if isinstance(bundle, tuple):
            bundle = bundle[0]
        return {**bundle, "text/plain": repr(self)} if bundle else None

    def __repr__(self) -> str:
        count = f"{len(self.entries)} results" if self.loaded else "not read yet"
        return f"<History {str(self.root)!r}: {count}>"
