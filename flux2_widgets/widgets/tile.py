"""``TaskTile``: one request's life as a card, used by the Studio and the comparison views.

One job, the card: its states, labels and buttons (the API below is what views rely on).

TaskTile API (stable: the comparison views drive tiles through exactly this)
----------------------------------------------------------------------------
``tile = TaskTile(request, *, simulated=False, base_url="",
                  actions=("open", "save", "download", "inspect", "remix"), title=None, store=None,
                  save_dir="flux2_results")``
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
    ``done`` / ``active`` (bool properties), ``buttons`` (name -> Button: "open", "save", "download",
    "inspect", "remix", "retry"), ``download_link`` (the full image as a data: link, made on click),
    and the sub-widgets ``chip``, ``elapsed_label``, ``title_label``, ``thumb``
    (``Image``, JPEG), ``caption``, ``meta``, ``cost_label``, ``latency_label``, ``error_label``,
    ``message``, ``inspector`` (``RequestInspector``), ``viewer`` (``ImageViewer``).

Button handlers run on the tile's home loop (where its work runs), whatever thread the
kernel delivers the click on (ipykernel 7 subshells): see ``_loops``.

Methods:
    ``tile.start(resume=False)``      reset for a (re)run and start the clock (``run_in_view`` calls it);
                                      ``resume=True`` keeps the task id (waiting for the same task)
    ``tile.update(task)``             an ``on_update`` callback for the client
    ``await tile.show_generation(gen, latency_known=True)`` thumbnail off the loop, labels, actions;
                                      status "completed"
    ``tile.show_error(exc)``          error text + Retry; status "failed"
    ``tile.mark_stopped()``           status "stopped" (no-op once done)
    ``tile.tick()``                   refresh elapsed; returns whether the tile is still active
    ``tile.on_retry(cb, resumes=False)`` ``cb(tile)`` when Retry is clicked (Retry is disabled without
                                      one). ``resumes=True``: the callback follows ``tile.retry_mode``
                                      (resume or resubmit), and the button says which ("Resume"/"Retry")
    ``tile.on_remix(cb)``             ``cb(tile, url)`` when "Use as source" is clicked
    ``tile.on_open(cb)``              ``cb(tile, image)`` when Open is clicked (default: inline viewer)
    ``tile.save() -> list[Path]``     ``store.save(gen)`` with a store, else ``gen.save(save_dir)``

A tile is a view: it holds no client and does no I/O of its own beyond saving a file on request.
``runs.run_in_view(client, tile, ...)`` drives one generation into it (it implements
``runs.RunView``).
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets
from traitlets import Float, Unicode, observe

from .._loops import HomeLoop, running_loop
from .._redact import redact
from ..catalog import ImageRequest, tier_label
from ..errors import TaskFailedError, is_resumable
from ..results import Task
from ..runs import create_key
from ._dom import button, esc, html_box, seconds_text, show
from .chips import CostLabel, StatusChip
from .inspector import ImageViewer, RequestInspector

if TYPE_CHECKING:  # pragma: no cover
    from ..results import GeneratedImage, Generation

__all__ = ["ACTIVE", "FINISHED", "TaskTile"]

#: Tile statuses while a request is in flight, and once it is over.
ACTIVE = ("pending", "processing")
FINISHED = ("completed", "failed", "stopped")
ALL_ACTIONS = ("open", "save", "download", "inspect", "remix")


class TaskTile(widgets.VBox):
    """One request's life as a card. See the module docstring for the API."""

    status = Unicode("idle")
    task_status = Unicode("")
    task_id = Unicode("")
    elapsed = Float(0.0)
    error = Unicode("")

    def __init__(self, request: ImageRequest, *, simulated: bool = False, base_url: str = "",
                 actions: Sequence[str] = ALL_ACTIONS, title: str | None = None, store: Any = None,
                 save_dir: str | Path = "flux2_results", home: HomeLoop | None = None,
                 **kwargs: Any) -> None:
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
        #: The create's Idempotency-Key, kept across a Retry that may find the first task.
        self.idempotency_key = ""
        self.saved_paths: list[Path] = []
        self._t0: float | None = None
        self._retry_cbs: list[Callable[[TaskTile], Any]] = []
        self._retry_resumes = False
        self._remix_cbs: list[Callable[[TaskTile, str], Any]] = []
        self._open_cbs: list[Callable[[TaskTile, GeneratedImage], Any]] = []
        # The loop the tile's work runs on (where its task is polled and its image drawn).
        # Button handlers may run on a kernel subshell's thread with a loop of its own: they
        # hand their work to the owner's home loop (a tile built while a click is handled on a
        # subshell must not adopt that subshell's loop), else the loop building the tile.
        self._home_loop: asyncio.AbstractEventLoop | None = home.loop if home is not None else running_loop()

        self.chip = StatusChip("idle")
        self.elapsed_label = html_box("", "f2w-elapsed")
        self.title_label = html_box(esc(title or request.label), "f2w-tile-title")
        head = widgets.HBox((self.chip, self.elapsed_label, self.title_label))
        head.add_class("f2w-tile-head")
        self.thumb = widgets.Image(format="jpeg", layout=widgets.Layout(width="100%", height="auto"))
        self.thumb.add_class("f2w-thumb")
        self.placeholder = html_box("", "f2w-placeholder-box")
        self.caption = html_box(esc(request.prompt), "f2w-caption")
        self.meta = html_box("", "f2w-meta")
        self.cost_label = CostLabel(request.estimated_cost, "estimate", simulated=simulated, prefix="")
        self.latency_label = html_box("", "f2w-latency")
        meta_row = widgets.HBox((self.meta, self.cost_label, self.latency_label),
                                layout=widgets.Layout(flex_flow="row wrap", align_items="center"))
        self.error_label = html_box("", "f2w-tile-error")
        self.buttons: dict[str, widgets.Button] = {
            "open": button("Open", "expand", "show the full-size image"),
            "save": button("Save", "save", f"save the image(s) to {self.save_dir}/ on the kernel's machine"),
            "download": button("Download", "download", "get the full-size image in this browser"),
            "inspect": button("Request", "code", "show the exact request as JSON and curl"),
            "remix": button("Use as source", "random", "add this image to the remix sources"),
            "retry": button("Retry", "repeat", "send this request again", button_style="warning"),
        }
        self.buttons["open"].on_click(lambda _b: self._at_home(self._open))
        self.buttons["save"].on_click(lambda _b: self._at_home(self._save_clicked))
        self.buttons["download"].on_click(lambda _b: self._at_home(self._download_clicked))
        self.buttons["inspect"].on_click(lambda _b: self._toggle_inspector())
        self.buttons["remix"].on_click(lambda _b: self._at_home(self._remix))
        self.buttons["retry"].on_click(lambda _b: self._at_home(self._retry))
        action_row = widgets.HBox((*(self.buttons[a] for a in self.actions), self.buttons["retry"]))
        action_row.add_class("f2w-tile-actions")
        self.message = html_box("", "f2w-note")
        #: The full image as a link, made only when Download is clicked (so a saved notebook
        #: carries no full-size images nobody asked for).
        self.download_link = html_box("", "f2w-download")
        self.inspector = RequestInspector()
        self.viewer = ImageViewer()
        super().__init__(children=(head, self.placeholder, self.thumb, self.caption,
                                   meta_row, self.error_label, action_row,
                                   self.message, self.download_link, self.inspector, self.viewer),
                         **kwargs)
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
        self.elapsed_label.value = seconds_text(0.0)

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

    async def show_generation(self, gen: Generation, *, latency_known: bool = True) -> None:
        """Thumbnail (made off the loop), labels and actions; then ``status = "completed"``.
        ``latency_known=False``: the task finished while nobody watched (collected from an
        earlier session), so no duration is shown rather than a made-up one."""
        self._home_loop = asyncio.get_running_loop()
        self._t0 = None  # stop ticking while the thumbnail is made
        jpeg = await gen.images[0].athumbnail() if gen.images else None
        self._show(gen, jpeg, latency_known)

    def show_generation_now(self, gen: Generation, *, latency_known: bool = True) -> None:
        """The same, made here and now: for plain code with no event loop (a script that
        builds a view of results it already has)."""
        self._show(gen, gen.images[0].thumbnail() if gen.images else None, latency_known)

    def _show(self, gen: Generation, jpeg: bytes | None, latency_known: bool) -> None:
        self.generation = gen
        # From here the tile shows the task's own latency, the same figure as its latency
        # chip, not the time spent making the thumbnail.
        self._t0 = None
        self.task_id = gen.id
        self.task_status = gen.task.status
        size: tuple[int, int] | None = None
        if gen.images and jpeg is not None:
            size = gen.images[0].size  # read by thumbnail(): no decoding here
            self.thumb.value = jpeg
            show(self.thumb, True)
            show(self.placeholder, False)
        else:
            self._placeholder("no image returned", still=True)
        self.elapsed = round(gen.elapsed, 2) if latency_known else 0.0
        if not latency_known:
            self.elapsed_label.value = "–"  # not "0.0 s": nobody saw how long it took
        self.cost_label.set_generation(gen)
        self._render_meta(size=size, latency=gen.elapsed if latency_known else None,
                          extra=len(gen.images) - 1, finished_unseen=not latency_known)
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
        self.error_label.value = f"{esc(self.error)}{esc(note)}"
        show(self.error_label, True)
        self._placeholder("failed", still=True)
        self.chip.detail = ""
        self.tick()
        self.status = "failed"
        # Already "failed" (a status report came first): Retry/Resume must follow the error.
        self._render_buttons()

    def mark_stopped(self) -> None:
        """Stop showing progress: the Studio stopped waiting (the task may still finish server-side)."""
        if self.done:
            return
        self.tick()
        self.chip.detail = ""
        where = f" Task {self.task_id} may still finish on the server." if self.task_id else ""
        self._placeholder("stopped", still=True)
        self.message.value = esc(f"Stopped waiting.{where}")
        show(self.message, True)
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
        self.elapsed_label.value = seconds_text(change.new) if self.status != "idle" else ""

    def _placeholder(self, text: str, *, still: bool = False) -> None:
        size = self.request.size or (1, 1)
        if still:  # no image is coming: keep the card short so the message stays in view
            cls, shape = "f2w-placeholder f2w-placeholder--still", "height:96px"
        else:  # the shape of the image to come, so the grid does not jump when it lands
            cls, shape = "f2w-placeholder", f"aspect-ratio:{size[0]}/{size[1]}"
        self.placeholder.value = f'<div class="{cls}" style="{shape}">{esc(text)}</div>'
        if self.generation is None:
            show(self.placeholder, True)
            show(self.thumb, False)

    def _reset_view(self) -> None:
        self.thumb.value = b""
        show(self.thumb, False)
        self._placeholder(self.status if self.status != "idle" else "waiting", still=self.status == "idle")
        show(self.error_label, False)
        self.error_label.value = ""
        self.message.value = ""
        show(self.message, False)
        self.inspector.show(self.request, self.base_url)
        show(self.inspector, False)
        self.viewer.hide()
        self.download_link.value = ""
        show(self.download_link, False)
        self.cost_label.set(self.request.estimated_cost, "estimate", simulated=self.simulated)
        self._render_meta()
        self._render_buttons()

    def _render_meta(self, *, size: tuple[int, int] | None = None, latency: float | None = None,
                     extra: int = 0, finished_unseen: bool = False) -> None:
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
        if finished_unseen:
            chips.append("finished while away")
        self.meta.value = "".join(f'<span class="f2w-chip">{esc(c)}</span>' for c in chips)
        self.latency_label.value = ("" if latency is None else
                                    f'<span class="f2w-chip" title="latency: submit to completed">'
                                    f"{esc(seconds_text(latency))}</span>")
        show(self.latency_label, latency is not None)

    def _render_buttons(self) -> None:
        ready = self.status == "completed" and self.generation is not None and bool(self.generation.images)
        for name in ("open", "save", "download", "remix"):
            self.buttons[name].disabled = not ready
        self.buttons["inspect"].disabled = False
        retry = self.buttons["retry"]
        # Stop is never final: a stopped task is resumed, and a send stopped before its answer
        # goes out again under the same Idempotency-Key (the service returns the first task).
        show(retry, self.status in ("failed", "stopped"))
        retry.disabled = not self._retry_cbs
        if not self._retry_cbs:
            retry.description, retry.icon = "Retry", "repeat"
            retry.tooltip = "retry is not available here"
        elif self._retry_resumes and self.retry_mode == "resume":
            retry.description, retry.icon = "Resume", "play"
            retry.tooltip = (f"keep waiting for task {self.task_id}: it may still finish; "
                             "no new task is sent, so nothing is charged twice")
        elif (self.idempotency_key and self.status == "stopped") or (
                self.exception is not None and create_key(self.idempotency_key, self.exception)
                == self.idempotency_key):
            retry.description, retry.icon = "Retry", "repeat"
            retry.tooltip = ("send this request again with the same Idempotency-Key: if the first "
                             "send reached the service, its task comes back and is charged once")
        else:
            retry.description, retry.icon = "Retry", "repeat"
            retry.tooltip = "send this request again as a new task"

    # -- actions --------------------------------------------------------------------
    def _at_home(self, action: Callable[[], Any]) -> None:
        """Run a button's action on the tile's home loop (at once when already there)."""
        loop = self._home_loop
        if loop is None or loop.is_closed():
            action()
        else:
            HomeLoop(loop).call(action)

    def _toggle_inspector(self) -> None:
        if self.generation is not None:
            self.inspector.show_generation(self.generation)
        show(self.inspector, self.inspector.layout.display == "none")

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
        if self.status not in ("failed", "stopped"):
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
            self.message.value = esc(text)
            show(self.message, True)

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
        show(self.message, True)
        return asyncio.ensure_future(work())


    def _download_clicked(self) -> asyncio.Future[Any] | None:
        """Put the full image in a link the browser saves (a data: URL): it works with a remote
        kernel, where Save writes to the kernel's disk. Made on demand, shown until the next run."""
        gen = self.generation
        if gen is None or not gen.images:
            return None
        image = gen.images[0]

        def link() -> str:
            fmt = image.format if image.format in ("png", "jpeg", "webp") else "png"
            ext = "jpg" if fmt == "jpeg" else fmt
            name = f"flux2-{gen.id or 'image'}.{ext}"
            data = base64.b64encode(image.data).decode("ascii")
            size = f"{len(image.data) / 1e6:.1f} MB" if len(image.data) >= 100_000 else \
                f"{len(image.data) / 1e3:.0f} kB"
            return (f'<a download="{esc(name)}" href="data:image/{fmt};base64,{data}" '
                    f'title="save the full-size image from this browser">⬇ {esc(name)} ({size})</a>')

        def put(html_text: str) -> None:
            self.download_link.value = html_text
            show(self.download_link, True)

        try:
            asyncio.get_running_loop()
        except RuntimeError:  # plain code, no loop: do it now
            try:
                put(link() if image.downloaded else "")
            except Exception as exc:
                put(esc(f"Could not prepare the download: {exc}"))
            return None

        async def work() -> None:
            try:
                await image.aread()
                # base64 of a 2k PNG is a few MB of work: off the loop
                put(await asyncio.to_thread(link))
            except Exception as exc:
                put(esc(f"Could not prepare the download: {exc}"))

        put("preparing the download…")
        return asyncio.ensure_future(work())
