"""Small DOM helpers shared by every view: HTML boxes, compact buttons, show/hide, escaping."""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as widgets

from .._redact import redact
from .._sharing import sim_badge_html
from ..catalog import TIER_INFO, price
from ..money import format_usd

__all__ = ["button", "close_tree", "esc", "html_box", "seconds_text", "show", "sim_badge_html",
           "tier_tooltip"]


def html_box(value: str = "", *classes: str, **kwargs: Any) -> widgets.HTML:
    w = widgets.HTML(value, **kwargs)
    w.add_class("f2w-html")
    for cls in classes:
        w.add_class(cls)
    return w


def button(label: str, icon: str, tooltip: str = "", *, kind: Any = widgets.Button, **kwargs: Any) -> Any:
    """A compact ``f2w-btn`` (``kind=widgets.ToggleButton`` for an on/off one)."""
    b = kind(description=label, icon=icon, tooltip=tooltip, layout=widgets.Layout(width="auto"), **kwargs)
    b.add_class("f2w-btn")
    return b


def show(widget: widgets.DOMWidget, visible: bool) -> None:
    widget.layout.display = None if visible else "none"


def esc(text: Any) -> str:
    return html.escape(redact(str(text)))


def seconds_text(value: float) -> str:
    return f"{value:.1f} s" if value < 100 else f"{value:.0f} s"


def tier_tooltip(tier: str) -> str:
    """``Pro: <blurb> (1k $0.05, 2k $0.07 per image)``: what a tier button says on hover."""
    info = TIER_INFO[tier]
    prices = ", ".join(f"{r} {format_usd(price(tier, r))}" for r in info.resolutions)
    return f"{info.label}: {info.blurb} ({prices} per image)"


def close_tree(root: widgets.Widget, keep: widgets.Widget | None = None) -> None:
    """Close everything below ``root`` (containers included: an open box that still lists a
    closed child cannot even report its own state), except ``keep``; ``root`` itself stays."""
    seen: list[widgets.Widget] = []
    stack: list[Any] = list(getattr(root, "children", ()) or ())
    while stack:
        w = stack.pop()
        if isinstance(w, widgets.Widget) and w is not keep and all(w is not s for s in seen):
            seen.append(w)
            stack.extend(getattr(w, "children", ()) or ())
    for w in seen:
        w.close()
