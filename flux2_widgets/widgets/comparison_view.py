"""The live side-by-side view of a :class:`~flux2_widgets.compare.Comparison`.

Columns are ``Pro · 1k``-style headers (or A / B), rows are prompts, and every
cell is a ``TaskTile`` driven by the comparison's change events: the view
never talks to the API itself. Thumbnails are made off the loop by the tiles;
the comparison waits for those renders, so a finished comparison is a drawn one.
"""

from __future__ import annotations

import base64
import functools
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from ..compare.html import cell_caption, votes_summary_html
from ._dom import button, close_tree, esc, html_box, show, sim_badge_html
from ._style import style_widget
from .blind_vote import BlindVote
from .gallery import Ticker
from .tile import TaskTile

if TYPE_CHECKING:  # pragma: no cover
    from ..compare import Cell, Comparison

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
    """Header, a grid of tiles (one per cell, each drawing its cell's run), the running total,
    a cost table toggle and, for two-sided comparisons, vote buttons (``A wins`` / ``B wins`` /
    ``Tie``). A blind test shows one panel instead: two unlabelled images, voted on once, then
    revealed in place."""

    def __init__(self, comparison: Comparison, **kwargs: Any) -> None:
        self.comparison = comparison
        cmp = comparison
        self.ticker = Ticker(loop=cmp.home.alive)
        self.tiles: list[TaskTile] = []
        self.blind: BlindVote | None = None

        self._badge = f" {sim_badge_html()}" if cmp.simulated else ""
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
        self.inspect_button.on_click(lambda _b: cmp.home.call(self._open_inspector))
        self.inspector_box = widgets.VBox(())
        bar = widgets.HBox((self.progress, self.total, self.table_button, self.inspect_button))
        bar.add_class("f2w-cmp-bar")

        self.vote_buttons: dict[str, widgets.Button] = {}
        self.votes_bar: widgets.HBox | None = None
        children: list[widgets.Widget] = [style_widget(), html_box(f"<style>{_VIEW_CSS}</style>"),
                                          self.title]
        if cmp.blind:
            # Blind: nothing that names a side (tiles, headers, cost) reaches the page until the
            # vote; then the same panel reveals who was who. One place to vote, before and after.
            self.blind = BlindVote(self._blind_vote, aspect=_aspect(cmp))
            self.title.value = f'<span class="f2w-title">Blind test</span>{self._badge}'
            children.append(self.blind)
        else:
            self._build_tiles()
            children.append(self.grid)
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

    def _build_tiles(self) -> None:
        cmp = self.comparison
        for cell in cmp.cells:
            assert cell.run is not None
            tile = TaskTile(cell.run, actions=("open", "save", "download", "inspect"), title=cell.col_label,
                            on_retry=functools.partial(_retry_cell, cmp, cell))
            self.tiles.append(tile)
            if cell.run.active:
                self.ticker.watch(tile)
        self.grid.children = tuple(self._grid_children())
        self.title.value = f'<span class="f2w-title">{esc(cmp.title)}</span>{self._badge}'

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

    # -- following the comparison (on its home loop) ----------------------------------
    def _on_change(self, cell: Cell | None) -> None:
        if cell is not None and self.tiles and cell.run is not None and cell.run.active:
            self.ticker.watch(self.tiles[cell.index])
        self._refresh_all()

    def _refresh_all(self) -> None:
        if self.blind is not None:
            self._blind_sides()
        self._refresh_summary()

    def _refresh_summary(self) -> None:
        cmp = self.comparison
        done = sum(c.done for c in cmp.cells)
        failed = sum(c.status == "failed" for c in cmp.cells)
        stopped = sum(c.status == "stopped" for c in cmp.cells)
        text = f"{done}/{len(cmp.cells)} done" + (f" · {failed} failed" if failed else "") + (
            f" · {stopped} stopped" if stopped else "")
        self.progress.value = esc(text)
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

        try:
            self.inspector_box.children = (Inspector.from_comparison(self.comparison),)
        except Exception as exc:  # not two finished images yet
            self.inspector_box.children = (html_box(esc(str(exc)), "f2w-note"),)

    def close(self) -> None:
        self.comparison.on_change(self._on_change, remove=True)
        self.ticker.stop()
        for tile in self.tiles:
            tile.close()
        close_tree(self, keep=style_widget())  # the stylesheet is shared with other views
        super().close()


def _retry_cell(cmp: Comparison, cell: Cell, _run: Any) -> None:
    cmp.retry(cell)


def _aspect(cmp: Comparison) -> float:
    size = cmp.cells[0].request.size if cmp.cells else None
    return size[0] / size[1] if size else 1.0
