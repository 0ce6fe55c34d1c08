"""The view of a ``compare_until_decided`` run: where it stands, and the current blind pair."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from .._loops import HomeLoop
from ._dom import esc, html_box
from ._style import style_widget

if TYPE_CHECKING:  # pragma: no cover
    from ..compare.decide import Decision

__all__ = ["DecisionView"]


class DecisionView(widgets.VBox):
    """A status line (round, votes, cost, verdict) over the round's blind panel."""

    def __init__(self, decision: Decision, **kwargs: Any) -> None:
        self.decision = decision
        self.status = html_box("", "f2w-cost")
        self.current = widgets.VBox(())
        self._shown: Any = None
        super().__init__(children=(style_widget(), self.status, self.current), **kwargs)
        self.add_class("f2w")
        self._home = HomeLoop()
        decision.on_change(lambda: self._home.call(self._draw))
        self._draw()

    def _draw(self) -> None:
        d = self.decision
        self.status.value = esc(d.text)
        latest = d.rounds[-1] if d.rounds else None
        if latest is not None and latest is not self._shown:
            old, self._shown = self.current.children, latest
            self.current.children = (latest.view(),)
            for view in old:
                view.close()
