"""Reusable widget parts: ``Studio`` and the comparison views are built from these.

TaskTile API (stable: the comparison views drive tiles through exactly this)
----------------------------------------------------------------------------
``tile = TaskTile(request, *, simulated=False, base_url="", actions=("open", "save", "inspect", "remix"),
                  title=None, store=None, save_dir="flux2_results")``
    One request's life as a card: status chip, ticking elapsed time, thumbnail, labels (tier,
    resolution, pixel size, cost, latency), error + Retry, action buttons. Holds no client, no key.

Traits (observe with ``tile.observe(cb, "status")``; not synced to the browser):
    ``status``       "idle" -> "pending" -> "processing" -> "completed" | "failed" | "stopped".
                     "completed" is set only once the thumbnail is on screen.
    ``task_status``  the API's last status as reported (may be "completed" while downloading).
    ``task_id``      the API task id ("" until submitted).
    ``retry_mode``   what Retry does for a failed tile: "resume" (keep waiting for the same task:
                     the task exists and the service never said it failed, so it may still finish
                     and be billed) or "resubmit" (a new task: the task failed, or none was created).
    ``elapsed``      seconds since ``start()``; the latency once completed.
    ``error``        the error text of a failed tile ("" otherwise).
Attributes: ``request``, ``task`` (the last ``Task`` seen, ``None`` before submit), ``generation``
    (``Generation | None``), ``exception``, ``saved_paths``,
    ``done`` / ``active`` (bool properties), ``buttons`` (name -> Button: "open", "save", "inspect",
    "remix", "retry"), and the sub-widgets ``chip``, ``elapsed_label``, ``title_label``, ``thumb``
    (``Image``, JPEG), ``caption``, ``meta``, ``cost_label``, ``latency_label``, ``error_label``,
    ``message``, ``inspector`` (``RequestInspector``), ``viewer`` (``ImageViewer``).

Methods:
    ``tile.start(resume=False)``      reset for a (re)run and start the clock (``run_tile`` calls it);
                                      ``resume=True`` keeps the task id (waiting for the same task)
    ``tile.update(task)``             an ``on_update`` callback for the client
    ``await tile.show_generation(gen)`` thumbnail off the loop, labels, actions; status "completed"
    ``tile.show_error(exc)``          error text + Retry; status "failed"
    ``tile.mark_stopped()``           status "stopped" (no-op once done)
    ``tile.tick()``                   refresh elapsed; returns whether the tile is still active
    ``tile.on_retry(cb, resumes=False)`` ``cb(tile)`` when Retry is clicked (Retry is disabled without
                                      one). ``resumes=True``: the callback follows ``tile.retry_mode``
                                      (resume or resubmit), and the button says which ("Resume"/"Retry")
    ``tile.on_remix(cb)``             ``cb(tile, url)`` when "Use as source" is clicked
    ``tile.on_open(cb)``              ``cb(tile, image)`` when Open is clicked (default: inline viewer)
    ``tile.save() -> list[Path]``     ``store.save(gen)`` with a store, else ``gen.save(save_dir)``

``await run_tile(client, tile, request=None, *, timeout=None, store=None, resume=False)``
    ``-> Generation | Exception``
    Drives one generation into one tile: start, submit + wait with ``on_update=tile.update``,
    thumbnail, show. ``resume=True`` (with ``tile.task_id`` set) sends no new task: it fetches the
    tile's task and waits for it. ``store`` (a ``ResultStore``) is passed to the client's
    ``generate``/``wait`` so the result is saved there (``None``: the client's own store).
    Errors are shown on the tile and returned (not raised); cancellation marks the tile stopped
    and propagates.

Gallery
-------
``Gallery(tiles=(), *, tick_interval=0.5)``: a grid; ``add(tile)``, ``remove(tile)``,
``clear(finished_only=True)``, ``tile_for(task_id)``, ``tiles`` (display order: unfinished tiles in
the order added, then finished ones newest first), ``completed_order`` (task ids in the order their
images appeared), ``completed_tiles``, ``active_tiles``, ``ticker`` (a ``Ticker``: one light asyncio
task that ticks the elapsed time of active tiles and ends when none is left), ``close()``.

Other parts: ``StatusChip(status, detail)``, ``CostLabel(amount, source, simulated)`` (+ ``cost_text()``),
``RequestInspector(request=None, base_url="")`` (JSON + curl tabs; ``json_text``, ``curl_text``),
``ImageViewer()`` (full-size image; ``show(image, caption)``, ``hide()``), ``Segmented(options, value)``
(choices; ``disable(value, reason)``, ``set_reasons({...})``, ``select(value)``, ``buttons``) and
``Field(title, control, hint="")`` (title + control + note + ``set_error(message)`` next to the control).
"""

