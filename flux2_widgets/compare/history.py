"""``History``: every saved result of the results folder, back after a kernel restart.

It pages through the folder's results index (the workspace database, which
``ResultStore.save`` writes and which is rebuilt from the JSON sidecars when missing),
newest first, filtering in the database by prompt text, tier, resolution, date, star
and tag; stars, tags and notes are saved there too, so they survive restarts. Any entry
turns back into a ``Generation``: two or more into a comparison or an inspector, one
into a Studio's prompt or remix source. From async code the database is read on the
workspace thread and previews made on the preview thread (``apage``, ``athumbnail``):
the kernel's event loop never waits. The widget (``History.view()``) only asks.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from .._checks import check_number, check_storable, check_text
from .._export import require_pandas, write_csv
from ..catalog import RESOLUTIONS, TIERS
from ..errors import ValidationError
from ..results import Generation
from .history_entries import HistoryEntry, HistoryPage
from .history_entries import entry_from_record as _entry

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ..store import ResultStore
    from ..workspace import ResultFilter, Workspace
    from .comparison import Comparison
    from .saved import SavedComparisons

__all__ = ["History", "HistoryEntry", "HistoryPage"]

T = TypeVar("T")
#: Longest side of the history's small previews.
CARD_SIDE = 160
#: Results per page, unless ``History(page_size=...)`` says otherwise.
PAGE_SIZE = 24
#: The furthest position ``history[i]`` takes either way (no folder holds more results).
MAX_POSITION = 10**9


async def _in_db(fn: Callable[..., T], *args: Any) -> T:
    from ..workspace import off_loop

    return await off_loop(fn, *args)


def _position(name: str, value: Any) -> int:
    """A position in the history (0 = newest, -1 = oldest), checked and named ``name``."""
    return int(check_number(name, value, minimum=-MAX_POSITION, strict=False, integer=True,
                            maximum=MAX_POSITION))


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
    """The results folder as a searchable list, newest first, a page at a time.

    ``History()`` reads the default client's folder (``$FLUX2_RESULTS_DIR`` or
    ``./flux2_results``); pass a path or a ``ResultStore`` for another one.
    """

    def __init__(self, store: ResultStore | str | Path | None = None, *, load: bool = True,
                 page_size: int = PAGE_SIZE) -> None:
        from ..store import ResultStore

        if store is None:
            from ..client._defaults import default_store

            store = default_store()
        elif isinstance(store, (str, Path)):
            store = ResultStore(store)
        elif not isinstance(store, ResultStore):
            raise ValidationError(f"store must be a folder or a ResultStore, not {type(store).__name__}",
                                  field="store", value=type(store).__name__, allowed="path or ResultStore")
        if isinstance(page_size, bool) or not isinstance(page_size, int) or not 1 <= page_size <= 500:
            raise ValidationError(f"page_size must be a whole number from 1 to 500, not {page_size!r}",
                                  field="page_size", value=page_size, allowed="1-500")
        self.store = store
        self.page_size = page_size
        self.loaded = False
        self._view: Any = None
        self._auto = load

    @property
    def root(self) -> Path:
        return self.store.root

    @property
    def workspace(self) -> Workspace:
        return self.store.workspace

    # -- reading ---------------------------------------------------------------------------
    def load(self, *, rebuild: bool = False) -> History:
        """Bring the index up to the folder now (blocking): the first time for a folder (or
        with ``rebuild``, after editing sidecars by hand), every sidecar is read; later, only
        what was saved since. Returns the history."""
        self.workspace.sync(rebuild=rebuild)
        self.loaded = True
        return self

    async def aload(self) -> History:
        """``load`` on the workspace thread."""
        await _in_db(self.workspace.sync)
        self.loaded = True
        return self

    def _ensure(self) -> None:
        if not self.loaded and self._auto:
            self.load()

    @property
    def entries(self) -> list[HistoryEntry]:
        """Every entry, newest first (all of them: prefer :meth:`page` for a large folder)."""
        return list(self)

    def __len__(self) -> int:
        return self.count()

    def __iter__(self) -> Any:
        self._ensure()
        offset = 0
        while True:
            records, _ = self.workspace.results.page(offset=offset, limit=500)
            yield from (_entry(self.root, r) for r in records)
            if len(records) < 500:
                return
            offset += 500

    def __getitem__(self, index: int | str) -> HistoryEntry:
        """An entry by position (0 = newest) or task id."""
        if isinstance(index, str):
            check_storable("index", index)
        elif not isinstance(index, int) or isinstance(index, bool):
            raise ValidationError(f"index must be a position in the history (0 = newest) or a task id, not "
                                  f"{type(index).__name__}", field="index", value=repr(index)[:80],
                                  allowed="a position or a task id")
        else:
            index = _position("index", index)
        self._ensure()
        if isinstance(index, str):
            record = self.workspace.results.get(index)
            if record is None:
                raise KeyError(index)
            return _entry(self.root, record)
        if index < 0:
            index += self.count()
        records, _ = self.workspace.results.page(offset=max(0, index), limit=1) if index >= 0 else ([], 0)
        if not records:
            raise IndexError(f"history index {index} out of range")
        return _entry(self.root, records[0])

    # -- filtering -------------------------------------------------------------------------
    def where(self, prompt: str | None = None, *, tier: str | None = None, resolution: str | None = None,
              since: Any = None, until: Any = None, days: float | None = None, starred: bool | None = None,
              tag: str | None = None) -> ResultFilter:
        """The filter these arguments mean, checked (a ``ValidationError`` names a bad one)."""
        from ..workspace import ResultFilter
        from ..workspace._results import clean_tag

        check_text("prompt", prompt, limit=5000, blank=True, optional=True)
        check_storable("tag", tag)
        if tier is not None and tier not in TIERS:
            raise ValidationError(f"unknown tier {tier!r}; use one of: {', '.join(TIERS)}", field="tier",
                                  value=tier, allowed=TIERS)
        if resolution is not None and resolution not in RESOLUTIONS:
            raise ValidationError(f"unknown resolution {resolution!r}; use one of: {', '.join(RESOLUTIONS)}",
                                  field="resolution", value=resolution, allowed=RESOLUTIONS)
        check_number("days", days, optional=True)
        if starred is not None and not isinstance(starred, bool):
            raise ValidationError(f"starred must be True, False or None, not {starred!r}", field="starred",
                                  value=starred, allowed=(True, False, None))
        start, end = _day(since, "since", end=False), _day(until, "until", end=True)
        if days is not None:
            recent = datetime.now().timestamp() - days * 86400
            start = recent if start is None else max(start, recent)
        return ResultFilter(prompt=(prompt or "").strip() or None, tier=tier, resolution=resolution,
                            since=start, until=end, starred=starred,
                            tag=clean_tag(tag) if tag is not None else None)

    def filter(self, prompt: str | None = None, *, tier: str | None = None, resolution: str | None = None,
               since: Any = None, until: Any = None, days: float | None = None, starred: bool | None = None,
               tag: str | None = None, limit: int | None = None) -> list[HistoryEntry]:
        """Entries whose prompt contains ``prompt`` (any case), in ``tier`` and ``resolution``,
        completed from ``since`` to ``until`` (dates are whole days) or in the last ``days``,
        starred (or not), carrying ``tag``; newest first, at most ``limit``."""
        check_number("limit", limit, minimum=1, strict=False, integer=True, optional=True)
        where = self.where(prompt, tier=tier, resolution=resolution, since=since, until=until, days=days,
                           starred=starred, tag=tag)
        self._ensure()
        out: list[HistoryEntry] = []
        while limit is None or len(out) < limit:
            want = 500 if limit is None else min(500, limit - len(out))
            records, _ = self.workspace.results.page(where, offset=len(out), limit=want)
            out.extend(_entry(self.root, r) for r in records)
            if len(records) < want:
                break
        return out

    def count(self, where: ResultFilter | None = None) -> int:
        """How many results (match ``where``, a :meth:`where` filter)."""
        self._ensure()
        return self.workspace.results.count(where)

    def page(self, number: int = 1, where: ResultFilter | None = None) -> HistoryPage:
        """Page ``number`` (from 1; past the last, the last) of the results matching ``where``."""
        from ..workspace import ResultFilter

        if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= 10**9:
            raise ValidationError(f"a page number counts from 1, not {number!r}", field="page", value=number,
                                  allowed="1 to 10**9")
        if where is not None and not isinstance(where, ResultFilter):
            raise ValidationError("where must be a filter from history.where(...), not "
                                  f"{type(where).__name__}", field="where", value=type(where).__name__,
                                  allowed="history.where(...)")
        self._ensure()
        size = self.page_size
        records, total = self.workspace.results.page(where, offset=(number - 1) * size, limit=size)
        pages = max(1, -(-total // size))
        if not records and number > pages:
            return self.page(pages, where)
        overall = total if where is None or where == type(where)() else self.workspace.results.count()
        return HistoryPage([_entry(self.root, r) for r in records], number, pages, total, size, overall)

    async def apage(self, number: int = 1, where: ResultFilter | None = None) -> HistoryPage:
        """``page`` on the workspace thread (syncing the index first, the first time)."""
        if not self.loaded and self._auto:
            await self.aload()
        return await _in_db(self.page, number, where)

    # -- stars, tags and notes -------------------------------------------------------------
    def _annotate(self, entry: HistoryEntry | str | int, change: Callable[[str], Any]) -> HistoryEntry:
        """Apply ``change(task_id)`` in the database; the entry as it is now."""
        task_id = self._entries([entry])[0].task_id
        change(task_id)
        record = self.workspace.results.get(task_id)
        return _entry(self.root, record) if record is not None else self[task_id]

    def star(self, entry: HistoryEntry | str | int, on: bool = True) -> HistoryEntry:
        """Star a result (``on=False``: unstar). Saved at once; returns the entry as it is now."""
        if not isinstance(on, bool):
            raise ValidationError(f"on must be True or False, not {on!r}", field="on", value=on,
                                  allowed=(True, False))
        return self._annotate(entry, lambda t: self.workspace.results.star(t, on))

    def tag(self, entry: HistoryEntry | str | int, tag: str) -> HistoryEntry:
        """Add a tag to a result (``history.filter(tag="fox")`` finds it)."""
        return self._annotate(entry, lambda t: self.workspace.results.tag(t, tag))

    def untag(self, entry: HistoryEntry | str | int, tag: str) -> HistoryEntry:
        return self._annotate(entry, lambda t: self.workspace.results.untag(t, tag))

    def note(self, entry: HistoryEntry | str | int, text: str) -> HistoryEntry:
        """Replace a result's free-text note ("" clears it)."""
        return self._annotate(entry, lambda t: self.workspace.results.note(t, text))

    async def astar(self, entry: HistoryEntry, on: bool = True) -> HistoryEntry:
        return await _in_db(self.star, entry, on)

    async def atag(self, entry: HistoryEntry, tag: str, remove: bool = False) -> HistoryEntry:
        return await _in_db(self.untag if remove else self.tag, entry, tag)

    async def anote(self, entry: HistoryEntry, text: str) -> HistoryEntry:
        return await _in_db(self.note, entry, text)

    @property
    def comparisons(self) -> SavedComparisons:
        """Every comparison saved in this folder's workspace, newest first: each one a
        ``Comparison`` again (built when first asked for), with its images and votes, that
        shows itself and takes more votes. ``.records`` holds the bare records."""
        from .saved import SavedComparisons

        return SavedComparisons(self.workspace.comparisons.recent(), self)

    # -- using entries ---------------------------------------------------------------------
    def _entries(self, items: Iterable[HistoryEntry | str | int]) -> list[HistoryEntry]:
        out = []
        for item in items:
            if isinstance(item, HistoryEntry):
                out.append(item)
                continue
            if isinstance(item, bool) or not isinstance(item, (str, int)):
                raise ValidationError(f"a result is named by its entry, task id or position (0 = newest), "
                                      f"not {type(item).__name__}", field="entry", value=repr(item)[:80],
                                      allowed="HistoryEntry, task id or position")
            if isinstance(item, int):
                _position("entry", item)
            check_storable("entry", item)
            try:
                out.append(self[item])
            except (KeyError, IndexError):
                raise ValidationError(f"no saved result {item!r} in {self.root}", field="entry",
                                      value=item, allowed="a task id or position in this folder") from None
        return out

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
                                           blind=blind, store=self.store)

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
        from .._thumbs import off_loop  # the package's one image thread (see _thumbs)

        data = await off_loop(self._image_bytes, entry)
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
        from .._thumbs import off_loop

        return await off_loop(self.thumbnail, entry, side)

    # -- export and display ----------------------------------------------------------------
    def rows(self, entries: Iterable[HistoryEntry] | None = None) -> list[dict[str, Any]]:
        self._ensure()
        return [e.row() for e in (self if entries is None else entries)]

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
        count = f"{self.count()} results" if self.loaded else "not read yet"
        return f"<History {str(self.root)!r}: {count}>"
