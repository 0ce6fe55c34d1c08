"""Gallery
-------
``Gallery(tiles=(), *, tick_interval=0.5)``: a grid of tiles laid out by their runs' status;
``add(tile)``, ``remove(tile)``, ``clear(finished_only=True)``, ``tile_for(task_id)``, ``tiles``
(display order: unfinished tiles in the order added, then finished ones newest first),
``completed_order`` (task ids in the order their images appeared), ``completed_tiles``, ``ticker``
(a ``Ticker``: one light asyncio task that ticks the elapsed time of active tiles and ends when
none is left), ``close()``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

import ipywidgets as widgets

from .._loops import HomeLoop, running_loop
from ..runs import ACTIVE, ENDED
from .tile import TaskTile

__all__ = ["Gallery", "Ticker"]


class Ticker:
    """One light asyncio task that ticks the elapsed time of active tiles, and ends when none is.

    It runs on its home loop: ``loop``, else the loop running when it is built (a notebook
    cell's). A tile that starts on another thread (a widget message on a kernel subshell)
    is handed over there, so the ticking never lands on a loop that is not the model's."""

    def __init__(self, interval: float = 0.5, *, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.interval = interval
        self._tiles: set[TaskTile] = set()
        self._task: asyncio.Task[None] | None = None
        self._loop = loop if loop is not None else running_loop()

    def watch(self, tile: TaskTile) -> None:
        if self._loop is None or self._loop.is_closed():
            # built outside any loop (or that loop has ended): adopt the running one
            self._loop = running_loop()
            if self._loop is None:
                return  # no loop: elapsed updates with each status report instead
        HomeLoop(self._loop).call(self._watch_here, tile)

    def _watch_here(self, tile: TaskTile) -> None:
        self._tiles.add(tile)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def _run(self) -> None:
        while self._tiles:
            await asyncio.sleep(self.interval)
            for tile in list(self._tiles):
                if not tile.tick():
                    self._tiles.discard(tile)

    def stop(self) -> None:
        task, self._task = self._task, None
        self._tiles.clear()
        if task is None or task.done() or task.get_loop().is_closed():
            return
        if running_loop() is task.get_loop():
            task.cancel()
        else:  # cancelling is not thread-safe: ask the ticker's own loop to do it
            task.get_loop().call_soon_threadsafe(task.cancel)


class Gallery(widgets.GridBox):
    """Tiles in a grid: unfinished ones first (in the order added), then finished ones newest
    first. ``completed_order`` lists task ids in the order their images appeared."""

    def __init__(self, tiles: Iterable[TaskTile] = (), *, tick_interval: float = 0.5,
                 loop: asyncio.AbstractEventLoop | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.add_class("f2w")
        self.add_class("f2w-gallery")
        self._all: list[TaskTile] = []
        self._finished: list[TaskTile] = []
        self.completed_order: list[str] = []
        self.ticker = Ticker(tick_interval, loop=loop)
        for tile in tiles:
            self.add(tile)

    @property
    def tiles(self) -> tuple[TaskTile, ...]:
        """In display order."""
        return tuple(self.children)

    @property
    def completed_tiles(self) -> list[TaskTile]:
        """Completed tiles in completion order."""
        return [t for t in self._finished if t.status == "completed"]

    def tile_for(self, task_id: str) -> TaskTile | None:
        return next((t for t in self._all if t.task_id == task_id), None)

    def add(self, tile: TaskTile) -> TaskTile:
        if tile in self._all:
            return tile
        self._all.append(tile)
        tile.run.observe(self._on_status, "status")
        if tile.active:
            self.ticker.watch(tile)
        elif tile.done:
            self._finish(tile)
        self._layout()
        return tile

    def remove(self, tile: TaskTile) -> None:
        if tile not in self._all:
            return
        tile.run.unobserve(self._on_status, "status")
        self._all.remove(tile)
        if tile in self._finished:
            self._finished.remove(tile)
        self._layout()

    def clear(self, *, finished_only: bool = True) -> None:
        """Remove (and close) finished tiles, or every tile."""
        for tile in list(self._all):
            if tile.done or not finished_only:
                self.remove(tile)
                tile.close()

    def _finish(self, tile: TaskTile) -> None:
        if tile not in self._finished:
            self._finished.append(tile)
            if tile.status == "completed" and tile.task_id:
                self.completed_order.append(tile.task_id)

    def _on_status(self, change: Any) -> None:
        tile = next((t for t in self._all if t.run is change.owner), None)
        if tile is None:
            return
        if change.new in ENDED:
            self._finish(tile)
        else:
            if tile in self._finished:
                self._finished.remove(tile)
            if change.new in ACTIVE:
                self.ticker.watch(tile)
        self._layout()

    def _layout(self) -> None:
        running = [t for t in self._all if t not in self._finished]
        order = tuple(running + self._finished[::-1])
        if order != self.tiles:
            self.children = order

    def close(self) -> None:
        self.ticker.stop()
        for tile in list(self._all):
            self.remove(tile)
            tile.close()
        super().close()