from __future__ import annotations

import asyncio
import html
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets
from traitlets import Bool, Dict, Float, TraitError, Unicode, observe, validate

from .._redact import redact
from ..catalog import TIER_INFO, ImageRequest, format_usd, price, tier_label
from ..errors import TaskFailedError, is_resumable
from ..results import cost_text, curl_command

if TYPE_CHECKING:  # pragma: no cover
    from ..results import GeneratedImage, Generation, Task

__all__ = [
    "ACTIVE",
    "FINISHED",
    "CostLabel",
    "Field",
    "Gallery",
    "ImageViewer",
    "RequestInspector",
    "Segmented",
    "StatusChip",
    "TaskTile",
    "Ticker",
    "cost_text",
    "run_tile",
]

#: Tile statuses while a request is in flight, and once it is over.
ACTIVE = ("pending", "processing")
FINISHED = ("completed", "failed", "stopped")
ALL_ACTIONS = ("open", "save", "inspect", "remix")


# -- small helpers -------------------------------------------------------------------
def _html(value: str = "", *classes: str, **kwargs: Any) -> widgets.HTML:
    w = widgets.HTML(value, **kwargs)
    w.add_class("f2w-html")
    for cls in classes:
        w.add_class(cls)
    return w


def _button(label: str, icon: str, tooltip: str = "", *, kind: Any = widgets.Button, **kwargs: Any) -> Any:
    """A compact ``f2w-btn`` (``kind=widgets.ToggleButton`` for an on/off one)."""
    b = kind(description=label, icon=icon, tooltip=tooltip, layout=widgets.Layout(width="auto"), **kwargs)
    b.add_class("f2w-btn")
    return b


def _show(widget: widgets.DOMWidget, visible: bool) -> None:
    widget.layout.display = None if visible else "none"


def _esc(text: Any) -> str:
    return html.escape(redact(str(text)))


def _seconds(value: float) -> str:
    return f"{value:.1f} s" if value < 100 else f"{value:.0f} s"


def tier_tooltip(tier: str) -> str:
    """``Pro: <blurb> (1k $0.05, 2k $0.07 per image)``: what a tier button says on hover."""
    info = TIER_INFO[tier]
    prices = ", ".join(f"{r} {format_usd(price(tier, r))}" for r in info.resolutions)
    return f"{info.label}: {info.blurb} ({prices} per image)"


# -- status and cost -------------------------------------------------------------------
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
        self.value = f'<span class="f2w-chip f2w-st-{_esc(self.status)}">{_esc(text)}</span>'


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
        self.value = f'<span class="f2w-chip f2w-chip--accent" title="{_esc(title)}">{_esc(self.text)}</span>'


# -- choices and fields ----------------------------------------------------------------
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
        self.title_label = _html(_esc(title), "f2w-field-title")
        self.note = _html("", "f2w-note")
        self.error = _html("", "f2w-error")
        self._hint = hint
        self._note_extra = ""
        self.error_text = ""
        super().__init__(children=(self.title_label, control, self.note, self.error), **kwargs)
        self.add_class("f2w-field")
        if isinstance(control, Segmented):
            control.observe(lambda _c: self._render_note(), "reasons")
        self._render_note()
        _show(self.error, False)

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
        self.note.value = _esc(text)
        _show(self.note, bool(text))

    def set_error(self, message: str | None) -> None:
        self.error_text = message or ""
        self.error.value = f"⚠ {_esc(message)}" if message else ""
        _show(self.error, bool(message))
        if message:
            self.add_class("f2w-field--invalid")
        else:
            self.remove_class("f2w-field--invalid")


