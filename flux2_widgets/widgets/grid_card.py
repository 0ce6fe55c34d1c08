"""``GridCard``: one place of an exploration grid, drawn light enough for big grids.

A place is one combination of the grid's axes and its takes (several images of one request).
The card draws the run of the take shown (status, elapsed time, preview, prompt, tier and size,
the run's money words, its error), a dot per take, ◀ ▶ to flip through them, Retry or Resume by
the run's own rule, and Details, which opens the full ``TaskTile`` of that take (Open, Save,
Download, Request) in the view.

Why not a ``TaskTile`` per place: a tile is some 77 widget models, and JupyterLab spends about
5 ms on each one it is sent, so a page of 24 tiles took 9.5 s to appear (measured, see the
grid browser test); a card is one model. It holds no run state: everything it shows is read
off the runs when they change; which take is shown is its only state.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anywidget
import traitlets

from ..catalog import tier_label
from ..runs import ACTIVE

if TYPE_CHECKING:  # pragma: no cover
    from ..compare import Cell, Position
    from ..runs import Run

__all__ = ["GridCard"]

_STATIC = Path(__file__).parent / "static"
#: What a run's status reads as on a card's chip.
_CHIP = {"submitting": "sending"}
#: The run traits a card draws.
_WATCHED = ("status", "task_id", "money", "error_text", "preview", "next_step")


class GridCard(anywidget.AnyWidget):
    """A place of a grid and its takes; see the module docstring. ``on_retry(cell)`` and
    ``on_details(cell)`` are called on the comparison's home loop with the take shown."""

    _esm = _STATIC / "grid_card.js"
    _css = _STATIC / "grid_card.css"

    #: Which take is shown (from 0): the card's one piece of state.
    take = traitlets.Int(0).tag(sync=True)
    #: What each take's run shows now: ``status``, ``chip``, ``elapsed`` (s), ``active``,
    #: ``cost`` (the run's money words), ``money``, ``error``, ``step`` (Retry / Resume or "").
    takes = traitlets.List(traitlets.Dict()).tag(sync=True)
    #: The JPEG preview of the take shown (b"" until it completed), sent as a binary buffer.
    image = traitlets.Bytes(b"").tag(sync=True)
    title = traitlets.Unicode("").tag(sync=True)
    caption = traitlets.Unicode("").tag(sync=True)
    meta = traitlets.Unicode("").tag(sync=True)
    #: width / height of the images to come, so the card keeps its shape while they run.
    aspect = traitlets.Float(1.0).tag(sync=True)

    def __init__(self, place: Position, *, on_retry: Callable[[Cell], Any] | None = None,
                 on_details: Callable[[Cell], Any] | None = None, take: int = 0, **kwargs: Any) -> None:
        if not place.cells:
            raise ValueError("a card draws a place with at least one take")
        self.place = place
        self._on_retry = on_retry
        self._on_details = on_details
        request = place.cells[0].request
        size = request.size
        if isinstance(take, bool) or not isinstance(take, int) or not 0 <= take < len(place.cells):
            raise ValueError(f"take is one of the place's {len(place.cells)} takes (from 0), not {take!r}")
        super().__init__(title=place.col_label or place.row_label, caption=request.prompt,
                         meta=_meta(request), aspect=size[0] / size[1] if size else 1.0, take=take, **kwargs)
        self.add_class("f2w-card-host")
        self._runs = [c.run for c in place.cells if c.run is not None]
        for run in self._runs:
            run.observe(self._on_run, _WATCHED)
        self.observe(lambda _c: self._draw(), "take")
        self.on_msg(self._on_front_end)
        self._draw()

    @property
    def cell(self) -> Cell:
        """The take shown."""
        return self.place.cells[self.take]

    @property
    def run(self) -> Run | None:
        return self.cell.run

    def flip(self, step: int) -> None:
        """Show the take ``step`` away (◀ is -1, ▶ is +1), wrapping round."""
        self.take = (self.take + step) % len(self.place.cells)

    # -- drawing -----------------------------------------------------------------------
    def _on_run(self, _change: Any) -> None:
        try:
            self._draw()
        except Exception:  # a display hiccup must never break the run
            pass

    def _draw(self) -> None:
        takes = [_take_state(c.run) for c in self.place.cells if c.run is not None]
        run = self.run
        image = run.preview if run is not None and run.status == "completed" else b""
        with self.hold_sync():
            self.takes = takes
            self.image = image

    # -- what the front end asks (on the run's home loop) ---------------------------------
    def _on_front_end(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if not isinstance(content, dict):
            return
        kind, run = content.get("type"), self.run
        if run is None:
            return
        if kind == "flip" and content.get("step") in (-1, 1):
            run.home.call(self.flip, content["step"])
        elif kind == "retry" and self._on_retry is not None and run.next_step:
            run.home.call(self._on_retry, self.cell)
        elif kind == "details" and self._on_details is not None:
            run.home.call(self._on_details, self.cell)

    def close(self) -> None:
        for run in getattr(self, "_runs", ()):
            try:
                run.unobserve(self._on_run, _WATCHED)
            except ValueError:
                pass
        super().close()


def _meta(request: Any) -> str:
    size = request.size
    parts = [f"{tier_label(request.tier)} · {request.resolution}",
             f"~{size[0]}×{size[1]}" if size else "size of source"]
    if request.action == "remix_image":
        parts.append("remix")
    return " · ".join(parts)


def _take_state(run: Run) -> dict[str, Any]:
    """One take as a card draws it, read off its run."""
    status = run.status
    seconds = run.latency if status == "completed" and run.latency is not None else run.elapsed
    return {"status": status, "chip": _CHIP.get(status, status), "active": status in ACTIVE,
            "elapsed": round(seconds, 2),
            "cost": run.cost_text, "money": run.money, "error": run.error_text if status == "failed" else "",
            "step": run.next_step, "task": run.task_id}
