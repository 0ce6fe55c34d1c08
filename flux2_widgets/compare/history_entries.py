"""What ``History`` hands out: a saved result (``HistoryEntry``, which turns back into a
``Generation``) and a page of them (``HistoryPage``), made from the results index's rows."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, overload

from ..catalog import ImageRequest, tier_label
from ..errors import ValidationError
from ..results import GeneratedImage, Generation, Task

if TYPE_CHECKING:  # pragma: no cover
    from ..workspace import ResultRecord

__all__ = ["HistoryEntry", "HistoryPage", "entry_from_record"]


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
    starred: bool = False
    tags: tuple[str, ...] = ()
    note: str = ""

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


def entry_from_record(root: Path, record: ResultRecord) -> HistoryEntry:
    latency = record.meta.get("latency_s")
    return HistoryEntry(
        task_id=record.task_id, prompt=record.prompt, tier=record.tier, resolution=record.resolution,
        aspect_ratio=record.aspect_ratio, action=record.action, width=record.width, height=record.height,
        cost=record.cost, cost_source=record.cost_source,
        latency_s=float(latency) if isinstance(latency, (int, float)) and not isinstance(latency, bool)
        else None, simulated=record.simulated, submitted_at=record.submitted_at,
        completed_at=record.completed_at, files=tuple(root / f for f in record.files), meta=record.meta,
        starred=record.starred, tags=record.tags, note=record.note)


@dataclass(frozen=True)
class HistoryPage:
    """One page of results, newest first: ``number`` counts from 1, of ``pages``;
    ``total`` results match the filter, of ``overall`` in the folder. It is a sequence of
    its entries: ``len(page)``, ``for entry in page``, ``page[0]``, ``page[-1]``, ``page[:3]``."""

    entries: list[HistoryEntry]
    number: int
    pages: int
    total: int
    size: int
    overall: int

    @property
    def text(self) -> str:
        """"page 3 of 120"."""
        return f"page {self.number} of {self.pages}"

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[HistoryEntry]:
        return iter(self.entries)

    @overload
    def __getitem__(self, index: int) -> HistoryEntry: ...

    @overload
    def __getitem__(self, index: slice) -> list[HistoryEntry]: ...

    def __getitem__(self, index: int | slice) -> HistoryEntry | list[HistoryEntry]:
        """An entry of this page by its place on it (0 = newest), or a slice of them."""
        if isinstance(index, bool) or not isinstance(index, (int, slice)):
            raise ValidationError(f"index must be a place on the page (0 = newest) or a slice, not "
                                  f"{type(index).__name__}", field="index",
                                  value=repr(index)[:80], allowed="an int or a slice")
        return self.entries[index]