# -- inspector and viewer ----------------------------------------------------------------
class RequestInspector(widgets.Tab):
    """The exact request as JSON and as a curl command (the key stays ``$RUNAPI_API_KEY``)."""

    json_text = Unicode("")
    curl_text = Unicode("")

    def __init__(self, request: ImageRequest | None = None, base_url: str = "", **kwargs: Any) -> None:
        self._json = _html("", "f2w-code")
        self._curl = _html("", "f2w-code")
        super().__init__(children=(self._json, self._curl), **kwargs)
        self.titles = ("JSON", "curl")
        self.add_class("f2w-inspector")
        if request is not None:
            self.show(request, base_url)

    def show(self, request: ImageRequest, base_url: str = "") -> None:
        self._set(request.to_json(), curl_command(base_url, request))

    def show_generation(self, gen: Generation) -> None:
        self._set(gen.request_json(), gen.curl())

    def clear(self) -> None:
        self._set("", "")

    def _set(self, json_text: str, curl: str) -> None:
        self.json_text, self.curl_text = redact(json_text), redact(curl)
        self._json.value = f"<pre>{html.escape(self.json_text)}</pre>" if json_text else ""
        self._curl.value = f"<pre>{html.escape(self.curl_text)}</pre>" if curl else ""


class ImageViewer(widgets.VBox):
    """A full-size image with a caption and Close. The bytes leave the widget on close."""

    caption_text = Unicode("")

    def __init__(self, **kwargs: Any) -> None:
        self.image = widgets.Image(layout=widgets.Layout(max_width="100%", height="auto"))
        self.image.add_class("f2w-viewer-img")
        self.caption = _html("", "f2w-note")
        self.close_button = _button("Close", "times")
        self.close_button.on_click(lambda _b: self.hide())
        head = widgets.HBox((self.caption, self.close_button),
                            layout=widgets.Layout(justify_content="space-between", align_items="center"))
        super().__init__(children=(head, self.image), **kwargs)
        self.add_class("f2w-viewer")
        self.shown: GeneratedImage | None = None
        _show(self, False)

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
        self.caption.value = _esc(self.caption_text)
        _show(self, True)

    def show(self, image: GeneratedImage, caption: str = "") -> asyncio.Future[None] | None:
        """Show now when the bytes are here, else schedule the download on the running loop."""
        if image.downloaded:
            self._display(image, caption)
            return None
        return asyncio.ensure_future(self.ashow(image, caption))

    def hide(self) -> None:
        self.image.value = b""
        self.shown = None
        _show(self, False)


