"""Static twins of the Studio and of CompareWidget, for readers without widgets (see ``_sharing``).

Each view shown in a notebook also publishes plain HTML of its results, refreshed when a batch
or a run finishes: the thumbnails already made for the tiles (cached JPEGs, no new image work),
what each cost and how long it took, and failures with their errors.
"""

from __future__ import annotations

import base64
import html
from typing import TYPE_CHECKING, Any

from .._sharing import StaticMirror, sim_badge_html
from ..compare.html import comparison_html

if TYPE_CHECKING:  # pragma: no cover
    from ..runs import Run
    from .compare_widget import CompareWidget
    from .studio import Studio

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


def _run_html(run: Run) -> str:
    """One run as a reader without widgets sees it: its preview, money and latency."""
    parts = [html.escape(run.request.label), html.escape(run.cost_text)]
    pic = ""
    if run.status == "completed" and run.preview:
        alt = html.escape(run.request.prompt[:80])
        pic = (f'<img src="data:image/jpeg;base64,{base64.b64encode(run.preview).decode()}" '
               f'style="max-width:256px;border-radius:6px" alt="{alt}"/>')
        if run.latency is not None:
            parts.append(f"{run.latency:.1f}s")
    elif run.status == "failed":
        pic = f'<div style="color:#b91c1c">{html.escape(run.error_text)}</div>'
    else:
        parts.append(html.escape(run.status))
    caption = f'<div style="color:#555;font-size:12px">{" · ".join(parts)}</div>'
    prompt = f'<div style="font-size:12px;max-width:256px">{html.escape(run.request.prompt[:160])}</div>'
    return f'<div style="display:inline-block;vertical-align:top;margin:4px 8px">{pic}{caption}{prompt}</div>'


def studio_html(studio: Studio) -> str:
    runs = [t.run for t in studio.tiles if t.status != "queued"][:MAX_TILES]
    badge = f" {sim_badge_html()}" if studio.simulated else ""
    body = "".join(_run_html(r) for r in runs) or "<div>(no results yet)</div>"
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
