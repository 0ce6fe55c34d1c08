"""What a request looks like on the wire (JSON and curl, key redacted), and a full-size image viewer."""

from __future__ import annotations

import asyncio
import html
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets
from traitlets import Unicode

from .._redact import redact
from ..catalog import ImageRequest
from ..results import curl_command
from ._dom import button, esc, html_box, show

if TYPE_CHECKING:  # pragma: no cover
    from ..results import GeneratedImage, Generation

__all__ = ["ImageViewer", "RequestInspector"]


class RequestInspector(widgets.Tab):
    """The exact request as JSON and as a curl command (the key stays ``$RUNAPI_API_KEY``)."""

    json_text = Unicode("")
    curl_text = Unicode("")

    def __init__(self, request: ImageRequest | None = None, base_url: str = "", **kwargs: Any) -> None:
        self._json = html_box("", "f2w-code")
        self._curl = html_box("", "f2w-code")
        super().__init__(children=(self._json, self._curl), **kwargs)
        self.titles = ("JSON", "curl")
        self.add_class("f2w-inspector")
        if request is not None:
            self.show(request, base_url)

    def show(self, request: ImageRequest, base_url: str = "") -> None:
        self._set(request.to_json(), curl_command(base_url, request))

    def show_generation(self, gen: Generation) -> None:
        self._set(gen.request_json(), gen.curl())

    def clear(self) -> None:
        self._set("", "")

    def _set(self, json_text: str, curl: str) -> None:
        self.json_text, self.curl_text = redact(json_text), redact(curl)
        self._json.value = f"<pre>{html.escape(self.json_text)}</pre>" if json_text else ""
        self._curl.value = f"<pre>{html.escape(self.curl_text)}</pre>" if curl else ""


class ImageViewer(widgets.VBox):
    """A full-size image with a caption and Close. The bytes leave the widget on close."""

    caption_text = Unicode("")

    def __init__(self, **kwargs: Any) -> None:
        self.image = widgets.Image(layout=widgets.Layout(max_width="100%", height="auto"))
        self.image.add_class("f2w-viewer-img")
        self.caption = html_box("", "f2w-note")
        self.close_button = button("Close", "times")
        self.close_button.on_click(lambda _b: self.hide())
        head = widgets.HBox((self.caption, self.close_button),
                            layout=widgets.Layout(justify_content="space-between", align_items="center"))
        super().__init__(children=(head, self.image), **kwargs)
        self.add_class("f2w-viewer")
        self.shown: GeneratedImage | None = None
        show(self, False)

    async def ashow(self, image: GeneratedImage, caption: str = "") -> None:
        await image.aread()
        self._display(image, caption)

    def _display(self, image: GeneratedImage, caption: str) -> None:
        data = image.data
        fmt = image.format if image.format in ("png", "jpeg", "webp") else "png"
        w, h = image.size
        self.shown = image
        self.image.format = fmt
        self.image.value = data
        where = f" · saved at {image.path}" if image.path else ""
        self.caption_text = f"{caption} · {w}×{h}{where}".strip(" ·")
        self.caption.value = esc(self.caption_text)
        show(self, True)

    def show(self, image: GeneratedImage, caption: str = "") -> asyncio.Future[None] | None:
        """Show now when the bytes are here, else schedule the download on the running loop."""
        if image.downloaded:
            self._display(image, caption)
            return None
        return asyncio.ensure_future(self.ashow(image, caption))

    def hide(self) -> None:
        self.image.value = b""
        self.shown = None
        show(self, False)
