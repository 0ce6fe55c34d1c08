"""Which places of a comparison a page of its view shows (pure: no widgets).

A grid bigger than a page is cut into whole rows, ``size // columns`` of them a page (a row
wider than ``size`` places into blocks of columns), page by page of the grid's own pages.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from ..compare import Comparison, Position

__all__ = ["PAGE_SIZE", "Screen", "place_at", "screens"]

#: Places of a grid drawn at once; a bigger grid is paged.
PAGE_SIZE = 24


@dataclass(frozen=True)
class Screen:
    """One page of the view: a block of rows and columns of one of the grid's pages."""

    page: int
    rows: range
    cols: range
    heading: str


def screens(cmp: Comparison, size: int = PAGE_SIZE) -> list[Screen]:
    """The view's pages: whole rows, ``size // columns`` of them a page (a row wider than
    ``size`` places is cut into column blocks), page by page of the grid; blocks with no
    place are left out."""
    n_rows, n_cols = len(cmp.row_labels), len(cmp.col_labels)
    col_step = max(1, min(n_cols, size))
    row_step = max(1, size // col_step)
    out = []
    for page, heading in enumerate(cmp.page_labels):
        for r0 in range(0, n_rows, row_step):
            for c0 in range(0, n_cols, col_step):
                block = Screen(page, range(r0, min(n_rows, r0 + row_step)),
                               range(c0, min(n_cols, c0 + col_step)), heading)
                if any(place_at(cmp, block.page, r, c) is not None for r in block.rows for c in block.cols):
                    out.append(block)
    return out or [Screen(0, range(n_rows), range(n_cols), "")]


def place_at(cmp: Comparison, page: int, row: int, col: int) -> Position | None:
    try:
        return cmp.at(row, col, page)
    except KeyError:
        return None
