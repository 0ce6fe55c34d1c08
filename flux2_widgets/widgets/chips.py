"""Small status and money labels: a task's status pill, and a cost that says what it is."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import ipywidgets as widgets
from traitlets import Bool, Float, Unicode, observe

from ..money import cost_text
from ._dom import esc

if TYPE_CHECKING:  # pragma: no cover
    from ..results import Generation

__all__ = ["CostLabel", "StatusChip"]


class StatusChip(widgets.HTML):
    """A coloured pill with a task status, and an optional detail ("downloading")."""

    status = Unicode("idle")
    detail = Unicode("")

    def __init__(self, status: str = "idle", detail: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.add_class("f2w-html")
        self.status, self.detail = status, detail
        self._render()

    @observe("status", "detail")
    def _render(self, _change: Any = None) -> None:
        text = self.status + (f" · {self.detail}" if self.detail else "")
        self.value = f'<span class="f2w-chip f2w-st-{esc(self.status)}">{esc(text)}</span>'


class CostLabel(widgets.HTML):
    """A cost that says what it is: billed, an estimate, or simulated ("would have cost")."""

    amount = Float(None, allow_none=True)
    source = Unicode("estimate")
    simulated = Bool(False)
    prefix = Unicode("")
    text = Unicode("")

    def __init__(self, amount: float | None = None, source: str = "estimate", simulated: bool = False,
                 prefix: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.add_class("f2w-html")
        self.add_class("f2w-costlabel")
        self.set(amount, source, simulated=simulated, prefix=prefix)

    def set(self, amount: float | None, source: str = "estimate", *, simulated: bool | None = None,
            prefix: str | None = None) -> None:
        with self.hold_trait_notifications():
            self.amount, self.source = amount, source
            if simulated is not None:
                self.simulated = simulated
            if prefix is not None:
                self.prefix = prefix
        self._render()

    def set_generation(self, gen: Generation) -> None:
        self.set(gen.cost, gen.cost_source, simulated=gen.simulated)

    @observe("amount", "source", "simulated", "prefix")
    def _render(self, _change: Any = None) -> None:
        self.text = f"{self.prefix}{cost_text(self.amount, self.source, self.simulated)}"
        title = {"billed": "billed by the API (usage.cost)",
                 "estimate": "estimate from the catalog price"}.get(self.source, "")
        self.value = f'<span class="f2w-chip f2w-chip--accent" title="{esc(title)}">{esc(self.text)}</span>'
