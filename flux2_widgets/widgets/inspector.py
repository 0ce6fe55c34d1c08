"""What a request looks like on the wire (JSON and curl, key redacted), and a full-size image viewer."""

from __future__ import annotations

import asyncio
import html
import re
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


#: Code is wrapped only where a space is (or at the command's own line continuations), never
#: inside a token: a URL or a model name split over two lines reads as two words, and copied
#: from the screen it is no command. A token longer than the box scrolls sideways instead.
#: (Set on the element: it wins over the shared style's ``overflow-wrap: anywhere``.)
CODE_STYLE = "white-space: pre-wrap; overflow-wrap: normal; word-break: normal; overflow-x: auto"
#: Browsers also break after hyphens and slashes (``flux-2-pro-|text-to-image``): a token with
#: any such character is kept whole on its line. (Spans change nothing that is copied.)
TOKEN_STYLE = "white-space: nowrap"
#: For the box itself to scroll, its widget must not grow to the longest token: in a one-column
#: grid of ``minmax(0, 1fr)`` the code takes no room of its own (its min-content width is 0).
FRAME_STYLE = "display: grid; grid-template-columns: minmax(0, 1fr)"
#: a token, with the line continuation after it (`` \``): a lone backslash line reads as a typo
_TOKEN = re.compile(r"\S+(?: \\$)?", re.M)
NOTE_STYLE = "margin-top: 6px; font-size: 12.5px; line-height: 1.45; color: var(--jp-ui-font-color2, #57606a)"


class RequestInspector(widgets.Tab):
    """The exact request as JSON and as a curl command for RunAPI (the key stays
    ``$RUNAPI_API_KEY``). When the session talks to a local address (the simulator), a note
    under the command says where, and the command itself still goes to RunAPI."""

    json_text = Unicode("")
    curl_text = Unicode("")
    #: one line about where this session's requests really go, when that is not in the command
    curl_note = Unicode("")

    def __init__(self, request: ImageRequest | None = None, base_url: str = "", **kwargs: Any) -> None:
        self._json = html_box("", "f2w-code")
        self._curl = html_box("", "f2w-code")
        super().__init__(children=(self._json, self._curl), **kwargs)
        self.titles = ("JSON", "curl")
        self.add_class("f2w-inspector")
        if request is not None:
            self.show(request, base_url)

    def show(self, request: ImageRequest, base_url: str = "", *, simulated: bool | None = None) -> None:
        curl = curl_command(base_url, request)
        self._set(request.to_json(), curl, _session_note(base_url, curl, simulated))

    def show_generation(self, gen: Generation) -> None:
        curl = gen.curl()
        self._set(gen.request_json(), curl, _session_note(gen.base_url, curl, gen.simulated))

    def clear(self) -> None:
        self._set("", "", "")

    def _set(self, json_text: str, curl: str, note: str = "") -> None:
        self.json_text, self.curl_text, self.curl_note = redact(json_text), redact(curl), redact(note)
        self._json.value = _code(self.json_text) if json_text else ""
        note_html = (f'<div class="f2w-curl-note" style="{NOTE_STYLE}">{html.escape(self.curl_note)}</div>'
                     if note else "")
        self._curl.value = _code(self.curl_text) + note_html if curl else ""


def _code(text: str) -> str:
    def token(match: re.Match[str]) -> str:
        word = html.escape(match.group(0))
        # letters and digits alone offer a browser no place to break (CJK aside, as it should)
        return word if match.group(0).isalnum() else f'<span style="{TOKEN_STYLE}">{word}</span>'

    return f'<div style="{FRAME_STYLE}"><pre style="{CODE_STYLE}">{_TOKEN.sub(token, text)}</pre></div>'


def _session_note(base_url: str, curl: str, simulated: bool | None) -> str:
    """A line saying where this session's requests go when the command goes elsewhere (a local
    address, such as the simulator's, means nothing outside this machine and this kernel)."""
    base = (base_url or "").rstrip("/")
    if not base or base in curl:
        return ""
    where = (f"the local simulator at {base} (it stops with the kernel)" if simulated
             else f"{base} on this machine" if simulated is False
             else f"{base} on this machine (the simulator, when no API key is set)")
    return f"This session sends its requests to {where}; the command above is the same request to RunAPI."


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
