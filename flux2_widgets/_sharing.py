"""What a saved notebook shows where widgets do not run: a static twin of a live view.

A widget's output holds only a reference to models that live in the kernel. GitHub,
nbviewer and an offline ``nbconvert --to html`` export cannot draw it (the widget scripts
come from a CDN), so a reader would see nothing, or the view as it was when displayed.
A live view therefore gets a second output, plain HTML, published with a display id and
updated in place when the view settles (and when a vote changes the verdict). Where the
widgets do render, their stylesheet hides this twin (``STATIC_CLASS``), so nobody sees
the results twice.
"""

from __future__ import annotations

import contextvars
import logging
import threading
import uuid
from collections.abc import Callable
from typing import Any

__all__ = ["STATIC_CLASS", "StaticMirror", "sim_badge_html"]

log = logging.getLogger("flux2_widgets")

#: Class of the static twin; the widgets' stylesheet hides it wherever widgets are live.
STATIC_CLASS = "f2w-static"


def sim_badge_html(text: str = "SIMULATED", title: str = "") -> str:
    """The one SIMULATED badge, styled inline so it reads the same in a live view, a saved
    notebook, nbviewer and an HTML export."""
    import html

    tip = f' title="{html.escape(title)}"' if title else ""
    return (f'<span class="f2w-badge--inline" style="background:#f59e0b;color:#1f1300;border-radius:4px;'
            f'padding:0 6px;font-size:11px;font-weight:700"{tip}>{html.escape(text)}</span>')


def _shell() -> Any:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a dependency
        return None
    return get_ipython()


class StaticMirror:
    """Publish ``render()`` (an HTML string) once with :meth:`show`, then keep that same
    output current with :meth:`refresh`, from any thread."""

    def __init__(self, render: Callable[[], str]) -> None:
        self._render = render
        self.display_id = f"f2w-static-{uuid.uuid4().hex}"
        self._shown = False
        self._last: str | None = None
        self._lock = threading.Lock()

    @property
    def shown(self) -> bool:
        return self._shown

    def bundle(self) -> dict[str, str]:
        html = self._render()
        self._last = html
        return {"text/html": f'<div class="{STATIC_CLASS}">{html}</div>'}

    def show(self) -> bool:
        """Publish the twin next to the widget view; ``False`` outside a kernel."""
        if _shell() is None:
            return False
        from IPython.display import display

        with self._lock:
            display(self.bundle(), raw=True, display_id=self.display_id)
            self._shown = True
        return True

    def refresh(self) -> None:
        """Re-render and update every output showing the twin (no-op until shown or when
        nothing changed). Never raises: a display hiccup must not break the model."""
        if not self._shown or _shell() is None:
            return
        try:
            from IPython.display import update_display

            with self._lock:
                html = self._render()
                if html == self._last:
                    return
                self._last = html
                data = {"text/html": f'<div class="{STATIC_CLASS}">{html}</div>'}
                # An empty context: the update is attributed to the request the kernel handles
                # now (a later cell calling wait(), say) rather than to the cell that displayed
                # the view long ago. Front ends route it by display id either way, and a
                # headless runner (nbclient) only listens to the cell it is running.
                contextvars.Context().run(update_display, data, raw=True, display_id=self.display_id)
        except Exception:
            log.debug("could not refresh the static view", exc_info=True)
