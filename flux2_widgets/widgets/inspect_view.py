"""``Inspector``: look at two or more results like an expert.

Side by side with zoom and pan kept in sync across every image, a swipe slider
and a blink toggle between two of them, a difference heatmap, and full screen.
It is an ``anywidget`` (front end in ``static/inspect.js``), so it works in
JupyterLab, Notebook 7, VS Code and Voila without an extension build.

What is kept in widget state (and so in a saved notebook) is small: a JPEG
preview per image. When the user zooms past a preview's detail, the front end
asks for that image at full size and gets the original bytes in a message with
binary buffers, never in state. Previews, full-size reads and heatmaps are made
on a worker thread: the kernel's event loop never waits for image work. What they
change in the widget (its synced traits, its messages) is handed back to the loop the
widget was built on (``_loops.HomeLoop``): a widget's state changes only there.

Zoom is counted in the images' own pixels: 100 % shows one image pixel per CSS
pixel (see ``static/inspect.js`` for why CSS pixels), so "fit" reads as what it
is, 23 % say, and **1:1** lands on 100 %. The front end owns zoom and pan; it
needs from Python only each image's pixel size and the heatmap's.
"""

from __future__ import annotations

import base64
import io
import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anywidget
import traitlets

from .._loops import HomeLoop, running_loop
from ..errors import ValidationError
from ..results import image_format

if TYPE_CHECKING:  # pragma: no cover
    from PIL import Image as PILImage

    from ..compare import Comparison
    from ..compare.diff import Difference
    from ..results import GeneratedImage, Generation

__all__ = ["HeatmapLayout", "Inspector", "heatmap_layout", "inspect"]

log = logging.getLogger("flux2_widgets")

_STATIC = Path(__file__).parent / "static"
#: Longest side of the previews kept in widget state (and so in a saved notebook).
PREVIEW_SIDE = 640
PREVIEW_QUALITY = 80
MODES = ("side", "swipe", "blink", "diff")
MAX_IMAGES = 8
HEATMAP_QUALITY = 90


def _worker() -> ThreadPoolExecutor:
    # The package's one image thread: work queues instead of fighting the kernel's loop for the GIL.
    from .._thumbs import _preview_executor

    return _preview_executor()


def _mime(data: bytes) -> str:
    kind = image_format(data)
    return "application/octet-stream" if kind == "bin" else f"image/{kind}"


