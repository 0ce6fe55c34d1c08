"""The live side-by-side view of a :class:`~flux2_widgets.compare.Comparison`.

Columns are ``Pro · 1k``-style headers (or A / B), rows are prompts (or any axis). The cells of
a tier, resolution or prompt comparison are ``TaskTile`` s; the places of a grid are
:class:`~.grid_card.GridCard` s (the take shown, ◀ take 2/3 ▶ through the others, Details for
the take's full tile), light enough for a few hundred images. A grid bigger than a page
(``page_size`` places) is paged: cards exist only for the page shown (the old page's are
closed when the page changes; the runs go on regardless), and the bar counts the whole grid.
The view never talks to the API itself and keeps no run state: what it shows is read off the
runs.
"""

from __future__ import annotations

import asyncio
import base64
import functools
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from ..compare.html import cell_caption, votes_summary_html
from ._dom import button, close_tree, esc, html_box, show, sim_badge_html
from ._style import style_widget
from .blind_vote import BlindVote
from .gallery import Ticker
from .grid_card import GridCard
from .grid_pages import PAGE_SIZE, Screen, place_at, screens
from .tile import TaskTile
from .vote_keys import VoteKeys

if TYPE_CHECKING:  # pragma: no cover
    from ..compare import Cell, Comparison, Position
    from ..runs import Run

__all__ = ["PAGE_SIZE", "ComparisonView", "Screen", "VoteKeys", "screens"]

#: A tile column never gets narrower than this (two fit beside the prompts at 1024 px with
#: the file browser open)...
_MIN_COLUMN = "160px"
#: ... nor wider than the thumbnails are (384 px): one tier must not draw a 740 px image per row.
_MAX_COLUMN = "384px"
#: Seconds between redraws of a big grid's counts while results stream in.
_SUMMARY_EVERY = 0.2

_VIEW_CSS = """
.f2w-cmp { gap: 10px; }
.f2w-cmp--keys:focus { outline: 2px solid rgba(37, 99, 235, .45); outline-offset: 4px;
  border-radius: 12px; }
/* stretch: the cards of one row (A and B) are as tall as each other */
.f2w-cmp-grid { gap: 10px; align-items: stretch; justify-content: start; }
.f2w-cmp-colhead > .widget-html-content { font-weight: 750; font-size: 15px; text-align: center; }
.f2w-cmp-rowhead > .widget-html-content { font-size: 13px; color: var(--jp-ui-font-color2, #57606a);
  word-break: break-word; }
.f2w-cmp-pagehead > .widget-html-content { font-weight: 750; font-size: 15px; }
.f2w-cmp-bar { align-items: center; gap: 10px; flex-wrap: wrap; }
.f2w-cmp-pager { align-items: center; gap: 8px; }
"""


