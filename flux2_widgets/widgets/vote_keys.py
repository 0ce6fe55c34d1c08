"""``VoteKeys``: the keyboard votes of a two-sided comparison view (not blind).

The same keys as the blind panel: left arrow for the side drawn on the left, right arrow for
the right, ``t`` or down arrow for a tie, while the comparison has focus (a click on it gives
it focus; typing in the note box is left alone). The front-end only says which key was
pressed; the view votes with it exactly as its buttons do, so there is one place to vote.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import anywidget
import traitlets

__all__ = ["VoteKeys"]

_STATIC = Path(__file__).parent / "static"


class VoteKeys(anywidget.AnyWidget):
    """The arrow keys of a two-sided view (← left side, → right side, t or ↓ tie) while the
    comparison has focus; each key press is handed to ``on_key("left" | "right" | "tie")``."""

    _esm = _STATIC / "vote_keys.js"
    hint = traitlets.Unicode("").tag(sync=True)
    enabled = traitlets.Bool(True).tag(sync=True)

    def __init__(self, on_key: Callable[[str], Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._on_key = on_key
        self.on_msg(self._on_front_end)

    def _on_front_end(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if isinstance(content, dict) and content.get("type") == "vote" and self.enabled:
            choice = content.get("choice")
            if choice in ("left", "right", "tie"):
                self._on_key(choice)