class Inspector(anywidget.AnyWidget):
    """Zoom, pan, swipe, blink and diff over ``images`` (two to eight).

    ``mode``: ``"side"`` (side by side), ``"swipe"``, ``"blink"`` or ``"diff"``;
    ``pair``: which two images swipe, blink and diff use. Zoom with the wheel or
    the buttons, pan by dragging: every image follows.
    """

    _esm = _STATIC / "inspect.js"
    _css = _STATIC / "inspect.css"

    title = traitlets.Unicode("").tag(sync=True)
    #: per image: label, caption, width, height (full size) and ``preview`` (a JPEG data URL)
    images = traitlets.List(traitlets.Dict()).tag(sync=True)
    mode = traitlets.Unicode("side").tag(sync=True)
    pair = traitlets.List(traitlets.Int(), default_value=[0, 1]).tag(sync=True)
    #: swipe position, 0 (all of the second image) to 1 (all of the first)
    swipe = traitlets.Float(0.5).tag(sync=True)
    #: zoom as the front end shows it (it owns zoom and pan): CSS pixels per image pixel of the
    #: widest image in view (of the heatmap in "diff"), so 1.0 is 1:1, "100%"; 0 until shown
    zoom = traitlets.Float(0.0).tag(sync=True)
    #: the difference view's numbers, once computed
    diff_text = traitlets.Unicode("").tag(sync=True)
    #: indices sent at full size so far (the bytes themselves are never in state)
    full_sent = traitlets.List(traitlets.Int()).tag(sync=True)

    def __init__(self, sources: Sequence[GeneratedImage], labels: Sequence[str],
                 captions: Sequence[str] = (), *, title: str = "", mode: str = "side",
                 pair: Sequence[int] = (0, 1), **kwargs: Any) -> None:
        if not 2 <= len(sources) <= MAX_IMAGES:
            raise ValidationError(f"inspect shows 2 to {MAX_IMAGES} images, got {len(sources)}",
                                  field="images", value=len(sources), allowed=f"2-{MAX_IMAGES}")
        if mode not in MODES:
            raise ValidationError(f"mode must be one of {', '.join(MODES)}, not {mode!r}", field="mode",
                                  value=mode, allowed=MODES)
        pair = list(pair)
        if len(pair) != 2 or pair[0] == pair[1] or not all(0 <= i < len(sources) for i in pair):
            raise ValidationError(f"pair must name two different images out of {len(sources)}, "
                                  f"got {pair!r}", field="pair", value=pair, allowed="two indices")
        self._sources = list(sources)
        caps = list(captions) + [""] * (len(sources) - len(captions))
        images = [{"label": str(label), "caption": str(cap), "width": 0, "height": 0, "preview": ""}
                  for label, cap in zip(labels, caps, strict=False)]
        super().__init__(title=title, images=images, mode=mode, pair=pair, **kwargs)
        self._diff_cache: dict[tuple[int, int], HeatmapLayout] = {}
        self._jobs: list[Future[Any]] = []
        self._home = HomeLoop()
        self._pending: list[Callable[[], None]] = []
        self._pending_lock = threading.Lock()
        self.on_msg(self._on_front_end)
        self._jobs.append(_worker().submit(self._make_previews))

    # -- building -----------------------------------------------------------------------
    @classmethod
    def from_generations(cls, generations: Sequence[Generation], labels: Sequence[str] | None = None,
                         **options: Any) -> Inspector:
        gens = list(generations)
        for i, gen in enumerate(gens):
            if not getattr(gen, "images", None):
                raise ValidationError(f"result #{i + 1} has no image to inspect", field="results",
                                      value=repr(gen)[:80], allowed="finished results")
        if labels is None:
            labels = [f"{g.request.label}" for g in gens]
            if len(set(labels)) < len(labels):
                labels = [f"{chr(ord('A') + i)}: {label}" for i, label in enumerate(labels)]
        captions = [_caption(g) for g in gens]
        return cls([g.images[0] for g in gens], labels, captions, **options)

    @classmethod
    def from_comparison(cls, cmp: Comparison, **options: Any) -> Inspector:
        """The comparison's finished cells, in the order shown. A blind test not yet voted on
        stays blind here too: Left / Right, no captions."""
        cells = [cmp.cells[i] for i in cmp.order]
        done = [c for c in cells if c.result is not None and c.result.images]
        if len(done) < 2:
            raise ValidationError(
                f"inspect needs two finished images; {len(done)} of {len(cells)} cells have one "
                "(call cmp.wait() first)", field="comparison", value=len(done), allowed=">= 2 finished")
        if not cmp.revealed:
            positions = ["Left", "Right"]
            return cls([c.result.images[0] for c in done], positions[: len(done)],  # type: ignore[union-attr]
                       title="Blind test", **options)
        labels = [c.col_label if len(cmp.row_labels) == 1 else f"{c.col_label} | {c.row_label[:40]}"
                  for c in done]
        captions = [_caption(c.result) for c in done]  # type: ignore[arg-type]
        return cls([c.result.images[0] for c in done], labels, captions,  # type: ignore[union-attr]
                   title=options.pop("title", cmp.title), **options)

    # -- work done on the worker thread -----------------------------------------------------
    def _make_previews(self) -> None:
        from .._thumbs import make_thumbnail

        images = [dict(item) for item in self.images]
        for item, source in zip(images, self._sources, strict=True):
            try:
                jpeg, size = make_thumbnail(source.data, PREVIEW_SIDE, quality=PREVIEW_QUALITY)
            except Exception as exc:  # a missing file must not hide the other images
                item["caption"] = f"{item['caption']} · cannot show: {exc}".strip(" ·")
                continue
            item["width"], item["height"] = size
            item["preview_width"] = round(size[0] * min(1.0, PREVIEW_SIDE / max(size)))
            item["preview"] = "data:image/jpeg;base64," + base64.b64encode(jpeg).decode()
        self._at_home(lambda: setattr(self, "images", images))

    def _send_full(self, index: int) -> None:
        data = self._sources[index].data

        def apply() -> None:
            self.send({"type": "full", "index": index, "mime": _mime(data)}, [data])
            if index not in self.full_sent:
                self.full_sent = [*self.full_sent, index]

        self._at_home(apply)

    def _at_home(self, apply: Callable[[], None]) -> None:
        """From the worker thread: do ``apply`` (trait changes, messages) on the widget's home
        loop. With no loop left (plain code), here: there is no front end to race with."""
        with self._pending_lock:
            self._pending.append(apply)
        if not self._home.call_if_alive(self._drain):
            self._drain()

    def _drain(self) -> None:
        with self._pending_lock:
            todo, self._pending = self._pending, []
        for apply in todo:
            apply()

    def heatmap(self, pair: Sequence[int] | None = None) -> HeatmapLayout:
        """The difference view's picture for two images (``pair``, default ``self.pair``): see
        ``heatmap_layout``. Computed here, synchronously, once per pair."""
        i, j = self._checked_pair(pair)
        if (i, j) not in self._diff_cache:
            self._diff_cache[(i, j)] = heatmap_layout(self._sources[i].data, self._sources[j].data)
        return self._diff_cache[(i, j)]

    def _checked_pair(self, pair: Sequence[int] | None) -> tuple[int, int]:
        i, j = tuple(pair if pair is not None else self.pair)
        if i == j or not (0 <= i < len(self._sources) and 0 <= j < len(self._sources)):
            raise ValidationError(f"pair must name two different images out of {len(self._sources)}, "
                                  f"got {[i, j]!r}", field="pair", value=[i, j], allowed="two indices")
        return i, j

    def _send_diff(self, pair: tuple[int, int]) -> None:
        layout = self.heatmap(pair)
        diff = layout.difference
        out = io.BytesIO()
        layout.image.save(out, "JPEG", quality=HEATMAP_QUALITY)
        labels = [self.images[i]["label"] for i in pair]
        text = (f"|{labels[0]} − {labels[1]}| at {diff.size[0]}x{diff.size[1]}: mean "
                f"{diff.mean / 2.55:.1f}% · {diff.changed:.0%} of pixels differ by more than 10%")
        message = {"type": "diff", "pair": list(pair), "text": text, **layout.to_message()}
        jpeg = out.getvalue()

        def apply() -> None:
            self.diff_text = text
            self.send(message, [jpeg])

        self._at_home(apply)

    def _on_front_end(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if not isinstance(content, dict):
            return
        kind = content.get("type")
        try:
            if kind == "full":
                index = int(content.get("index", -1))
                if 0 <= index < len(self._sources):
                    self._jobs.append(_worker().submit(self._guard, self._send_full, index))
            elif kind == "diff":
                pair = tuple(int(i) for i in content.get("pair", ()))
                if len(pair) == 2 and all(0 <= i < len(self._sources) for i in pair) and pair[0] != pair[1]:
                    self._jobs.append(_worker().submit(self._guard, self._send_diff, pair))
        except (TypeError, ValueError):
            return  # a malformed message from the page: nothing to do
        self._jobs = [j for j in self._jobs if not j.done()]

    def _guard(self, fn: Any, *args: Any) -> None:
        try:
            fn(*args)
        except Exception as exc:  # the page shows the error instead of waiting forever
            log.warning("inspector could not answer: %s", exc)
            text = str(exc)[:300]
            self._at_home(lambda: self.send({"type": "error", "text": text}))

    # -- Python side ---------------------------------------------------------------------
    def wait_ready(self, timeout: float = 30.0) -> Inspector:
        """Block until previews (and any full-size or diff answers asked for) are made."""
        for job in list(self._jobs):
            job.result(timeout=timeout)
        if running_loop() is None or self._home.is_current():
            self._drain()  # what the worker handed over, applied now (this is the home thread)
        return self

    def difference(self, pair: Sequence[int] | None = None) -> Difference:
        """The heatmap of two images as a ``Difference`` (``.heatmap`` PIL image, ``.mean``,
        ``.changed``), the same numbers the difference view shows; computed here, synchronously.
        """
        return self.heatmap(pair).difference


# ---------------------------------------------------------------------- the heatmap's layout


@dataclass(frozen=True)
class HeatmapLayout:
    """The difference view's picture (``image``, the heatmap of the two pictures at the smaller
    one's size), its box in that picture, and the numbers the view shows."""

    image: PILImage.Image
    #: the heatmap's box in ``image`` (left, top, right, bottom)
    picture: tuple[int, int, int, int]
    difference: Difference

    def to_message(self) -> dict[str, Any]:
        return {"width": self.image.width, "height": self.image.height, "picture": list(self.picture)}


def _rgb(data: bytes) -> PILImage.Image:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as img:
        return img.convert("RGB")


def heatmap_layout(a: bytes, b: bytes) -> HeatmapLayout:
    """The heatmap of ``|a - b|``, at the smaller picture's size (see ``compare.diff``)."""
    from ..compare.diff import difference

    diff = difference(_rgb(a), _rgb(b))
    heat = diff.heatmap
    return HeatmapLayout(heat, (0, 0, heat.width, heat.height), diff)


def _caption(gen: Generation) -> str:
    try:
        w, h = gen.images[0].size
        size = f"{w}x{h}"
    except Exception:  # not downloaded: the catalog's size
        size = "x".join(map(str, gen.request.size)) if gen.request.size else ""
    return " · ".join(p for p in (size, gen.cost_text, f"{gen.elapsed:.1f} s") if p)


def inspect(*results: Any, labels: Sequence[str] | None = None, **options: Any) -> Inspector:
    """Inspect results side by side: ``inspect(gen_a, gen_b)``, ``inspect(comparison)``,
    or a list of ``Generation`` objects. Options: ``mode`` (``"side"``, ``"swipe"``,
    ``"blink"``, ``"diff"``), ``pair`` and ``title``."""
    from ..compare import Comparison

    if len(results) == 1 and isinstance(results[0], Comparison):
        return Inspector.from_comparison(results[0], **options)
    if len(results) == 1 and isinstance(results[0], (list, tuple)):
        results = tuple(results[0])
    from ..results import Generation

    for i, item in enumerate(results):
        if not isinstance(item, Generation):
            raise ValidationError(f"inspect takes Generation results (or one Comparison); argument "
                                  f"#{i + 1} is a {type(item).__name__}", field="results",
                                  value=type(item).__name__, allowed="Generation")
    return Inspector.from_generations(results, labels, **options)