class ComparisonView(widgets.VBox):
    """Header, a page of places (a tile per cell; a card per grid place, over its takes'
    runs), the counts and running total, Stop while anything runs, a cost table toggle and,
    for two-sided comparisons, vote buttons (``A wins`` / ``B wins`` / ``Tie``) that also
    answer ← → and t / ↓. A blind test shows one panel instead: two unlabelled images, voted
    on once, then revealed in place. ``page_size``: places drawn at once (a bigger grid is
    paged)."""

    def __init__(self, comparison: Comparison, *, page_size: int = PAGE_SIZE, **kwargs: Any) -> None:
        if isinstance(page_size, bool) or not isinstance(page_size, int) or page_size < 1:
            from ..errors import ValidationError

            raise ValidationError(f"page_size is a number of places >= 1, not {page_size!r}",
                                  field="page_size", value=page_size, allowed=">= 1")
        self.comparison = comparison
        cmp = comparison
        self.ticker = Ticker(loop=cmp.home.alive)
        self._page_tiles: list[TaskTile] = []
        #: The grid places on the page shown (grids only).
        self.cards: list[GridCard] = []
        #: A grid take's full tile, opened with its card's Details (in the card's place).
        self.detail_tile: TaskTile | None = None
        self._detail_card: GridCard | None = None
        #: The take each grid place shows, where flipped: kept while paging away and back.
        self._shown_take: dict[tuple[int, int, int], int] = {}
        self.blind: BlindVote | None = None
        self.page_size = page_size
        self.screens = screens(cmp, page_size)
        #: The page shown (from 0).
        self.page = 0
        self._summary_due: asyncio.TimerHandle | None = None

        self._badge = f" {sim_badge_html()}" if cmp.simulated else ""
        self.title = html_box("")
        self.page_head = html_box("", "f2w-cmp-pagehead")
        self.progress = html_box("", "f2w-note")
        self.total = html_box("", "f2w-cost")
        self.grid = widgets.GridBox((), layout=widgets.Layout(width="100%"))
        self.grid.add_class("f2w-cmp-grid")
        self.prev_button = button("Prev", "chevron-left", "the previous page of the grid")
        self.next_button = button("Next", "chevron-right", "the next page of the grid")
        self.page_label = html_box("", "f2w-note")
        self.prev_button.on_click(lambda _b: cmp.home.call(self.show_page, self.page - 1))
        self.next_button.on_click(lambda _b: cmp.home.call(self.show_page, self.page + 1))
        self.pager = widgets.HBox((self.prev_button, self.page_label, self.next_button))
        self.pager.add_class("f2w-cmp-pager")
        show(self.pager, len(self.screens) > 1)
        self.stop_button = button("Stop", "stop", "stop every unfinished cell (tasks already sent may still "
                                  "finish on the service and be billed)", button_style="danger")
        self.stop_button.on_click(lambda _b: cmp.stop())
        self.table_button = button("Cost table", "table", "estimated vs billed per cell",
                                   kind=widgets.ToggleButton)
        self.table_button.observe(lambda _c: self._refresh_table(), "value")
        self.table = html_box("")
        show(self.table, False)
        self.inspect_button = button("Inspect", "search-plus",
                                     "zoom, swipe, blink and diff at full resolution")
        self.inspect_button.on_click(lambda _b: cmp.home.call(self._open_inspector))
        self.inspector_box = widgets.VBox(())
        self.detail_head = html_box("", "f2w-note")
        self.detail_close = button("Close", "times", "close this take's full card")
        self.detail_close.on_click(lambda _b: cmp.home.call(self.close_details))
        head = widgets.HBox((self.detail_head, self.detail_close))
        head.add_class("f2w-cmp-details-head")
        self.details = widgets.VBox((head,))
        self.details.add_class("f2w-cmp-details")
        show(self.details, False)
        bar = widgets.HBox((self.progress, self.total, self.stop_button, self.table_button,
                            self.inspect_button))
        bar.add_class("f2w-cmp-bar")

        self.vote_buttons: dict[str, widgets.Button] = {}
        self.votes_bar: widgets.HBox | None = None
        self.vote_keys: VoteKeys | None = None
        children: list[widgets.Widget] = [style_widget(), html_box(f"<style>{_VIEW_CSS}</style>"),
                                          self.title]
        if cmp.blind:
            # Blind: nothing that names a side (tiles, headers, cost) reaches the page until the
            # vote; then the same panel reveals who was who. One place to vote, before and after.
            self.blind = BlindVote(self._blind_vote, aspect=_aspect(cmp))
            self.title.value = f'<span class="f2w-title">Blind test</span>{self._badge}'
            children.append(self.blind)
        elif self.grid_mode:
            # a page of a grid is taller than a screen: its counts, total and Stop come first
            self.title.value = f'<span class="f2w-title">{esc(cmp.title)}</span>{self._badge}'
            children += [bar, self.table, self.inspector_box, self.pager, self.page_head, self.grid]
            self._draw_page()
        else:
            self.title.value = f'<span class="f2w-title">{esc(cmp.title)}</span>{self._badge}'
            children += [self.pager, self.page_head, self.grid]
            self._draw_page()
        if not self.grid_mode or cmp.blind:
            children += [bar, self.table, self.inspector_box]
        if cmp.sides and not cmp.blind:
            children.append(self._build_votes())
        super().__init__(children=tuple(children), **kwargs)
        self.add_class("f2w")
        self.add_class("f2w-cmp")
        if cmp.blind:
            self.add_class("f2w-cmp--blind")
        cmp.on_change(self._on_change)
        self._refresh_all()

    # -- what is shown -----------------------------------------------------------------
    @property
    def grid_mode(self) -> bool:
        """Places are drawn as cards (a grid), not tiles."""
        return self.comparison.kind == "grid"

    @property
    def tiles(self) -> list[TaskTile]:
        """The full tiles shown: every cell's on the page (tier, resolution and prompt
        comparisons, in grid order), or a grid's one opened with Details."""
        if self.grid_mode:
            return [self.detail_tile] if self.detail_tile is not None else []
        return list(self._page_tiles)

    @property
    def pages(self) -> int:
        return len(self.screens)

    def card_at(self, row: int, col: int, page: int = 0) -> GridCard | None:
        """The card drawing a place, if that place is on the page shown."""
        for card in self.cards:
            p = card.place
            if (p.page, p.row, p.col) == (page, row, col):
                return card
        return None

    def open_details(self, cell: Cell) -> TaskTile:
        """Show the full tile of one take of a grid place on the page (Open, Save, Download,
        Request) where its card was, until Close (or another Details, or another page). On the
        comparison's home loop."""
        card = next((c for c in self.cards if any(x is cell for x in c.place.cells)), None)
        if card is None:
            raise ValueError("that take's place is not on the page shown")
        self.close_details()
        tile = self._make_tile(cell)
        self.detail_tile, self._detail_card = tile, card
        where = " | ".join(p for p in (cell.col_label, cell.row_label, cell.page_label) if p)
        take = f" · {cell.take_label}" if cell.take_label else ""
        self.detail_head.value = f"<b>{esc(where)}</b>{esc(take)}"
        self.details.children = (self.details.children[0], tile)
        show(self.details, True)
        self.grid.children = tuple(self.details if w is card else w for w in self.grid.children)
        return tile

    def close_details(self) -> None:
        """Put the card back in the place of the full tile opened with Details."""
        tile, card = self.detail_tile, self._detail_card
        if tile is None and card is None:
            return
        self.detail_tile = self._detail_card = None
        if card is not None:
            self.grid.children = tuple(card if w is self.details else w for w in self.grid.children)
        if tile is not None:
            self.details.children = self.details.children[:1]
            tile.close()
        show(self.details, False)

    def show_page(self, page: int) -> None:
        """Show page ``page`` (from 0; out of range does nothing): its tiles are made and the
        old page's closed. Runs on the comparison's home loop (the buttons hand it there)."""
        if self.blind is not None or not 0 <= page < len(self.screens) or page == self.page:
            return
        self.page = page
        self._draw_page()
        self._refresh_pager()

    def _make_tile(self, cell: Cell) -> TaskTile:
        assert cell.run is not None
        cmp = self.comparison
        title = cell.col_label or cell.row_label
        tile = TaskTile(cell.run, actions=("open", "save", "download", "inspect"), title=title,
                        on_retry=functools.partial(_retry_cell, cmp, cell))
        if cell.run.active:
            self.ticker.watch(tile)
        return tile

    def _make_place(self, place: Position) -> widgets.Widget:
        if self.grid_mode:
            key = (place.page, place.row, place.col)
            card = GridCard(place, on_retry=self.comparison.retry, on_details=self.open_details,
                            take=self._shown_take.get(key, 0))
            card.observe(lambda change, key=key: self._shown_take.__setitem__(key, change.new), "take")
            self.cards.append(card)
            return card
        tile = self._make_tile(place.cells[0])
        self._page_tiles.append(tile)
        return tile

    def _draw_page(self) -> None:
        self.close_details()
        cmp, screen = self.comparison, self.screens[self.page]
        old: list[widgets.Widget] = [*self.cards, *self._page_tiles]
        self.cards, self._page_tiles = [], []
        cols = list(screen.cols)
        out: list[widgets.Widget] = [html_box("")]
        out += [html_box(esc(cmp.col_labels[c]), "f2w-cmp-colhead") for c in cols]
        for r in screen.rows:
            out.append(html_box(esc(cmp.row_labels[r]), "f2w-cmp-rowhead"))
            for c in cols:
                place = place_at(cmp, screen.page, r, c)
                if place is None:
                    out.append(html_box(""))
                elif place.skipped:
                    box = f'<div class="f2w-skip">{esc(place.reason)}</div>'
                    out.append(html_box(box, "f2w-cmp-skipped"))
                else:
                    out.append(self._make_place(place))
        self.grid.layout.grid_template_columns = (f"minmax(80px, 180px) repeat({len(cols)}, "
                                                  f"minmax({_MIN_COLUMN}, {_MAX_COLUMN}))")
        previous = self.grid.children
        self.grid.children = tuple(out)
        self.page_head.value = esc(screen.heading)
        show(self.page_head, bool(screen.heading))
        for w in (*old, *previous):  # the runs go on; only their drawings leave
            if w is not self.details:
                w.close()

    def _build_votes(self) -> widgets.HBox:
        cmp = self.comparison
        for key, label in [*cmp.sides, ("tie", "Tie")]:
            tie = key == "tie"
            b = button(label if tie else f"{label} wins", "balance-scale" if tie else "trophy",
                       f"record a vote: {'tie' if tie else label}")
            b.on_click(lambda _b, key=key: cmp.home.call(self._vote, key))
            self.vote_buttons[key] = b
        self.vote_note = widgets.Text(placeholder="note (optional): why it wins",
                                      layout=widgets.Layout(width="280px"))
        self.tally = html_box("", "f2w-note")
        parts: list[widgets.Widget] = [*self.vote_buttons.values(), self.vote_note, self.tally]
        if len(cmp.sides) == 2:
            (_, left), (_, right) = cmp.sides
            self.vote_keys = VoteKeys(self._key_vote, hint=f"keys: ← {left} · → {right} · t or ↓ tie")
            parts.append(self.vote_keys)
        votes = widgets.HBox(tuple(parts))
        votes.add_class("f2w-cmp-bar")
        self.votes_bar = votes
        return votes

    # -- following the comparison (on its home loop) ----------------------------------
    def _on_change(self, cell: Cell | None) -> None:
        if cell is not None and cell.run is not None and cell.run.active:
            for tile in self.tiles:
                if tile.run is cell.run:
                    self.ticker.watch(tile)
        if cell is None:
            self._refresh_all()
        else:
            self._schedule_summary()

    def _schedule_summary(self) -> None:
        """A cell changed: redraw the counts soon, once for every change in the next moment
        (hundreds of cells streaming in must not redraw the bar hundreds of times)."""
        if self._summary_due is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._refresh_all()
            return
        self._summary_due = loop.call_later(_SUMMARY_EVERY, self._summary_now)

    def _summary_now(self) -> None:
        self._summary_due = None
        try:
            self._refresh_all()
        except Exception:  # a closed view: nothing to draw
            pass

    def _refresh_all(self) -> None:
        if self.blind is not None:
            self._blind_sides()
        self._refresh_summary()
        self._refresh_pager()

    def _refresh_pager(self) -> None:
        if len(self.screens) < 2:
            return
        screen = self.screens[self.page]
        counts = self._page_counts()
        rows = (f"rows {screen.rows.start + 1}-{screen.rows.stop}" if len(screen.rows) > 1
                else f"row {screen.rows.start + 1}")
        self.page_label.value = esc(f"page {self.page + 1} of {len(self.screens)} · {rows} · {counts}")
        self.prev_button.disabled = self.page == 0
        self.next_button.disabled = self.page == len(self.screens) - 1

    def _page_counts(self) -> str:
        screen = self.screens[self.page]
        cells = [c for r in screen.rows for col in screen.cols
                 if (p := place_at(self.comparison, screen.page, r, col)) is not None for c in p.cells]
        done = sum(c.done for c in cells)
        return f"{done}/{len(cells)} here done"

    def _refresh_summary(self) -> None:
        cmp = self.comparison
        counts = cmp.counts
        text = f"{counts['done']}/{len(cmp.cells)} done"
        for name in ("running", "queued", "failed", "stopped"):
            if counts[name] and (name != "queued" or not cmp.done):
                text += f" · {counts[name]} {name}"
        skipped = sum(p.skipped for p in cmp.positions)
        if skipped:
            text += f" · {skipped} not offered"
        self.progress.value = esc(text)
        show(self.stop_button, cmp.running)
        hidden = not cmp.revealed
        for w in (self.total, self.table_button, self.inspect_button):
            show(w, not hidden)
        if hidden:
            return  # the total would tell the tiers apart
        self.total.value = f"total: {esc(cmp.total_text)}"
        if cmp.sides and self.votes_bar is not None:
            self.tally.value = votes_summary_html(cmp)
        self._refresh_table()

    def _refresh_table(self) -> None:
        shown = bool(self.table_button.value)
        show(self.table, shown)
        if shown:
            self.table.value = self.comparison.cost_table()._repr_html_()

    def _vote(self, key: str) -> None:
        note = self.vote_note.value.strip() or None
        self.vote_note.value = ""
        self.comparison.vote(key, note=note)

    def _key_vote(self, position: str) -> None:
        # left / right are the first and second side as drawn; the buttons' own path votes
        sides = self.comparison.sides
        key = "tie" if position == "tie" else sides[0 if position == "left" else 1][0]
        self.comparison.home.call(self._vote, key)

    # -- blind A/B -------------------------------------------------------------------
    def _blind_sides(self) -> None:
        blind, cmp = self.blind, self.comparison
        assert blind is not None
        sides = []
        for index in cmp.order:
            cell = cmp.cells[index]
            run = cell.run
            side: dict[str, Any] = {"status": cell.status, "preview": ""}
            if cell.ok and run is not None and run.preview:
                side["preview"] = "data:image/jpeg;base64," + base64.b64encode(run.preview).decode()
            elif cell.ok and run is not None and run.error_text:
                side["status"] = "cannot show the image"
            if cmp.revealed:
                side["label"] = f"Prompt {cell.col_label}" if cmp.kind == "prompts" else cell.col_label
                side["prompt"] = cell.request.prompt
                side["caption"] = cell_caption(cell)
            sides.append(side)
        blind.sides = sides
        broken = [c for c in cmp.cells if c.done and not c.ok]
        blind.ready = not broken and all(s.get("preview") for s in sides)
        if broken and not cmp.revealed:
            blind.message = ("One side did not finish, so this blind test cannot be judged fairly; "
                             "vote in code with cmp.vote(...) if you still want to.")
        if cmp.revealed and not blind.revealed:
            last = cmp.votes[-1]
            blind.choice = last.get("shown_as", last["choice"])
            winner = "a tie" if last["choice"] == "tie" else f"{last['winner']} wins"
            blind.message = f"Your vote: {blind.choice} → {winner}"
            blind.revealed = True

    def _blind_vote(self, position: str) -> None:
        # the key press may arrive on a kernel subshell's thread: vote where the model lives
        self.comparison.home.call(self.comparison.vote, position)

    def _open_inspector(self) -> None:
        from .inspect_view import Inspector

        for old in self.inspector_box.children:
            old.close()
        try:
            if self.grid_mode:
                inspector = self._page_inspector()
            else:
                inspector = Inspector.from_comparison(self.comparison)
            self.inspector_box.children = (inspector,)
        except Exception as exc:  # not two finished images yet
            self.inspector_box.children = (html_box(esc(str(exc)), "f2w-note"),)

    def _page_inspector(self) -> Any:
        """A grid's Inspect: the takes shown on the page's cards, the first finished ones the
        Inspector holds (it shows up to eight)."""
        from ..errors import ValidationError
        from .inspect_view import MAX_IMAGES, Inspector

        shown = [card.cell for card in self.cards if card.cell.ok][:MAX_IMAGES]
        if len(shown) < 2:
            raise ValidationError(f"inspect needs two finished images on this page; it has {len(shown)}",
                                  field="comparison", value=len(shown), allowed=">= 2 finished")
        labels = [" | ".join(p for p in (c.col_label, c.row_label[:40], c.take_label) if p) for c in shown]
        if len(set(labels)) < len(labels):
            labels = [f"{i + 1}. {label}" for i, label in enumerate(labels)]
        return Inspector.from_generations([c.result for c in shown if c.result is not None], labels=labels,
                                          title=f"{self.comparison.title}, page {self.page + 1}")

    def close(self) -> None:
        self.comparison.on_change(self._on_change, remove=True)
        if self._summary_due is not None:
            self._summary_due.cancel()
            self._summary_due = None
        self.ticker.stop()
        self.close_details()
        drawn: list[widgets.Widget] = [*self.cards, *self._page_tiles]
        for w in drawn:
            w.close()
        close_tree(self, keep=style_widget())  # the stylesheet is shared with other views
        super().close()


def _retry_cell(cmp: Comparison, cell: Cell, _run: Run) -> None:
    cmp.retry(cell)


def _aspect(cmp: Comparison) -> float:
    size = cmp.cells[0].request.size if cmp.cells else None
    return size[0] / size[1] if size else 1.0
