"""``DownloadButton``: one click hands a result's full-size image to the browser as a named file.

The bytes travel once, as a binary buffer on a custom message, only when asked: nothing
full-size is kept in widget state (a saved notebook stays small). The file name comes from the
prompt, the tier and the resolution (``a-red-fox-in-snow_pro_2k.png``), not a task id.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anywidget
import traitlets

from ..catalog import ImageRequest

__all__ = ["DownloadButton", "download_name"]

_STATIC = Path(__file__).parent / "static"
_MIME = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}


def download_name(request: ImageRequest, fmt: str, *, take: int | None = None) -> str:
    """``a-red-fox-in-snow_pro_2k.png``: words of the prompt (at most ~48 characters), tier,
    resolution, and the take when there are several."""
    words = re.sub(r"[^a-z0-9]+", "-", request.prompt.lower()).strip("-") or "image"
    if len(words) > 48:
        words = words[:48].rsplit("-", 1)[0] or words[:48]
    ext = "jpg" if fmt == "jpeg" else (fmt if fmt in _MIME else "png")
    suffix = f"_{take}" if take is not None else ""
    return f"{words}_{request.tier}_{request.resolution}{suffix}.{ext}"


class DownloadButton(anywidget.AnyWidget):
    """A button that downloads what ``provide()`` returns: ``(bytes, format)``, awaited on
    the widget's home loop (``home.call``) so the image may be read off the loop first."""

    _esm = _STATIC / "download.js"

    ready = traitlets.Bool(False).tag(sync=True)
    busy = traitlets.Bool(False).tag(sync=True)
    filename = traitlets.Unicode("").tag(sync=True)

    def __init__(self, on_request: Callable[[], Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._on_request = on_request
        self.on_msg(self._message)

    def _message(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if isinstance(content, dict) and content.get("type") == "download" and self.ready and not self.busy:
            self._on_request()

    def deliver(self, data: bytes, fmt: str) -> None:
        """Send the file to the browser (call on the widget's home loop)."""
        self.send({"type": "file", "filename": self.filename, "mime": _MIME.get(fmt, "image/png")},
                  buffers=[data])
