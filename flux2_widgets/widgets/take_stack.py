"""``TakeStack``: one place of a comparison grid and its takes, drawn one at a time.

A place with several takes (a grid's ``takes=``) is a small stack of cards: one ``TaskTile``
draws the run of the take shown, ◀ ▶ flip to the others (the old tile is closed, a new one
drawn over the other take's run), and a dot per take says how each run stands. Which take is
shown is the stack's only state; the runs are the comparison's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from ._dom import button, close_tree, esc, html_box

if TYPE_CHECKING:  # pragma: no cover
    from ..compare import Cell, Position
    from .tile import TaskTile

__all__ = ["TakeStack"]

#: What a take's dot says about its run (every other status is "running").
_DOT = {"completed": "completed", "failed": "failed", "stopped": "stopped", "queued": "queued"}


class TakeStack(widgets.VBox):
    """One place of a grid: its takes' runs, drawn one at a time by a ``TaskTile``; ◀ ▶ flip
    (wrapping round), and a dot per take shows how each run stands. Which take is shown
    (``take``) is the view's only state; everything else is read off the runs."""

    def __init__(self, place: Position, make_tile: Callable[[Cell], TaskTile], *, take: int = 0,
                 **kwargs: Any) -> None:
        self.place = place
        self._make_tile = make_tile
        self.take = max(0, min(take, len(place.cells) - 1))
        self.tile = make_tile(place.cells[self.take])
        self.label = html_box("", "f2w-stack-label")
        self.prev_button = button("", "chevron-left", "previous take")
        self.next_button = button("", "chevron-right", "next take")
        self.prev_button.on_click(lambda _b: self._at_home(self.flip, -1))
        self.next_button.on_click(lambda _b: self._at_home(self.flip, 1))
        self.bar = widgets.HBox((self.prev_button, self.label, self.next_button))
        self.bar.add_class("f2w-stack-bar")
        many = len(place.cells) > 1
        super().__init__(children=(self.bar, self.tile) if many else (self.tile,), **kwargs)
        self.add_class("f2w-stack")
        if many:
            self.add_class("f2w-stack--many")
            for cell in place.cells:
                if cell.run is not None:
                    cell.run.observe(self._on_run, "status")
        self._draw_label()

    @property
    def takes(self) -> int:
        return len(self.place.cells)

    @property
    def cell(self) -> Cell:
        """The take shown."""
        return self.place.cells[self.take]

    def _at_home(self, fn: Callable[..., Any], *args: Any) -> None:
        run = self.cell.run
        if run is not None:
            run.home.call(fn, *args)
        else:  # pragma: no cover - cells of a comparison always have runs
            fn(*args)

    def flip(self, step: int) -> None:
        """Show the take ``step`` away (◀ is -1, ▶ is +1), wrapping round."""
        self.show_take((self.take + step) % self.takes)

    def show_take(self, take: int) -> None:
        if not 0 <= take < self.takes or take == self.take:
            return
        old = self.tile
        self.take = take
        self.tile = self._make_tile(self.cell)
        self.children = (self.bar, self.tile)
        old.close()
        self._draw_label()

    def _on_run(self, _change: Any) -> None:
        try:
            self._draw_label()
        except Exception:  # a display hiccup must never break the run
            pass

    def _draw_label(self) -> None:
        if self.takes < 2:
            return
        dots = "".join(f'<span class="f2w-dot f2w-dot--{_DOT.get(c.status, "running")}'
                       f'{" mod-shown" if i == self.take else ""}" '
                       f'title="take {i + 1}: {esc(c.status)}"></span>'
                       for i, c in enumerate(self.place.cells))
        self.label.value = f"take {self.take + 1}/{self.takes} {dots}"

    def close(self) -> None:
        for cell in self.place.cells:
            if cell.run is not None and len(self.place.cells) > 1:
                try:
                    cell.run.unobserve(self._on_run, "status")
                except ValueError:
                    pass
        tile = getattr(self, "tile", None)
        if tile is not None:
            tile.close()
        close_tree(self)
        super().close()
