"""The live side-by-side view of a :class:`~flux2_widgets.compare.Comparison`.

Columns are ``Pro · 1k``-style headers (or A / B), rows are prompts, and every
cell is a ``TaskTile`` driven by the comparison's change events: the view
never talks to the API itself. Thumbnails are made off the loop by the tiles;
the comparison waits for those renders, so a finished comparison is a drawn one.
"""

from __future__ import annotations

import asyncio
import base64
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from .._loops import HomeLoop, running_loop
from ..compare.html import cell_caption
from ._dom import button, close_tree, esc, html_box, show
from ._style import style_widget
from .blind_vote import BlindVote
from .gallery import Ticker
from .tile import TaskTile

if TYPE_CHECKING:  # pragma: no cover
    from ..compare import Cell, Comparison
    from ..results import Generation

__all__ = ["ComparisonView"]

#: A tile column never gets narrower than this (two fit beside the prompts at 1024 px with
#: the file browser open)...
_MIN_COLUMN = "160px"
#: ... nor wider than the thumbnails are (384 px): one tier must not draw a 740 px image per row.
_MAX_COLUMN = "384px"

#: Preview size in the blind panel: large enough to judge, small enough for a saved notebook.
_BLIND_SIDE = 512

_VIEW_CSS = """
.f2w-cmp { gap: 10px; }
/* stretch: the cards of one row (A and B) are as tall as each other */
.f2w-cmp-grid { gap: 10px; align-items: stretch; justify-content: start; }
.f2w-cmp-colhead > .widget-html-content { font-weight: 750; font-size: 15px; text-align: center; }
.f2w-cmp-rowhead > .widget-html-content { font-size: 13px; color: var(--jp-ui-font-color2, #57606a);
  word-break: break-word; }
.f2w-cmp-bar { align-items: center; gap: 10px; flex-wrap: wrap; }
"""


