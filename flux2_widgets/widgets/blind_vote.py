"""``BlindVote``: a blind A/B panel for a comparison made with ``blind=True``.

Two images in the comparison's shuffled order, labelled only Left and Right.
Vote with the buttons or the keyboard (left arrow, right arrow, ``t`` or down
arrow for a tie); the vote is recorded against the true sides, and only then
are tier, prompt, cost and latency sent to the page. Before that they are not
in the widget's state at all, so neither the screen nor the DOM can give them away.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anywidget
import traitlets

__all__ = ["BlindVote"]

_STATIC = Path(__file__).parent / "static"


class BlindVote(anywidget.AnyWidget):
    """Left / right previews, vote buttons and keys; ``revealed`` after the vote."""

    _esm = _STATIC / "blind.js"
    _css = _STATIC / "blind.css"

    #: per position (left, right): ``preview`` (JPEG data URL, "" while running), ``status``,
    #: and after the reveal ``label``, ``prompt`` and ``caption``
    sides = traitlets.List(traitlets.Dict()).tag(sync=True)
    #: both images are in: voting is open
    ready = traitlets.Bool(False).tag(sync=True)
    revealed = traitlets.Bool(False).tag(sync=True)
    #: "left", "right" or "tie" once voted
    choice = traitlets.Unicode("").tag(sync=True)
    message = traitlets.Unicode("").tag(sync=True)
    #: a standing remark under the buttons (e.g. that simulated images are stamped)
    note = traitlets.Unicode("").tag(sync=True)
    #: width / height of the images, so the frames keep their shape while they load
    aspect = traitlets.Float(1.0).tag(sync=True)

    def __init__(self, on_vote: Any, **kwargs: Any) -> None:
        super().__init__(sides=[{"preview": "", "status": "queued"}, {"preview": "", "status": "queued"}],
                         **kwargs)
        self._on_vote = on_vote
        self.on_msg(self._on_front_end)

    def _on_front_end(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if not isinstance(content, dict) or content.get("type") != "vote":
            return
        choice = content.get("choice")
        if choice in ("left", "right", "tie") and self.ready and not self.revealed:
            self._on_vote(choice)