# -- the task tile ------------------------------------------------------------------------
class TaskTile(widgets.VBox):
    """One request's life as a card. See the module docstring for the API."""

    status = Unicode("idle")
    task_status = Unicode("")
    task_id = Unicode("")
    elapsed = Float(0.0)
    error = Unicode("")

    def __init__(self, request: ImageRequest, *, simulated: bool = False, base_url: str = "",
                 actions: Sequence[str] = ALL_ACTIONS, title: str | None = None, store: Any = None,
                 save_dir: str | Path = "flux2_results", **kwargs: Any) -> None:
        unknown = set(actions) - set(ALL_ACTIONS)
        if unknown:
            raise ValueError(f"unknown tile actions {sorted(unknown)}; use some of {ALL_ACTIONS}")
        self.request = request
        self.simulated = simulated
        self.base_url = base_url
        self.actions = tuple(actions)
        self.store = store
        self.save_dir = Path(save_dir)
        self.generation: Generation | None = None
        self.exception: BaseException | None = None
        self.task: Task | None = None
        self.saved_paths: list[Path] = []
        self._t0: float | None = None
        self._retry_cbs: list[Callable[[TaskTile], Any]] = []
        self._retry_resumes = False
        self._remix_cbs: list[Callable[[TaskTile, str], Any]] = []
        self._open_cbs: list[Callable[[TaskTile, GeneratedImage], Any]] = []

        self.chip = StatusChip("idle")
        self.elapsed_label = _html("", "f2w-elapsed")
        self.title_label = _html(_esc(title or request.label), "f2w-tile-title")
        head = widgets.HBox((self.chip, self.elapsed_label, self.title_label))
        head.add_class("f2w-tile-head")
        self.thumb = widgets.Image(format="jpeg", layout=widgets.Layout(width="100%", height="auto"))
        self.thumb.add_class("f2w-thumb")
        self.placeholder = _html("", "f2w-placeholder-box")
        self.caption = _html(_esc(request.prompt), "f2w-caption")
        self.meta = _html("", "f2w-meta")
        self.cost_label = CostLabel(request.estimated_cost, "estimate", simulated=simulated, prefix="")
        self.latency_label = _html("", "f2w-latency")
        meta_row = widgets.HBox((self.meta, self.cost_label, self.latency_label),
                                layout=widgets.Layout(flex_flow="row wrap", align_items="center"))
        self.error_label = _html("", "f2w-tile-error")
        self.buttons: dict[str, widgets.Button] = {
            "open": _button("Open", "expand", "show the full-size image"),
            "save": _button("Save", "save", f"save the image(s) to {self.save_dir}/"),
            "inspect": _button("Request", "code", "show the exact request as JSON and curl"),
            "remix": _button("Use as source", "random", "add this image to the remix sources"),
            "retry": _button("Retry", "repeat", "send this request again", button_style="warning"),
        }
        self.buttons["open"].on_click(lambda _b: self._open())
        self.buttons["save"].on_click(lambda _b: self._save_clicked())
        self.buttons["inspect"].on_click(lambda _b: self._toggle_inspector())
        self.buttons["remix"].on_click(lambda _b: self._remix())
        self.buttons["retry"].on_click(lambda _b: self._retry())
        action_row = widgets.HBox((*(self.buttons[a] for a in self.actions), self.buttons["retry"]))
        action_row.add_class("f2w-tile-actions")
        self.message = _html("", "f2w-note")
        self.inspector = RequestInspector()
        self.viewer = ImageViewer()
        super().__init__(children=(head, self.placeholder, self.thumb, self.caption,
                                   meta_row, self.error_label, action_row,
                                   self.message, self.inspector, self.viewer), **kwargs)
        self.add_class("f2w")
        self.add_class("f2w-tile")
        self._reset_view()

    # -- state ---------------------------------------------------------------
    @property
    def done(self) -> bool:
        return self.status in FINISHED

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    @property
    def retry_mode(self) -> str:
        """"resume" when a task exists and may still finish (a poll, download or timeout error):
        waiting for it again costs nothing more, while a new task would be billed on top of it.
        "resubmit" when the service said the task failed, or no task was created."""
        return "resume" if is_resumable(self.exception, self.task_id) else "resubmit"

    def on_retry(self, callback: Callable[[TaskTile], Any], *, resumes: bool = False) -> None:
        self._retry_cbs.append(callback)
        # The button may promise "no new task" only when the handler keeps that promise.
        self._retry_resumes = self._retry_resumes or resumes
        self._render_buttons()

    def on_remix(self, callback: Callable[[TaskTile, str], Any]) -> None:
        self._remix_cbs.append(callback)

    def on_open(self, callback: Callable[[TaskTile, GeneratedImage], Any]) -> None:
        self._open_cbs.append(callback)

    def start(self, *, resume: bool = False) -> None:
        """Reset for a (re)run and start the clock; ``resume`` keeps the task being waited for."""
        self.generation = None
        self.exception = None
        self.saved_paths = []
        self._t0 = time.monotonic()
        with self.hold_trait_notifications():
            if not resume:
                self.task = None
                self.task_id = ""
            self.task_status = ""
            self.error = ""
            self.elapsed = 0.0
        self.chip.detail = "resuming" if resume else "submitting"
        self.status = "pending"
        self._reset_view()
        self.elapsed_label.value = _seconds(0.0)

    def tick(self) -> bool:
        """Refresh the elapsed time; ``False`` once the tile is no longer active."""
        if not self.active or self._t0 is None:
            return False
        self.elapsed = round(time.monotonic() - self._t0, 1)
        return True

    def update(self, task: Task) -> None:
        """Take a task as the client last saw it (use as ``on_update``)."""
        if self.done:
            return  # a late report after stop/failure must not revive the tile
        self.task = task
        self.task_id = task.id
        self.task_status = task.status
        if task.status in ACTIVE:
            self.chip.detail = ""
            self.status = task.status
        elif task.status == "completed":
            self.status = "processing"
            self.chip.detail = "downloading"
        else:
            self.chip.detail = task.status
        self.tick()

    async def show_generation(self, gen: Generation) -> None:
        """Thumbnail (made off the loop), labels and actions; then ``status = "completed"``."""
        self.generation = gen
        # Stop the ticker first: from here the tile shows the task's own latency, the
        # same figure as its latency chip, not the time spent making the thumbnail.
        self._t0 = None
        self.task_id = gen.id
        self.task_status = gen.task.status
        size: tuple[int, int] | None = None
        if gen.images:
            image = gen.images[0]
            jpeg = await image.athumbnail()
            size = image.size  # read by thumbnail(): no decoding here
            self.thumb.value = jpeg
            _show(self.thumb, True)
            _show(self.placeholder, False)
        else:
            self._placeholder("no image returned", still=True)
        self.elapsed = round(gen.elapsed, 2)
        self.cost_label.set_generation(gen)
        self._render_meta(size=size, latency=gen.elapsed, extra=len(gen.images) - 1)
        self.chip.detail = ""
        self.inspector.show_generation(gen)
        self.status = "completed"

    def show_error(self, exc: BaseException | str) -> None:
        """Show what went wrong and offer Retry; ``status = "failed"``."""
        self.exception = exc if isinstance(exc, BaseException) else None
        task_id = getattr(exc, "task_id", None)
        if task_id and not self.task_id:
            self.task_id = str(task_id)
        text = str(exc) if not isinstance(exc, BaseException) else f"{type(exc).__name__}: {exc}"
        self.error = redact(text)
        note = " Failed tasks are not charged." if isinstance(exc, TaskFailedError) else ""
        self.error_label.value = f"{_esc(self.error)}{_esc(note)}"
        _show(self.error_label, True)
        self._placeholder("failed", still=True)
        self.chip.detail = ""
        self.tick()
        self.status = "failed"

    def mark_stopped(self) -> None:
        """Stop showing progress: the Studio stopped waiting (the task may still finish server-side)."""
        if self.done:
            return
        self.tick()
        self.chip.detail = ""
        where = f" Task {self.task_id} may still finish on the server." if self.task_id else ""
        self._placeholder("stopped", still=True)
        self.message.value = _esc(f"Stopped waiting.{where}")
        _show(self.message, True)
        self.status = "stopped"

    # -- rendering --------------------------------------------------------------------
    @observe("status")
    def _on_status(self, change: Any) -> None:
        self.chip.status = change.new
        self.remove_class(f"f2w-tile--{change.old}")
        self.add_class(f"f2w-tile--{change.new}")
        if change.new in ACTIVE:
            self._placeholder(change.new)
        self._render_buttons()

    @observe("elapsed")
    def _on_elapsed(self, change: Any) -> None:
        self.elapsed_label.value = _seconds(change.new) if self.status != "idle" else ""

    def _placeholder(self, text: str, *, still: bool = False) -> None:
        size = self.request.size or (1, 1)
        if still:  # no image is coming: keep the card short so the message stays in view
            cls, shape = "f2w-placeholder f2w-placeholder--still", "height:96px"
        else:  # the shape of the image to come, so the grid does not jump when it lands
            cls, shape = "f2w-placeholder", f"aspect-ratio:{size[0]}/{size[1]}"
        self.placeholder.value = f'<div class="{cls}" style="{shape}">{_esc(text)}</div>'
        if self.generation is None:
            _show(self.placeholder, True)
            _show(self.thumb, False)

    def _reset_view(self) -> None:
        self.thumb.value = b""
        _show(self.thumb, False)
        self._placeholder(self.status if self.status != "idle" else "waiting", still=self.status == "idle")
        _show(self.error_label, False)
        self.error_label.value = ""
        self.message.value = ""
        _show(self.message, False)
        self.inspector.show(self.request, self.base_url)
        _show(self.inspector, False)
        self.viewer.hide()
        self.cost_label.set(self.request.estimated_cost, "estimate", simulated=self.simulated)
        self._render_meta()
        self._render_buttons()

    def _render_meta(self, *, size: tuple[int, int] | None = None, latency: float | None = None,
                     extra: int = 0) -> None:
        r = self.request
        chips = [tier_label(r.tier), r.resolution]
        if size is None:
            expected = r.size
            chips.append(f"~{expected[0]}×{expected[1]}" if expected else "size of source")
        else:
            chips.append(f"{size[0]}×{size[1]}")
        if r.action == "remix_image":
            chips.append("remix")
        if extra > 0:
            chips.append(f"+{extra} more")
        self.meta.value = "".join(f'<span class="f2w-chip">{_esc(c)}</span>' for c in chips)
        self.latency_label.value = ("" if latency is None else
                                    f'<span class="f2w-chip" title="latency: submit to completed">'
                                    f"{_esc(_seconds(latency))}</span>")
        _show(self.latency_label, latency is not None)

    def _render_buttons(self) -> None:
        ready = self.status == "completed" and self.generation is not None and bool(self.generation.images)
        for name in ("open", "save", "remix"):
            self.buttons[name].disabled = not ready
        self.buttons["inspect"].disabled = False
        retry = self.buttons["retry"]
        _show(retry, self.status == "failed")
        retry.disabled = not self._retry_cbs
        if not self._retry_cbs:
            retry.description, retry.icon = "Retry", "repeat"
            retry.tooltip = "retry is not available here"
        elif self._retry_resumes and self.retry_mode == "resume":
            retry.description, retry.icon = "Resume", "play"
            retry.tooltip = (f"keep waiting for task {self.task_id}: it may still finish; "
                             "no new task is sent, so nothing is charged twice")
        else:
            retry.description, retry.icon = "Retry", "repeat"
            retry.tooltip = "send this request again as a new task"

    # -- actions --------------------------------------------------------------------
    def _toggle_inspector(self) -> None:
        if self.generation is not None:
            self.inspector.show_generation(self.generation)
        _show(self.inspector, self.inspector.layout.display == "none")

    def _open(self) -> None:
        if self.generation is None or not self.generation.images:
            return
        image = self.generation.images[0]
        if self._open_cbs:
            for cb in self._open_cbs:
                cb(self, image)
        elif self.viewer.shown is image:
            self.viewer.hide()
        else:
            self.viewer.show(image, self.request.label)

    def _remix(self) -> None:
        if self.generation is None or not self.generation.images:
            return
        for cb in self._remix_cbs:
            cb(self, self.generation.images[0].url)

    def _retry(self) -> None:
        if self.status != "failed":
            return
        for cb in self._retry_cbs:
            cb(self)

    def save(self) -> list[Path]:
        """Write the images (and, with a store, a JSON sidecar). Blocking file I/O."""
        gen = self.generation
        if gen is None:
            raise RuntimeError("nothing to save yet: the task has not completed")
        paths = [Path(p) for p in self.store.save(gen)] if self.store is not None else gen.save(self.save_dir)
        self.saved_paths = paths
        return paths

    def _save_clicked(self) -> asyncio.Future[Any] | None:
        def report(paths: list[Path] | None, exc: BaseException | None = None) -> None:
            text = f"Could not save: {exc}" if exc else "Saved " + ", ".join(str(p) for p in paths or [])
            self.message.value = _esc(text)
            _show(self.message, True)

        try:
            asyncio.get_running_loop()
        except RuntimeError:
            try:
                report(self.save())
            except Exception as exc:
                report(None, exc)
            return None

        async def work() -> None:
            try:
                report(await asyncio.to_thread(self.save))
            except Exception as exc:
                report(None, exc)

        self.message.value = "saving…"
        _show(self.message, True)
        return asyncio.ensure_future(work())


