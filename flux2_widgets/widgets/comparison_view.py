"""The live side-by-side view of a :class:`~flux2_widgets.compare.Comparison`.

Columns are ``Pro · 1k``-style headers (or A / B), rows are prompts, and every
cell is a ``TaskTile`` driven by the comparison's change events: the view
never talks to the API itself. Thumbnails are made off the loop by the tiles;
the comparison waits for those renders, so a finished comparison is a drawn one.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from .. import _sync
from .._loops import HomeLoop
from ._dom import button, close_tree, esc, html_box, show
from ._style import style_widget
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
        base_url = getattr(cmp.client, "base_url", "")
        self.tiles: list[TaskTile] = []
        for cell in cmp.cells:
            tile = TaskTile(cell.request, simulated=cmp.simulated, base_url=base_url,
                            actions=("open", "save", "download", "inspect"),
                            title=cell.col_label)
            tile.on_retry(lambda _t, cell=cell: cmp.retry(cell), resumes=True)
            tile.observe(self._on_tile_status, "status")
            self.tiles.append(tile)

        badge = ' <span class="f2w-badge f2w-badge--sim">SIMULATED</span>' if cmp.simulated else ""
        self.title = html_box(f'<span class="f2w-title">{esc(cmp.title)}</span>{badge}')
        self.progress = html_box("", "f2w-note")
        self.total = html_box("", "f2w-cost")
        self.grid = widgets.GridBox(self._grid_children(), layout=widgets.Layout(
            grid_template_columns=f"minmax(80px, 180px) repeat({len(cmp.col_labels)}, "
                                  f"minmax({_MIN_COLUMN}, {_MAX_COLUMN}))",
            width="100%"))
        self.grid.add_class("f2w-cmp-grid")
        self.table_button = button("Cost table", "table", "estimated vs billed per cell",
                                    kind=widgets.ToggleButton)
        self.table_button.observe(lambda _c: self._refresh_table(), "value")
        self.table = html_box("")
        show(self.table, False)
        bar = widgets.HBox((self.progress, self.total, self.table_button))
        bar.add_class("f2w-cmp-bar")

        self.vote_buttons: dict[str, widgets.Button] = {}
        children: list[widgets.Widget] = [style_widget(), html_box(f"<style>{_VIEW_CSS}</style>"),
                                          self.title, self.grid, bar, self.table]
        if cmp.sides:
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
            children.append(votes)
        super().__init__(children=tuple(children), **kwargs)
        self.add_class("f2w")
        self.add_class("f2w-cmp")
        cmp.on_change(self._on_change)
        self._catch_up()

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
        renders = []
        for cell in self.comparison.cells:
            tile = self.tiles[cell.index]
            if cell.status == "queued" and not self.comparison.started:
                continue
            tile.start()  # queued in a started comparison: its submit is about to go out
            if cell.task is not None and not cell.done:
                tile.update(cell.task)
            elif cell.status == "completed" and cell.result is not None:
                renders.append(self._draw(tile, cell.result))
            elif cell.status == "failed":
                tile.show_error(cell.error or "failed")
        if renders:
            loop = self._loop()
            if loop is None:
                # Built from plain sync code after the fact: draw now on the private loop.
                async def draw() -> None:
                    await asyncio.gather(*renders)

                _sync.run_sync(draw())
            else:
                HomeLoop(loop).call(self._draw_all, renders)
        self._refresh_summary()

    def _loop(self) -> asyncio.AbstractEventLoop | None:
        """Where this view's work runs: the comparison's loop while it is live, else the
        loop building the view (if any)."""
        loop = self.comparison._loop
        if self.comparison._home is not None and loop is not None and not loop.is_closed():
            return loop
        try:
            return asyncio.get_running_loop()
        except RuntimeError:
            return None

    def _draw_all(self, renders: list[Any]) -> None:
        loop = asyncio.get_running_loop()
        for coro in renders:
            self.comparison._track(loop.create_task(coro))

    def _on_change(self, cell: Cell | None) -> None:
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
        self.total.value = f"total: {esc(cmp.total_text)}"
        if cmp.sides:
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

    def close(self) -> None:
        self.comparison.on_change(self._on_change, remove=True)
        self.ticker.stop()
        close_tree(self, keep=style_widget())  # the stylesheet is shared with other views
        super().close()
