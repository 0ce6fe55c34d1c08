"""Progress of a long batch, where a person can see it: a widget bar in a notebook, tqdm in a
terminal (when it is installed), nothing elsewhere (a script piped to a file, a test).

The client only counts (``Progress.update(result)``); how it is drawn is chosen here, once per
batch, and nothing here is imported until a batch asks for progress.
"""

from __future__ import annotations

import sys
from typing import Any

from .money import format_usd

__all__ = ["Progress", "progress_for"]


class Progress:
    """Counts a batch's results (done, failed, money) and draws them on ``bar``."""

    def __init__(self, total: int, bar: Any, kind: str) -> None:
        self.total = total
        self.done = 0
        self.failed = 0
        self.cost = 0.0
        self.kind = kind
        self._bar = bar

    @property
    def text(self) -> str:
        failed = f" · {self.failed} failed" if self.failed else ""
        return f"{self.done}/{self.total} done{failed} · {format_usd(round(self.cost, 6))}"

    def update(self, result: Any) -> None:
        self.done += 1
        if isinstance(result, BaseException):
            self.failed += 1
        else:
            self.cost += getattr(result, "cost", 0.0) or 0.0
        try:
            if self.kind == "widget":
                self._bar.children[0].value = self.done
                self._bar.children[1].value = self.text
            elif self.kind == "tqdm":
                self._bar.update(1)
                self._bar.set_postfix_str(self.text.split(" · ", 1)[-1], refresh=False)
        except Exception:  # a display hiccup must never stop the batch
            pass

    def close(self) -> None:
        if self.kind == "tqdm":
            try:
                self._bar.close()
            except Exception:
                pass


def _in_kernel() -> bool:
    shell = sys.modules.get("IPython")
    try:
        return shell is not None and type(shell.get_ipython()).__name__ == "ZMQInteractiveShell"
    except Exception:
        return False


def progress_for(total: int, enabled: bool | None) -> Progress | None:
    """A progress display for ``total`` results: ``True`` always (the best available),
    ``False`` never, ``None`` when someone can see it (a notebook; a terminal with tqdm)."""
    if enabled is False or total < 1:
        return None
    if _in_kernel():
        import ipywidgets as widgets
        from IPython.display import display

        bar = widgets.HBox((widgets.IntProgress(value=0, min=0, max=total, description="images"),
                            widgets.HTML(f"0/{total} done")))
        display(bar)
        return Progress(total, bar, "widget")
    try:
        from tqdm import tqdm
    except ImportError:
        return Progress(total, None, "none") if enabled else None
    if enabled or sys.stderr.isatty():
        return Progress(total, tqdm(total=total, unit="image", file=sys.stderr), "tqdm")
    return None