async def run_tile(client: Any, tile: TaskTile, request: ImageRequest | None = None, *,
                   timeout: float | None = None, store: Any = None,
                   resume: bool = False) -> Generation | Exception:
    """Drive one generation into one tile. Returns the ``Generation`` or the error (shown on the
    tile). ``resume=True`` waits for the tile's existing task instead of sending a new one.
    Cancelling the coroutine marks the tile stopped and re-raises."""
    if request is not None:
        tile.request = request
    resume = resume and bool(tile.task_id)
    # Only pass store= when asked: None means "the client's own store" anyway.
    extra: dict[str, Any] = {} if store is None else {"store": store}

    def on_update(task: Task) -> None:
        try:
            tile.update(task)
        except Exception:  # a display hiccup must never break the client's polling
            pass

    previous = tile.task
    tile.start(resume=resume)
    try:
        if resume:
            action = previous.action if previous is not None else tile.request.action or "text_to_image"
            task = await client.get(tile.task_id, action, request=tile.request,
                                    submitted_at=previous.submitted_at if previous is not None else None)
            on_update(task)
            gen = await client.wait(task, timeout=timeout, on_update=on_update, **extra)
        else:
            gen = await client.generate(tile.request, timeout=timeout, on_update=on_update, **extra)
    except asyncio.CancelledError:
        tile.mark_stopped()
        raise
    except Exception as exc:
        tile.show_error(exc)
        return exc
    try:
        await tile.show_generation(gen)
    except asyncio.CancelledError:
        tile.mark_stopped()
        raise
    except Exception as exc:  # charged, but the image could not be shown
        tile.show_error(exc)
    return gen


