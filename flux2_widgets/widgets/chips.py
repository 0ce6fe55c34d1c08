"""Small status and money labels: a task's status pill, and a cost that says what it is."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import ipywidgets as widgets
from traitlets import Bool, Float, Unicode, observe

from ..money import cost_text, money_note
from ._dom import esc

if TYPE_CHECKING:  # pragma: no cover
    from ..results import Generation
    from ..runs import Run

__all__ = ["CostLabel", "StatusChip"]


class StatusChip(widgets.HTML):
    """A coloured pill with a task status, and an optional detail ("downloading")."""

    status = Unicode("queued")
    #: The words shown ("" shows the status itself).
    label = Unicode("")

    def __init__(self, status: str = "queued", label: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.add_class("f2w-html")
        self.status, self.label = status, label
        self._render()

    @observe("status", "label")
    def _render(self, _change: Any = None) -> None:
        text = self.label or self.status
        self.value = f'<span class="f2w-chip f2w-st-{esc(self.status)}">{esc(text)}</span>'


class CostLabel(widgets.HTML):
    """A cost that says what it is: billed, an estimate, what may still be billed, or simulated
    ("would have cost"). ``set_run(run)`` shows a run's money (the usual case); ``set`` a bare
    amount (a plan's estimate)."""

    amount = Float(None, allow_none=True)
    #: "billed" / "estimate" for a bare amount, else the run's money state
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
        text = cost_text(amount, source, self.simulated if simulated is None else simulated)
        title = {"billed": "billed by the API (usage.cost)",
                 "estimate": "estimate from the catalog price"}.get(source, "")
        self._show(amount, source, simulated, prefix, text, title, source)

    def set_generation(self, gen: Generation) -> None:
        self.set(gen.cost, gen.cost_source, simulated=gen.simulated)

    def set_run(self, run: Run) -> None:
        """A run's money as it stands (worded by ``money.money_text``)."""
        self._show(run.cost, run.money, run.simulated, None, run.cost_text,
                   money_note(run.money, run.simulated), run.money.replace(" ", "-"))

    def _show(self, amount: float | None, source: str, simulated: bool | None, prefix: str | None,
              text: str, title: str, kind: str) -> None:
        with self.hold_trait_notifications():
            self.amount, self.source = amount, source
            if simulated is not None:
                self.simulated = simulated
            if prefix is not None:
                self.prefix = prefix
            self.text = f"{self.prefix}{text}"
        self.value = (f'<span class="f2w-chip f2w-chip--accent f2w-money--{esc(kind)}" title="{esc(title)}">'
                      f"{esc(self.text)}</span>")
