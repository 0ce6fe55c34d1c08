"""Static twins of the Studio and of CompareWidget, for readers without widgets (see ``_sharing``).

Each view shown in a notebook also publishes plain HTML of its results, refreshed when a batch
or a run finishes: the thumbnails already made for the tiles (cached JPEGs, no new image work),
what each cost and how long it took, and failures with their errors.
"""

from __future__ import annotations

import base64
import html
from typing import TYPE_CHECKING, Any

from .._sharing import StaticMirror
from ..compare.html import comparison_html

if TYPE_CHECKING:  # pragma: no cover
    from .compare_widget import CompareWidget
    from .studio import Studio
    from .tile import TaskTile

__all__ = ["compare_widget_html", "studio_html", "with_twin"]

#: Most tiles a Studio's twin shows (newest first): a saved notebook must stay small.
MAX_TILES = 24


def with_twin(owner: Any, bundle: Any, render: Any, watch: Any = None) -> Any:
    """Give a widget's display ``bundle`` a static twin (shown now, kept on ``owner``) and
    blank its own HTML part (a snapshot from the start would be stale). ``watch(mirror)``
    wires the refreshes, once."""
    if isinstance(bundle, tuple):
        bundle = bundle[0]
    if not bundle:
        return bundle
    bundle = dict(bundle)
    bundle["text/html"] = ""
    mirror = getattr(owner, "_static_twin", None)
    if mirror is None:
        mirror = StaticMirror(render)
        owner._static_twin = mirror
        if watch is not None:
            watch(mirror)
    mirror.show()
    return bundle


def _tile_html(tile: TaskTile) -> str:
    parts = [html.escape(tile.request.label)]
    gen = tile.generation
    pic = ""
    if tile.status == "completed" and gen is not None:
        jpeg = bytes(tile.thumb.value or b"")  # the tile's own thumbnail: no image work here
        if jpeg:
            alt = html.escape(tile.request.prompt[:80])
            pic = (f'<img src="data:image/jpeg;base64,{base64.b64encode(jpeg).decode()}" '
                   f'style="max-width:256px;border-radius:6px" alt="{alt}"/>')
        parts += [html.escape(gen.cost_text), f"{gen.elapsed:.1f}s"]
    elif tile.status == "failed":
        pic = f'<div style="color:#b91c1c">{html.escape(tile.error)}</div>'
    else:
        parts.append(html.escape(tile.status))
    caption = f'<div style="color:#555;font-size:12px">{" · ".join(parts)}</div>'
    prompt = f'<div style="font-size:12px;max-width:256px">{html.escape(tile.request.prompt[:160])}</div>'
    return f'<div style="display:inline-block;vertical-align:top;margin:4px 8px">{pic}{caption}{prompt}</div>'


def studio_html(studio: Studio) -> str:
    tiles = [t for t in studio.tiles if t.status != "idle"][:MAX_TILES]
    badge = (' <span style="background:#f59e0b;color:#fff;border-radius:4px;padding:0 6px;'
             'font-size:11px">SIMULATED</span>') if studio.simulated else ""
    body = "".join(_tile_html(t) for t in tiles) or "<div>(no results yet)</div>"
    return (f'<div style="font:13px sans-serif"><div><b>FLUX.2 Studio</b>{badge} &middot; '
            f"{html.escape(studio.session_text)}</div>{body}</div>")


def studio_twin(studio: Studio, bundle: Any) -> Any:
    """The Studio's bundle with a twin refreshed whenever a batch ends (nothing in flight)."""
    def watch(mirror: StaticMirror) -> None:
        def on_running(change: Any) -> None:
            if change.new == 0:
                mirror.refresh()

        studio.observe(on_running, "running")

    return with_twin(studio, bundle, lambda: studio_html(studio), watch)


def compare_widget_html(widget: CompareWidget) -> str:
    runs = list(reversed(widget.comparisons[-4:]))
    if not runs:
        return '<div style="font:13px sans-serif">(no comparison run yet)</div>'
    return "".join(comparison_html(cmp) for cmp in runs)