# -- gallery ---------------------------------------------------------------------------
class Ticker:
    """One light asyncio task that ticks the elapsed time of active tiles, and ends when none is."""

    def __init__(self, interval: float = 0.5) -> None:
        self.interval = interval
        self._tiles: set[TaskTile] = set()
        self._task: asyncio.Task[None] | None = None

    def watch(self, tile: TaskTile) -> None:
        self._tiles.add(tile)
        if self._task is None or self._task.done():
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                return  # no loop: elapsed updates with each status report instead
            self._task = loop.create_task(self._run())

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def _run(self) -> None:
        while self._tiles:
            await asyncio.sleep(self.interval)
            for tile in list(self._tiles):
                if not tile.tick():
                    self._tiles.discard(tile)

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
        self._tiles.clear()


class Gallery(widgets.GridBox):
    """Tiles in a grid: unfinished ones first (in the order added), then finished ones newest
    first. ``completed_order`` lists task ids in the order their images appeared."""

    def __init__(self, tiles: Iterable[TaskTile] = (), *, tick_interval: float = 0.5, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.add_class("f2w")
        self.add_class("f2w-gallery")
        self._all: list[TaskTile] = []
        self._finished: list[TaskTile] = []
        self.completed_order: list[str] = []
        self.ticker = Ticker(tick_interval)
        for tile in tiles:
            self.add(tile)

    @property
    def tiles(self) -> tuple[TaskTile, ...]:
        """In display order."""
        return tuple(self.children)  # type: ignore[arg-type]

    @property
    def completed_tiles(self) -> list[TaskTile]:
        """Completed tiles in completion order."""
        return [t for t in self._finished if t.status == "completed"]

    @property
    def active_tiles(self) -> list[TaskTile]:
        return [t for t in self._all if t.active]

    def tile_for(self, task_id: str) -> TaskTile | None:
        return next((t for t in self._all if t.task_id == task_id), None)

    def add(self, tile: TaskTile) -> TaskTile:
        if tile in self._all:
            return tile
        self._all.append(tile)
        tile.observe(self._on_status, "status")
        if tile.active:
            self.ticker.watch(tile)
        elif tile.done:
            self._finish(tile)
        self._layout()
        return tile

    def remove(self, tile: TaskTile) -> None:
        if tile not in self._all:
            return
        tile.unobserve(self._on_status, "status")
        self._all.remove(tile)
        if tile in self._finished:
            self._finished.remove(tile)
        self._layout()

    def clear(self, *, finished_only: bool = True) -> None:
        """Remove (and close) finished tiles, or every tile."""
        for tile in list(self._all):
            if tile.done or not finished_only:
                self.remove(tile)
                tile.close()

    def _finish(self, tile: TaskTile) -> None:
        if tile not in self._finished:
            self._finished.append(tile)
            if tile.status == "completed" and tile.task_id:
                self.completed_order.append(tile.task_id)

    def _on_status(self, change: Any) -> None:
        tile = change.owner
        if change.new in FINISHED:
            self._finish(tile)
        else:
            if tile in self._finished:
                self._finished.remove(tile)
            if change.new in ACTIVE:
                self.ticker.watch(tile)
        self._layout()

    def _layout(self) -> None:
        running = [t for t in self._all if t not in self._finished]
        order = tuple(running + self._finished[::-1])
        if order != tuple(self.children):
            self.children = order

    def close(self) -> None:
        self.ticker.stop()
        for tile in self._all:
            tile.close()
        super().close()