class ComparisonView(widgets.VBox):
    """Header, a grid of tiles (one per cell), the running total, a cost table toggle and,
    for two-sided comparisons, vote buttons (``A wins`` / ``B wins`` / ``Tie``)."""

    def __init__(self, comparison: Comparison, **kwargs: Any) -> None:
        self.comparison = comparison
        cmp = comparison
        self.ticker = Ticker(loop=self._loop())
        self.tiles: list[TaskTile] = []
        self.blind: BlindVote | None = None

        badge = ' <span class="f2w-badge f2w-badge--sim">SIMULATED</span>' if cmp.simulated else ""
        self._badge = badge
        self.title = html_box("")
        self.progress = html_box("", "f2w-note")
        self.total = html_box("", "f2w-cost")
        self.grid = widgets.GridBox((), layout=widgets.Layout(
            grid_template_columns=f"minmax(80px, 180px) repeat({len(cmp.col_labels)}, "
                                  f"minmax({_MIN_COLUMN}, {_MAX_COLUMN}))",
            width="100%"))
        self.grid.add_class("f2w-cmp-grid")
        self.table_button = button("Cost table", "table", "estimated vs billed per cell",
                                    kind=widgets.ToggleButton)
        self.table_button.observe(lambda _c: self._refresh_table(), "value")
        self.table = html_box("")
        show(self.table, False)
        self.inspect_button = button("Inspect", "search-plus",
                                     "zoom, swipe, blink and diff at full resolution")
        self.inspect_button.on_click(lambda _b: self._open_inspector())
        self.inspector_box = widgets.VBox(())
        bar = widgets.HBox((self.progress, self.total, self.table_button, self.inspect_button))
        bar.add_class("f2w-cmp-bar")

        self.vote_buttons: dict[str, widgets.Button] = {}
        self.votes_bar: widgets.HBox | None = None
        children: list[widgets.Widget] = [style_widget(), html_box(f"<style>{_VIEW_CSS}</style>"),
                                          self.title]
        if not cmp.revealed:
            # Blind: nothing that names a side (tiles, headers, cost) exists until the vote.
            # The simulator stamps tier and prompt onto its pictures (so nobody mistakes them for
            # real output): say so, since that gives a simulated blind test away.
            note = ("Simulated images carry their tier in the corner, so this is only a rehearsal; "
                    "real images carry no label." if cmp.simulated else "")
            self.blind = BlindVote(self._blind_vote, aspect=_aspect(cmp), note=note)
            self.title.value = f'<span class="f2w-title">Blind test</span>{badge}'
            children.append(self.blind)
            show(self.total, False)
            show(self.table_button, False)
            show(self.inspect_button, False)
        else:
            self._build_tiles()
        children += [self.grid, bar, self.table, self.inspector_box]
        if cmp.sides and cmp.revealed:
            children.append(self._build_votes())
        super().__init__(children=tuple(children), **kwargs)
        self.add_class("f2w")
        self.add_class("f2w-cmp")
        if cmp.blind:
            self.add_class("f2w-cmp--blind")
        cmp.on_change(self._on_change)
        self._catch_up()

    def _build_tiles(self) -> None:
        cmp = self.comparison
        base_url = getattr(cmp.client, "base_url", "")
        # Save writes where the client keeps its results (with their sidecars), not a second
        # copy under the default folder.
        store = getattr(cmp.client, "store", None)
        loop = self._loop()
        home = HomeLoop(loop) if loop is not None else None
        for cell in cmp.cells:
            tile = TaskTile(cell.request, simulated=cmp.simulated, base_url=base_url, home=home,
                            store=store, save_dir=store.root if store is not None else "flux2_results",
                            actions=("open", "save", "download", "inspect"),
                            title=cell.col_label)
            tile.on_retry(lambda _t, cell=cell: cmp.retry(cell), resumes=True)  # type: ignore[misc]
            tile.observe(self._on_tile_status, "status")
            self.tiles.append(tile)
        self.grid.children = tuple(self._grid_children())
        self.title.value = f'<span class="f2w-title">{esc(cmp.title)}</span>{self._badge}'

    def _build_votes(self) -> widgets.HBox:
        cmp = self.comparison
        for key, label in [*cmp.sides, ("tie", "Tie")]:
            tie = key == "tie"
            b = button(label if tie else f"{label} wins", "balance-scale" if tie else "trophy",
                       f"record a vote: {'tie' if tie else label}")
            b.on_click(lambda _b, key=key: self._vote(key))
            self.vote_buttons[key] = b
        self.vote_note = widgets.Text(placeholder="note (optional): why it wins",
                                      layout=widgets.Layout(width="280px"))
        self.tally = html_box("", "f2w-note")
        votes = widgets.HBox((*self.vote_buttons.values(), self.vote_note, self.tally))
        votes.add_class("f2w-cmp-bar")
        self.votes_bar = votes
        return votes

    # -- layout --------------------------------------------------------------------
    def _grid_children(self) -> list[widgets.Widget]:
        cmp = self.comparison
        out: list[widgets.Widget] = [html_box("")]
        out += [html_box(esc(label), "f2w-cmp-colhead") for label in cmp.col_labels]
        for r, row_label in enumerate(cmp.row_labels):
            out.append(html_box(esc(row_label), "f2w-cmp-rowhead"))
            for c in range(len(cmp.col_labels)):
                try:
                    out.append(self.tiles[cmp.cell(r, c).index])
                except KeyError:
                    out.append(html_box(""))
        return out

    # -- following the comparison ----------------------------------------------------
    def _catch_up(self) -> None:
        """Bring tiles up to date with cells that moved before this view existed."""
        finished: list[tuple[TaskTile | None, Cell]] = []  # (None: the blind panel's side)
        if self.blind is not None and not self.tiles:
            finished = [(None, cell) for cell in self.comparison.cells
                        if cell.status == "completed" and cell.result is not None]
            self._blind_status()
        for cell in self.comparison.cells if self.tiles else ():
            tile = self.tiles[cell.index]
            if cell.status == "queued" and not self.comparison.started:
                continue
            tile.start()  # queued in a started comparison: its submit is about to go out
            if cell.task is not None and not cell.done:
                tile.update(cell.task)
            elif cell.status == "completed" and cell.result is not None:
                finished.append((tile, cell))
            elif cell.status == "failed":
                tile.show_error(cell.error or "failed")
        if finished:
            loop = self._loop()
            if loop is None:  # plain code, results already here: draw them now
                for target, cell in finished:
                    self._draw_now(target, cell)
            else:
                HomeLoop(loop).call(self._draw_all, finished)
        self._refresh_summary()

    def _loop(self) -> asyncio.AbstractEventLoop | None:
        """Where this view's work runs: the comparison's loop while it is live, else the
        loop building the view (if any)."""
        loop = self.comparison._loop
        if self.comparison._home is not None and loop is not None and not loop.is_closed():
            return loop
        return running_loop()

    def _draw_all(self, finished: list[tuple[TaskTile | None, Cell]]) -> None:
        loop = asyncio.get_running_loop()
        for tile, cell in finished:
            assert cell.result is not None
            coro = self._blind_draw(cell) if tile is None else self._draw(tile, cell.result)
            self.comparison._track(loop.create_task(coro))

    def _draw_now(self, tile: TaskTile | None, cell: Cell) -> None:
        assert cell.result is not None
        try:
            if tile is None:
                jpeg = cell.result.images[0].thumbnail(_BLIND_SIDE)
                self._blind_side(cell, preview="data:image/jpeg;base64," + base64.b64encode(jpeg).decode())
                self._blind_status()
            else:
                tile.show_generation_now(cell.result)
        except Exception as exc:  # the image was paid for; say why it cannot be shown
            if tile is None:
                self._blind_side(cell, status=f"cannot show: {type(exc).__name__}")
            else:
                tile.show_error(exc)

    def _on_change(self, cell: Cell | None) -> None:
        if self.blind is not None and not self.tiles:
            if cell is not None and cell.status == "completed" and cell.result is not None:
                self.comparison._track(asyncio.ensure_future(self._blind_draw(cell)))
            self._blind_status()
            if self.comparison.revealed:
                self._reveal()
            self._refresh_summary()
            return
        if cell is not None:
            tile = self.tiles[cell.index]
            if cell.status == "submitting":
                if not tile.active:  # already "submitting" since the view caught up
                    tile.start()
            elif cell.status in ("pending", "processing", "downloading") and cell.task is not None:
                tile.update(cell.task)
            elif cell.status == "completed" and cell.result is not None:
                # Emitted from the comparison's own loop (its cell coroutine): draw there.
                self.comparison._track(asyncio.ensure_future(self._draw(tile, cell.result)))
            elif cell.status == "failed":
                tile.show_error(cell.error or "failed")
        self._refresh_summary()

    async def _draw(self, tile: TaskTile, gen: Generation) -> None:
        try:
            await tile.show_generation(gen)
        except Exception as exc:  # the image was paid for; say why it cannot be shown
            tile.show_error(exc)
        self._refresh_summary()

    def _on_tile_status(self, change: Any) -> None:
        if change.owner.active:
            self.ticker.watch(change.owner)

    def _refresh_summary(self) -> None:
        cmp = self.comparison
        done = sum(c.done for c in cmp.cells)
        failed = sum(c.status == "failed" for c in cmp.cells)
        text = f"{done}/{len(cmp.cells)} done" + (f" · {failed} failed" if failed else "")
        self.progress.value = esc(text)
        if not cmp.revealed:
            return  # the total would tell the tiers apart
        self.total.value = f"total: {esc(cmp.total_text)}"
        if cmp.sides and self.votes_bar is not None:
            tally = cmp.tally()
            parts = [f"{label}: {tally[k]}" for k, label in cmp.sides] + [f"tie: {tally['tie']}"]
            verdict = cmp.verdict
            lead = dict(cmp.sides).get(verdict, verdict)
            self.tally.value = esc(f"votes {' · '.join(parts)}"
                                           + (f" → {lead}" if verdict else ""))
        self._refresh_table()

    def _refresh_table(self) -> None:
        shown = bool(self.table_button.value)
        show(self.table, shown)
        if shown:
            self.table.value = self.comparison.cost_table()._repr_html_()

    def _vote(self, key: str) -> None:
        note = self.vote_note.value.strip() or None
        self.vote_note.value = ""
        loop = self._loop()
        if loop is None:
            self.comparison.vote(key, note=note)
        else:  # a click may arrive on a kernel subshell's thread: record it where the model lives
            HomeLoop(loop).call(lambda: self.comparison.vote(key, note=note))

    # -- blind A/B -------------------------------------------------------------------
    def _blind_index(self, cell: Cell) -> int:
        return self.comparison.order.index(cell.index)

    async def _blind_draw(self, cell: Cell) -> None:
        assert self.blind is not None and cell.result is not None
        try:
            jpeg = await cell.result.images[0].athumbnail(_BLIND_SIDE)
        except Exception as exc:  # paid for but not showable: say so, without naming the side
            self._blind_side(cell, status=f"cannot show: {type(exc).__name__}")
            return
        self._blind_side(cell, preview="data:image/jpeg;base64," + base64.b64encode(jpeg).decode())
        self._blind_status()

    def _blind_side(self, cell: Cell, **values: Any) -> None:
        assert self.blind is not None
        sides = [dict(s) for s in self.blind.sides]
        sides[self._blind_index(cell)].update(values)
        self.blind.sides = sides

    def _blind_status(self) -> None:
        if self.blind is None:
            return
        cmp = self.comparison
        sides = [dict(s) for s in self.blind.sides]
        for cell in cmp.cells:
            side = sides[self._blind_index(cell)]
            side["status"] = "failed" if cell.status == "failed" else (
                "completed" if cell.ok else cell.status)
        self.blind.sides = sides
        failed = any(c.status == "failed" for c in cmp.cells)
        self.blind.ready = not failed and all(s.get("preview") for s in sides)
        if failed:
            self.blind.message = ("One side failed, so this blind test cannot be judged fairly; "
                                  "vote in code with cmp.vote(...) if you still want to.")

    def _blind_vote(self, position: str) -> None:
        # the key press may arrive on a kernel subshell's thread: vote where the model lives
        loop = self._loop()
        if loop is None:
            self.comparison.vote(position)  # the listener reveals
        else:
            HomeLoop(loop).call(lambda: self.comparison.vote(position))

    def _reveal(self) -> None:
        """After the vote: names, prompts, cost and latency to the page, then the usual view."""
        blind, cmp = self.blind, self.comparison
        if blind is None or blind.revealed or self.tiles:
            return
        sides = [dict(s) for s in blind.sides]
        for cell in cmp.cells:
            side = sides[self._blind_index(cell)]
            side["label"] = f"Prompt {cell.col_label}" if cmp.kind == "prompts" else cell.col_label
            side["prompt"] = cell.request.prompt
            side["caption"] = cell_caption(cell)
        last = cmp.votes[-1]
        blind.sides = sides
        blind.choice = last.get("shown_as", last["choice"])
        winner = "a tie" if last["choice"] == "tie" else f"{last['winner']} wins"
        blind.message = f"Your vote: {blind.choice} → {winner}"
        blind.revealed = True
        show(self.total, True)
        show(self.table_button, True)
        show(self.inspect_button, True)
        self._build_tiles()
        if cmp.sides:
            self.children = (*tuple(self.children), self._build_votes())  # type: ignore[has-type]
        self._catch_up()

    def _open_inspector(self) -> None:
        from .inspect_view import Inspector

        try:
            self.inspector_box.children = (Inspector.from_comparison(self.comparison),)
        except Exception as exc:  # not two finished images yet
            self.inspector_box.children = (html_box(esc(str(exc)), "f2w-note"),)

    def close(self) -> None:
        self.comparison.on_change(self._on_change, remove=True)
        self.ticker.stop()
        close_tree(self, keep=style_widget())  # the stylesheet is shared with other views
        super().close()



def _aspect(cmp: Comparison) -> float:
    size = cmp.cells[0].request.size if cmp.cells else None
    return size[0] / size[1] if size else 1.0
