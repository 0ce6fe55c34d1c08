"""``TaskTile``: one run drawn as a card, for the Studio and the comparison views.

A tile is a view over a ``runs.Run``: it observes the run's status, task, money, error and
preview and draws them; its buttons send intent back (Retry/Resume to the owner or the run).
It holds no run state of its own (no task, error, Idempotency-Key or retry mode: those are the
run's), no client and no key.

``tile = TaskTile(run, *, actions=("open", "save", "download", "inspect", "remix"), title=None,
                  on_retry=None, on_remix=None, on_open=None)``

Sub-widgets tests and views rely on: ``chip`` (status pill), ``elapsed_label``, ``title_label``,
``thumb`` (``Image``, JPEG preview), ``caption``, ``meta`` (chips: tier, resolution, size ...),
``cost_label`` (``CostLabel``), ``latency_label``, ``error_label``, ``message``, ``buttons`` (name ->
Button: "open", "save", "inspect", "remix", "retry"), ``download`` (``DownloadButton``),
``inspector`` (``RequestInspector``), ``viewer`` (``ImageViewer``). Read-only views of the run:
``status``, ``task_id``, ``error``, ``done``, ``active``, ``retry_mode``, ``generation``.

Button handlers run on the run's home loop, whatever thread the kernel delivers the click on
(ipykernel 7 subshells): see ``_loops``. Widget traits therefore change only on that loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from ..catalog import request_label
from ..runs import ACTIVE, Run
from ._dom import button, esc, html_box, seconds_text, show
from .chips import CostLabel, StatusChip
from .download import DownloadButton, download_name
from .inspector import ImageViewer, RequestInspector

if TYPE_CHECKING:  # pragma: no cover
    from ..catalog import ImageRequest
    from ..results import GeneratedImage, Generation

__all__ = ["ALL_ACTIONS", "TaskTile"]

ALL_ACTIONS = ("open", "save", "download", "inspect", "remix")
#: What the chip says while a run is in each status (the run's own words, for people).
_CHIP = {"queued": "queued", "submitting": "sending", "pending": "pending", "processing": "processing",
         "downloading": "downloading", "completed": "completed", "failed": "failed", "stopped": "stopped"}


class TaskTile(widgets.VBox):
    """One run as a card. See the module docstring."""

    def __init__(self, run: Run, *, actions: Sequence[str] = ALL_ACTIONS, title: str | None = None,
                 on_retry: Callable[[Run], Any] | None = None,
                 on_remix: Callable[[TaskTile, str], Any] | None = None,
                 on_open: Callable[[TaskTile, GeneratedImage], Any] | None = None, **kwargs: Any) -> None:
        unknown = set(actions) - set(ALL_ACTIONS)
        if unknown:
            raise ValueError(f"unknown tile actions {sorted(unknown)}; use some of {ALL_ACTIONS}")
        self.run = run
        self.actions = tuple(actions)
        self._on_retry = on_retry
        self._on_remix = on_remix
        self._on_open = on_open
        request = run.request

        self.chip = StatusChip("queued")
        self.elapsed_label = html_box("", "f2w-elapsed")
        self.title_label = html_box(esc(title or request.label), "f2w-tile-title")
        head = widgets.HBox((self.chip, self.elapsed_label, self.title_label))
        head.add_class("f2w-tile-head")
        self.thumb = widgets.Image(format="jpeg", layout=widgets.Layout(width="100%", height="auto"))
        self.thumb.add_class("f2w-thumb")
        self.placeholder = html_box("", "f2w-placeholder-box")
        self.caption = html_box(esc(request.prompt), "f2w-caption")
        self.meta = html_box("", "f2w-meta")
        self.cost_label = CostLabel()
        self.latency_label = html_box("", "f2w-latency")
        meta_row = widgets.HBox((self.meta, self.cost_label, self.latency_label),
                                layout=widgets.Layout(flex_flow="row wrap", align_items="center"))
        self.error_label = html_box("", "f2w-tile-error")
        store = getattr(run.store, "root", None) or getattr(getattr(run.client, "store", None), "root", None)
        where = f"{store}/" if store is not None else "the results folder"
        self.buttons: dict[str, widgets.Button] = {
            "open": button("Open", "expand", "show the full-size image"),
            "save": button("Save", "save", f"save the image and its record to {where} (kernel side)"),
            "inspect": button("Request", "code", "show the exact request as JSON and curl"),
            "remix": button("Use as source", "random", "add this image to the remix sources"),
            "retry": button("Retry", "repeat", "send this request again", button_style="warning"),
        }
        self.download = DownloadButton(lambda: self._at_home(self._download))
        self.download.add_class("f2w-btn")
        self.buttons["open"].on_click(lambda _b: self._at_home(self._open))
        self.buttons["save"].on_click(lambda _b: self._at_home(self._save))
        self.buttons["inspect"].on_click(lambda _b: self._at_home(self._toggle_inspector))
        self.buttons["remix"].on_click(lambda _b: self._at_home(self._remix))
        self.buttons["retry"].on_click(lambda _b: self._at_home(self._retry))
        shown = [self.download if a == "download" else self.buttons[a] for a in self.actions]
        action_row = widgets.HBox((*shown, self.buttons["retry"]))
        action_row.add_class("f2w-tile-actions")
        self.message = html_box("", "f2w-note")
        self.inspector = RequestInspector()
        self.viewer = ImageViewer()
        super().__init__(children=(head, self.placeholder, self.thumb, self.caption, meta_row,
                                   self.error_label, action_row, self.message, self.inspector, self.viewer),
                         **kwargs)
        self.add_class("f2w")
        self.add_class("f2w-tile")
        self.inspector.show(request, getattr(run.client, "base_url", ""))
        show(self.inspector, False)
        show(self.message, False)
        self._drawn_status = ""
        self._draw()
        run.observe(self._on_run, ("status", "task_id", "money", "error_text", "preview", "next_step"))

    # -- read-only views of the run (what tests and owners ask) --------------------------------
    @property
    def request(self) -> ImageRequest:
        return self.run.request

    @property
    def status(self) -> str:
        return self.run.status

    @property
    def task_id(self) -> str:
        return self.run.task_id

    @property
    def error(self) -> str:
        return self.run.error_text

    @property
    def generation(self) -> Generation | None:
        return self.run.generation

    @property
    def done(self) -> bool:
        return self.run.done

    @property
    def active(self) -> bool:
        return self.run.active

    @property
    def retry_mode(self) -> str:
        """What the Retry button does now (the run's ``next_step``)."""
        return self.run.next_step

    def tick(self) -> bool:
        """Refresh the elapsed time; ``False`` once the run is no longer active, or the tile
        was closed (its run may go on elsewhere: the ticker lets go of the tile)."""
        if not self.run.active or getattr(self, "comm", None) is None:
            return False
        self.elapsed_label.value = seconds_text(self.run.elapsed)
        return True

    # -- drawing -----------------------------------------------------------------------
    def _on_run(self, _change: Any) -> None:
        try:
            self._draw()
        except Exception:  # a display hiccup must never break the run
            pass

    def _draw(self) -> None:
        run = self.run
        status = run.status
        if status != self._drawn_status:
            self.remove_class(f"f2w-tile--{self._drawn_status}")
            self.add_class(f"f2w-tile--{status}")
            self._drawn_status = status
        self.chip.status = status
        self.chip.label = _CHIP.get(status, status)
        gen = run.generation
        if status == "completed" and run.preview:
            self.thumb.value = run.preview
            show(self.thumb, True)
            show(self.placeholder, False)
        elif status == "completed":
            self._placeholder("no image returned", still=True)
        elif status in ACTIVE or status == "queued":
            self._placeholder("resuming" if status == "processing" and run.origin == "earlier" else
                              _CHIP[status], still=status == "queued")
        elif status == "stopped":
            where = (f"Task {run.task_id} may still finish on the server." if run.task_id else
                     "Its create may have reached the service." if run.sent else "Nothing was sent.")
            self._placeholder(f"Stopped waiting. {where}", still=True)
        else:
            self._placeholder("failed", still=True)
        if status in ACTIVE:
            self.elapsed_label.value = seconds_text(run.elapsed)
        elif status == "completed":
            self.elapsed_label.value = seconds_text(run.latency) if run.latency is not None else "–"
        elif status == "queued":
            self.elapsed_label.value = ""
        else:
            self.elapsed_label.value = seconds_text(run.elapsed)
        self.cost_label.set_run(run)
        self._render_meta(gen)
        error = run.error_text if status == "failed" else ""
        self.error_label.value = esc(error)
        show(self.error_label, bool(error))
        self._render_buttons()

    def _placeholder(self, text: str, *, still: bool = False) -> None:
        size = self.run.request.size or (1, 1)
        if still:  # no image is coming: keep the card short so the message stays in view
            cls, shape = "f2w-placeholder f2w-placeholder--still", "min-height:96px"
        else:  # the shape of the image to come, so the grid does not jump when it lands
            cls, shape = "f2w-placeholder", f"aspect-ratio:{size[0]}/{size[1]}"
        self.placeholder.value = f'<div class="{cls}" style="{shape}">{esc(text)}</div>'
        show(self.placeholder, True)
        show(self.thumb, False)

    def _render_meta(self, gen: Generation | None) -> None:
        run, r = self.run, self.run.request
        chips = [request_label(r.tier, r.resolution)]
        size = run.size if gen is not None else None
        if size is not None:
            chips.append(f"{size[0]}×{size[1]}")
        else:
            expected = r.size
            chips.append(f"~{expected[0]}×{expected[1]}" if expected else "size of source")
        if r.action == "remix_image":
            chips.append("remix")
        if gen is not None and len(gen.images) > 1:
            chips.append(f"+{len(gen.images) - 1} more")
        if run.status == "completed" and not run.latency_known:
            chips.append("finished while away")
        if run.origin == "earlier":
            chips.append("from an earlier session")
        self.meta.value = "".join(f'<span class="f2w-chip">{esc(c)}</span>' for c in chips)
        latency = run.latency if run.status == "completed" else None
        self.latency_label.value = ("" if latency is None else
                                    f'<span class="f2w-chip" title="latency: submit to completed">'
                                    f"{esc(seconds_text(latency))}</span>")
        show(self.latency_label, latency is not None)

    def _render_buttons(self) -> None:
        run = self.run
        gen = run.generation
        ready = run.status == "completed" and gen is not None and bool(gen.images)
        for name in ("open", "save", "remix"):
            self.buttons[name].disabled = not ready
        self.download.ready = ready
        if ready and gen is not None:
            self.download.filename = download_name(run.request, _format_of(gen))
        retry = self.buttons["retry"]
        step = run.next_step
        show(retry, bool(step))
        if step == "resume":
            retry.description, retry.icon = "Resume", "play"
            retry.tooltip = (f"keep waiting for task {run.task_id}: it may still finish; no new task is "
                             "sent, so nothing is charged twice")
        elif step == "resend":
            retry.description, retry.icon = "Retry", "repeat"
            retry.tooltip = ("send this request again with the same Idempotency-Key: if the first send "
                             "reached the service, its task comes back and is charged once")
        else:
            retry.description, retry.icon = "Retry", "repeat"
            retry.tooltip = "send this request again as a new task"

    # -- actions (on the run's home loop) --------------------------------------------------
    def _at_home(self, action: Callable[[], Any]) -> None:
        self.run.home.call(action)

    def _retry(self) -> None:
        if not self.run.next_step:
            return  # a second click arrived after the first started it
        try:
            if self._on_retry is not None:
                self._on_retry(self.run)
            else:
                self.run.retry()
        except Exception as exc:  # a refusal (the budget): say it on the card
            self._say(str(exc))

    def _toggle_inspector(self) -> None:
        gen = self.run.generation
        if gen is not None:
            self.inspector.show_generation(gen)
        show(self.inspector, self.inspector.layout.display == "none")

    def _open(self) -> None:
        gen = self.run.generation
        if gen is None or not gen.images:
            return
        image = gen.images[0]
        if self._on_open is not None:
            self._on_open(self, image)
        elif self.viewer.shown is image:
            self.viewer.hide()
        else:
            self.viewer.show(image, self.run.request.label)

    def _remix(self) -> None:
        gen = self.run.generation
        if gen is not None and gen.images and self._on_remix is not None:
            self._on_remix(self, gen.images[0].url)

    def _save(self) -> asyncio.Future[Any]:
        self._say("saving…")

        async def work() -> None:
            try:
                paths = await self.run.asave()
            except Exception as exc:
                self._say(f"Could not save: {exc}")
            else:
                self._say("Saved " + ", ".join(str(p) for p in paths))

        return asyncio.ensure_future(work())

    def _download(self) -> asyncio.Future[Any] | None:
        gen = self.run.generation
        if gen is None or not gen.images:
            return None
        image = gen.images[0]
        self.download.busy = True

        async def work() -> None:
            try:
                data = await image.aread()
                self.download.deliver(data, _format_of(gen))
            except Exception as exc:
                self._say(f"Could not prepare the download: {exc}")
            finally:
                self.download.busy = False

        return asyncio.ensure_future(work())

    def _say(self, text: str) -> None:
        self.message.value = esc(text)
        show(self.message, bool(text))

    def saved_paths(self) -> list[Path]:
        """Where the result's images are on disk (empty until saved)."""
        gen = self.run.generation
        return [img.path for img in gen.images if img.path is not None] if gen is not None else []

    def close(self) -> None:
        run = getattr(self, "run", None)  # a constructor refused its arguments: nothing to unhook
        try:
            if run is not None:
                run.unobserve(self._on_run, ("status", "task_id", "money", "error_text", "preview",
                                             "next_step"))
        except ValueError:
            pass
        super().close()


def _format_of(gen: Generation) -> str:
    image = gen.images[0]
    return image.format if image.downloaded and image.format in ("png", "jpeg", "webp") else "png"
