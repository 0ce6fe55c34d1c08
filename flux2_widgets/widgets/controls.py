"""Form controls: a segmented choice with per-option reasons, and a titled field that shows
hints, notes and an error right beside its control."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import ipywidgets as widgets
from traitlets import Dict, TraitError, Unicode, observe, validate

from ._dom import esc, html_box, show

__all__ = ["Field", "Segmented", "toggle_buttons"]


def toggle_buttons(options: Iterable[tuple[str, str]], tooltips: dict[str, str],
                   on_change: Any) -> dict[str, widgets.ToggleButton]:
    """One styled toggle button per ``(label, value)``, each observed by ``on_change``."""
    buttons: dict[str, widgets.ToggleButton] = {}
    for label, val in options:
        button = widgets.ToggleButton(description=label, tooltip=tooltips.get(val, ""),
                                      layout=widgets.Layout(width="auto"))
        button.add_class("f2w-seg-btn")
        button.observe(on_change, "value")
        buttons[val] = button
    return buttons


class Segmented(widgets.HBox):
    """A row of toggle buttons, one value selected; single options can be disabled with a reason.

    ``value`` may be set to a disabled option in code (validation then reports it); users
    cannot click disabled options.
    """

    value = Unicode(None, allow_none=True)
    reasons = Dict()

    def __init__(self, options: Iterable[str | tuple[str, str]], value: str | None = None, *,
                 tooltips: dict[str, str] | None = None, **kwargs: Any) -> None:
        self.options: tuple[tuple[str, str], ...] = tuple(
            (o, o) if isinstance(o, str) else (str(o[0]), str(o[1])) for o in options)
        self._tooltips = dict(tooltips or {})
        self._syncing = False
        self.buttons = toggle_buttons(self.options, self._tooltips, self._on_button)
        super().__init__(children=tuple(self.buttons.values()), **kwargs)
        self.add_class("f2w-seg")
        self.value = value if value is not None else self.options[0][1]
        self._sync_buttons()

    @property
    def values(self) -> tuple[str, ...]:
        return tuple(v for _, v in self.options)

    @property
    def allowed(self) -> tuple[str, ...]:
        return tuple(v for v in self.values if v not in self.reasons)

    def is_disabled(self, value: str) -> bool:
        return value in self.reasons

    def reason(self, value: str) -> str:
        return self.reasons.get(value, "")

    def set_reasons(self, reasons: dict[str, str]) -> None:
        """Replace the disabled options: ``{value: why}``."""
        self.reasons = {k: v for k, v in reasons.items() if k in self.buttons}

    def disable(self, value: str, reason: str) -> None:
        self.set_reasons({**self.reasons, value: reason})

    def enable(self, value: str) -> None:
        self.set_reasons({k: v for k, v in self.reasons.items() if k != value})

    def select(self, value: str) -> None:
        """What a click does: select ``value`` unless it is disabled."""
        if value in self.buttons and value not in self.reasons:
            self.value = value

    @validate("value")
    def _check_value(self, proposal: Any) -> str | None:
        if proposal.value is not None and proposal.value not in self.buttons:
            raise TraitError(f"{proposal.value!r} is not one of {', '.join(self.values)}")
        return proposal.value

    @observe("value")
    def _on_value(self, _change: Any) -> None:
        self._sync_buttons()

    @observe("reasons")
    def _on_reasons(self, _change: Any) -> None:
        for val, b in self.buttons.items():
            why = self.reasons.get(val)
            b.disabled = why is not None
            b.tooltip = f"unavailable: {why}" if why else self._tooltips.get(val, "")

    def _sync_buttons(self) -> None:
        self._syncing = True
        try:
            for val, b in self.buttons.items():
                b.value = val == self.value
        finally:
            self._syncing = False

    def _on_button(self, change: Any) -> None:
        if self._syncing:
            return
        val = next(v for v, b in self.buttons.items() if b is change.owner)
        if change.new:
            self.value = val
        self._sync_buttons()  # clicking the selected option keeps it selected


class Field(widgets.VBox):
    """A titled control with a grey note (hints, why options are disabled) and a red error line
    right under it. For a ``Segmented`` control the note lists its disabled options' reasons."""

    def __init__(self, title: str, control: widgets.Widget, *, hint: str = "", **kwargs: Any) -> None:
        self.control = control
        self.title_label = html_box(esc(title), "f2w-field-title")
        self.note = html_box("", "f2w-note")
        self.error = html_box("", "f2w-error")
        self._hint = hint
        self._note_extra = ""
        self.error_text = ""
        super().__init__(children=(self.title_label, control, self.note, self.error), **kwargs)
        self.add_class("f2w-field")
        if isinstance(control, Segmented):
            control.observe(lambda _c: self._render_note(), "reasons")
        self._render_note()
        show(self.error, False)

    @property
    def note_text(self) -> str:
        parts = [self._hint, self._note_extra]
        if isinstance(self.control, Segmented):
            parts += [f"{v}: {why}" for v, why in self.control.reasons.items()]
        return " · ".join(p for p in parts if p)

    def set_hint(self, hint: str) -> None:
        self._hint = hint
        self._render_note()

    def set_note(self, text: str) -> None:
        """An extra note after the hint (e.g. "switched to 1k")."""
        self._note_extra = text
        self._render_note()

    def _render_note(self) -> None:
        text = self.note_text
        self.note.value = esc(text)
        show(self.note, bool(text))

    def set_error(self, message: str | None) -> None:
        self.error_text = message or ""
        self.error.value = f"⚠ {esc(message)}" if message else ""
        show(self.error, bool(message))
        if message:
            self.add_class("f2w-field--invalid")
        else:
            self.remove_class("f2w-field--invalid")
