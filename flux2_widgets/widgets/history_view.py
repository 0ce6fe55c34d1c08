"""The history gallery: filters over the results folder, a page of small cards, and actions
on a selection.

A thin view over :class:`~flux2_widgets.compare.history.History`: the model reads the
workspace database (on the workspace thread) and makes the card previews; this view
only asks, and shows what comes back. Pages go newest first (prev / next / newest,
"page 3 of 120"); each card has a star, a tag field and a note, saved by the model.
Select two or more cards to compare, blind-test or inspect them; select one to send
its prompt (or its image, as a remix source) to a Studio.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from .._loops import HomeLoop
from ..catalog import RESOLUTIONS, TIERS, tier_label
from ..money import format_usd
from ._dom import button, esc, html_box, show
from ._style import style_widget

if TYPE_CHECKING:  # pragma: no cover
    from ..compare.history import History, HistoryEntry, HistoryPage
    from ..workspace import ResultFilter

__all__ = ["HistoryView"]

log = logging.getLogger("flux2_widgets")

_DATES = (("any time", None), ("today", 0), ("last 7 days", 7), ("last 30 days", 30))

_VIEW_CSS = """
.f2w-hist { gap: 10px; max-width: 1400px; }
.f2w-hist-filters { gap: 10px; align-items: center; flex-wrap: wrap; }
.f2w-hist-grid { display: flex; flex-wrap: wrap; gap: 10px; }
.f2w-hist-card { width: 176px; padding: 6px; gap: 4px; border-radius: 10px;
  border: 2px solid var(--jp-border-color2, #e5e7eb); }
.f2w-hist-card.f2w-hist-card--selected { border-color: #2563eb; background: rgba(37, 99, 235, .07); }
.f2w-hist-card img { border-radius: 6px; object-fit: contain; background: var(--jp-layout-color2, #f3f4f6); }
.f2w-hist-meta > .widget-html-content { font-size: 12px; line-height: 1.35; }
.f2w-hist-actions, .f2w-hist-pages { gap: 8px; align-items: center; flex-wrap: wrap; }
.f2w-hist-card .f2w-hist-note textarea { font-size: 12px; min-height: 34px; }
.f2w-hist-tags > .widget-html-content { font-size: 11px; opacity: .8; }
"""


class _Card(widgets.VBox):
    """One result: preview, facts, a selection toggle, and its star, tags and note. It
    reports what the user does (``on_toggle``, ``on_change``); it saves nothing itself."""

    def __init__(self, entry: HistoryEntry, on_toggle: Any, on_change: Any) -> None:
        self.entry = entry
        self.image = widgets.Image(format="jpeg", layout=widgets.Layout(width="160px", height="160px"))
        prompt = entry.prompt if len(entry.prompt) <= 70 else entry.prompt[:69] + "…"
        cost = format_usd(entry.cost) + (" (sim.)" if entry.simulated else "")
        self.meta = html_box(
            f"<b>{esc(tier_label(entry.tier))} · {esc(entry.resolution)}</b> · {esc(entry.size_text)}"
            f"<br>{esc(prompt)}<br><span style='opacity:.75'>{esc(entry.when.strftime('%Y-%m-%d %H:%M'))}"
            f" · {esc(cost)}</span>", "f2w-hist-meta")
        self.select = button("Select", "check", "select for compare / inspect / Studio",
                             kind=widgets.ToggleButton)
        self.select.add_class("f2w-hist-select")
        self.select.observe(lambda change: on_toggle(self, change.new), "value")
        self.star = button("", "star", "star this result (saved; filter by stars)", kind=widgets.ToggleButton)
        self.star.layout.width = "36px"
        self.tag_field = widgets.Text(placeholder="add tag (-tag removes)", continuous_update=False,
                                      layout=widgets.Layout(width="120px"))
        self.tags = html_box("", "f2w-hist-tags")
        self.note = widgets.Textarea(placeholder="note…", continuous_update=False,
                                     layout=widgets.Layout(width="164px"))
        self.note.add_class("f2w-hist-note")
        self.show(entry)
        self.star.observe(lambda change: on_change(self, "star", change.new), "value")
        self.tag_field.observe(lambda change: change.new.strip() and on_change(self, "tag", change.new),
                               "value")
        self.note.observe(lambda change: on_change(self, "note", change.new), "value")
        super().__init__((self.image, self.meta, widgets.HBox((self.select, self.star)),
                          widgets.HBox((self.tag_field,)), self.tags, self.note))
        self.add_class("f2w-hist-card")

    def show(self, entry: HistoryEntry) -> None:
        """Show the star, tags and note the model says the result has now."""
        self.entry = entry
        self.star.value = entry.starred
        self.star.button_style = "warning" if entry.starred else ""
        self.tags.value = " ".join(f"#{esc(t)}" for t in entry.tags)
        if self.note.value != entry.note:
            self.note.value = entry.note


class HistoryView(widgets.VBox):
    """Filters, a page of cards (``History.page_size``), page controls, and Compare / Blind A/B /
    Inspect / Studio buttons."""

    def __init__(self, model: History, studio: Any = None, **kwargs: Any) -> None:
        self.model = model
        self.studio = studio
        self.selected: list[_Card] = []
        self.cards: list[_Card] = []
        self.page: HistoryPage | None = None
        self._tasks: set[asyncio.Future[Any]] = set()
        self._home = HomeLoop()
        self.heading = html_box('<span class="f2w-title">History</span>')
        self.count = html_box("reading the results folder…", "f2w-note")
        self.refresh_button = button("Refresh", "refresh", "read the results folder again")
        self.refresh_button.on_click(lambda _b: self._spawn(self._reload()))
        self.prompt_filter = widgets.Text(placeholder="prompt contains…", continuous_update=False,
                                          layout=widgets.Layout(width="260px"))
        self.tier_filter = widgets.Dropdown(options=[("any tier", "")] + [(tier_label(t), t) for t in TIERS],
                                            layout=widgets.Layout(width="130px"))
        self.resolution_filter = widgets.Dropdown(options=[("any size", "")] + [(r, r) for r in RESOLUTIONS],
                                                  layout=widgets.Layout(width="120px"))
        self.date_filter = widgets.Dropdown(options=[(label, i) for i, (label, _) in enumerate(_DATES)],
                                            layout=widgets.Layout(width="140px"))
        self.starred_filter = button("starred", "star", "only starred results", kind=widgets.ToggleButton)
        self.tag_filter = widgets.Text(placeholder="tag…", continuous_update=False,
                                       layout=widgets.Layout(width="110px"))
        for control in (self.prompt_filter, self.tier_filter, self.resolution_filter, self.date_filter,
                        self.starred_filter, self.tag_filter):
            control.observe(lambda _c: self._spawn(self._show_page(1)), "value")
        filters = widgets.HBox((self.prompt_filter, self.tier_filter, self.resolution_filter,
                                self.date_filter, self.starred_filter, self.tag_filter, self.refresh_button,
                                self.count))
        filters.add_class("f2w-hist-filters")
        self.grid = widgets.Box(())
        self.grid.add_class("f2w-hist-grid")
        self.newest_button = button("Newest", "angle-double-left", "back to the newest results")
        self.prev_button = button("Prev", "angle-left", "newer results")
        self.next_button = button("Next", "angle-right", "older results")
        self.page_label = html_box("", "f2w-note")
        self.newest_button.on_click(lambda _b: self._spawn(self._show_page(1)))
        self.prev_button.on_click(lambda _b: self._spawn(self._show_page(self._number() - 1)))
        self.next_button.on_click(lambda _b: self._spawn(self._show_page(self._number() + 1)))
        pages = widgets.HBox((self.newest_button, self.prev_button, self.page_label, self.next_button))
        pages.add_class("f2w-hist-pages")
        self.compare_button = button("Compare", "columns", "side by side, with votes and to_image()")
        self.blind_button = button("Blind A/B", "eye-slash",
                                   "two results, shuffled and unlabelled until you vote")
        self.inspect_button = button("Inspect", "search-plus", "zoom, swipe, blink and diff")
        self.prompt_button = button("Prompt → Studio", "pencil", "use this result's prompt in the Studio")
        self.remix_button = button("Remix in Studio", "magic", "upload this image as a remix source")
        self.compare_button.on_click(lambda _b: self._compare_selected(blind=False))
        self.blind_button.on_click(lambda _b: self._compare_selected(blind=True))
        self.inspect_button.on_click(lambda _b: self._inspect())
        self.prompt_button.on_click(lambda _b: self._spawn(self._to_studio(as_source=False)))
        self.remix_button.on_click(lambda _b: self._spawn(self._to_studio(as_source=True)))
        self.message = html_box("", "f2w-note")
        actions = widgets.HBox((self.compare_button, self.blind_button, self.inspect_button,
                                self.prompt_button, self.remix_button, self.message))
        actions.add_class("f2w-hist-actions")
        self.target = widgets.VBox(())
        super().__init__((style_widget(), html_box(f"<style>{_VIEW_CSS}</style>"), self.heading, filters,
                          pages, self.grid, actions, self.target), **kwargs)
        self.add_class("f2w")
        self.add_class("f2w-hist")
        self._refresh_actions()
        self._spawn(self._reload())

    # -- running work without blocking the kernel -------------------------------------
    def _spawn(self, coro: Any) -> None:
        """Run ``coro`` on the loop this view was built on, whichever thread a click came on
        (ipykernel 7 delivers widget messages on subshell threads with loops of their own)."""
        def track(handed: Any) -> None:
            task = handed.result()
            if not task.done():
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

        handed = self._home.spawn(lambda: self._guard(coro))
        if handed.done():
            track(handed)
        else:
            handed.add_done_callback(track)

    async def _guard(self, coro: Any) -> None:
        try:
            await coro
        except Exception as exc:  # say what went wrong where the user is looking
            log.debug("history view action failed", exc_info=True)
            self.message.value = f"⚠ {esc(exc)}"

    async def wait_idle(self) -> None:
        """Wait for the reads and previews under way (for tests and notebooks)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # -- reading, filtering and paging ---------------------------------------------------
    async def _reload(self) -> None:
        self.count.value = "reading the results folder…"
        await self.model.aload()
        await self._show_page(self._number())

    def _number(self) -> int:
        return self.page.number if self.page is not None else 1

    def current_where(self) -> ResultFilter:
        """The filter the controls describe (checked by the model; no I/O)."""
        days = _DATES[self.date_filter.value][1]
        since = None
        if days == 0:
            from datetime import date

            since = date.today()
        return self.model.where(self.prompt_filter.value or None, tier=self.tier_filter.value or None,
                                resolution=self.resolution_filter.value or None, since=since,
                                days=days or None, starred=True if self.starred_filter.value else None,
                                tag=self.tag_filter.value.strip() or None)

    def current_filter(self) -> list[HistoryEntry]:
        """The entries of the page shown."""
        return list(self.page.entries) if self.page is not None else []

    async def _show_page(self, number: int) -> None:
        if not self.model.loaded:
            return
        page = await self.model.apage(max(1, number), self.current_where())
        self.page = page
        keep = {c.entry.task_id for c in self.selected}
        self.cards = [_Card(e, self._on_toggle, self._on_change) for e in page.entries]
        self.selected = []
        for card in self.cards:
            if card.entry.task_id in keep:
                card.select.value = True
        self.grid.children = tuple(self.cards)
        self.page_label.value = esc(page.text)
        self.prev_button.disabled = self.newest_button.disabled = page.number <= 1
        self.next_button.disabled = page.number >= page.pages
        self.count.value = esc(f"{page.total} of {page.overall} results in {self.model.root}")
        self._refresh_actions()
        for card in self.cards:
            try:
                card.image.value = await self.model.athumbnail(card.entry)
            except Exception as exc:  # a removed file: the card says so, the others still load
                card.meta.value += f"<br><i>{esc(type(exc).__name__)}: image missing</i>"

    # -- stars, tags, notes ---------------------------------------------------------------
    def _on_change(self, card: _Card, what: str, value: Any) -> None:
        self._spawn(self._annotate(card, what, value))

    async def _annotate(self, card: _Card, what: str, value: Any) -> None:
        entry = card.entry
        if what == "star":
            if bool(value) == entry.starred:
                return
            entry = await self.model.astar(entry, bool(value))
        elif what == "tag":
            text = str(value).strip()
            card.tag_field.value = ""
            remove = text.startswith("-")
            entry = await self.model.atag(entry, text[1:] if remove else text, remove=remove)
        elif what == "note":
            if value == entry.note:
                return
            entry = await self.model.anote(entry, str(value))
        card.show(entry)

    # -- selection and actions ---------------------------------------------------------
    def _on_toggle(self, card: _Card, on: bool) -> None:
        if on and card not in self.selected:
            self.selected.append(card)
            card.add_class("f2w-hist-card--selected")
        elif not on and card in self.selected:
            self.selected.remove(card)
            card.remove_class("f2w-hist-card--selected")
        self._refresh_actions()

    def select(self, *task_ids: str) -> None:
        """Select cards by task id (as clicking them would)."""
        for card in self.cards:
            if card.entry.task_id in task_ids:
                card.select.value = True

    def _refresh_actions(self) -> None:
        n = len(self.selected)
        self.compare_button.disabled = self.inspect_button.disabled = not 2 <= n <= 8
        self.blind_button.disabled = n != 2
        no_studio = self.studio is None
        self.prompt_button.disabled = self.remix_button.disabled = no_studio or n != 1
        for b in (self.prompt_button, self.remix_button):
            show(b, not no_studio)
        hint = "select two or more to compare" if n < 2 else f"{n} selected"
        if no_studio and n == 1:
            hint += " (pass studio= to .view() to send one to a Studio)"
        self.message.value = esc(hint)

    def _entries(self) -> list[HistoryEntry]:
        return [c.entry for c in self.selected]

    def _compare_selected(self, *, blind: bool) -> None:
        cmp = self.model.compare(*self._entries(), blind=blind)
        self.target.children = (cmp.view(),)
        self.comparison = cmp

    def _inspect(self) -> None:
        self.target.children = (self.model.inspect(*self._entries()),)

    async def _to_studio(self, *, as_source: bool) -> None:
        if self.studio is None or len(self.selected) != 1:
            return
        entry = self.selected[0].entry
        if as_source:
            self.message.value = "uploading the image as a remix source…"
        await self.model.asend_to_studio(entry, self.studio, as_source=as_source)
        self.message.value = esc("sent to the Studio as a remix source" if as_source
                                 else "prompt sent to the Studio")
