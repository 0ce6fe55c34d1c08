"""``Studio``: prompt, tier, mode, ratio, resolution, sources and Generate, with a live gallery.

Generate returns at once: every task gets a tile that ticks while the task runs and shows its
image the moment it completes, in whatever order tasks finish. Costs are shown before spending
(estimate) and after (billed where the API reports it). The Studio keeps a client object but
never the key: no trait or widget state holds it.

Every completed result is saved: to the client's ``ResultStore`` when it has one, else to a
``ResultStore(save_dir)`` the Studio makes (images, a JSON sidecar, and a run log that
``client.resume(store)`` can finish from after a kernel restart).

The budget counts what is spent, what is running, and tasks the Studio stopped waiting for
(Stop, or a poll/download error) that may still finish and be billed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import ipywidgets as widgets
from traitlets import Float, Int, Unicode

from .._redact import redact
from ..catalog import (
    PROMPT_MAX,
    PROMPT_MIN,
    REMIX_ASPECT_RATIOS,
    RESOLUTIONS,
    TIER_INFO,
    TIERS,
    ImageRequest,
    estimate_cost,
    tier_label,
)
from ..errors import BudgetExceededError, ValidationError
from ..money import check_budget, cost_text, format_usd, sum_costs
from ..results import Generation, Task
from ..store import ResultStore
from ._dom import button, esc, html_box, show, tier_tooltip
from ._style import style_widget
from .controls import Field, Segmented
from .gallery import Gallery
from .inspector import ImageViewer, RequestInspector
from .tile import TaskTile, run_tile

if TYPE_CHECKING:  # pragma: no cover
    from ..client._core import AsyncFlux2Client, Flux2Client
    from ..results import GeneratedImage

__all__ = ["Studio", "MAX_BATCH"]

#: Most tasks one click may start (a UI guard, not an API limit).
MAX_BATCH = 16

MODES = (("Text to image", "text_to_image"), ("Remix", "remix_image"))
#: ValidationError.field -> the Studio field that shows the message.
_FIELD_FOR = {"prompt": "prompt", "tier": "tier", "resolution": "resolution", "aspect_ratio": "aspect_ratio",
              "source_image_urls": "source_image_urls", "action": "mode"}
SIM_BADGE = "SIMULATED · no API key · nothing is charged"
SIM_BADGE_TIP = ('No API key is configured, so a local simulator answers: images are placeholders '
                 'and costs read "would have cost". Set RUNAPI_API_KEY to use RunAPI.')
REMIX_HINT = ("Remix needs public http(s) image URLs, one per line: the API downloads them itself. "
              "Local files (Upload) are uploaded to RunAPI's file storage (temporary URL, about 7 days); "
              "a result's \"Use as source\" works too.")


class Studio(widgets.VBox):
    """The Flux 2 studio. ``Studio(client=None, budget=None)``; display it in a cell.

    ``client=None`` uses the configured key, else the embedded simulator (badged SIMULATED).
    A sync ``Flux2Client`` is accepted (its ``.aio`` twin is used).
    """

    #: What completed tasks cost this session: billed where reported, else estimated.
    session_total = Float(0.0)
    session_billed = Float(0.0)
    session_estimated = Float(0.0)
    session_text = Unicode("")
    #: The live estimate line shown beside Generate.
    cost_text = Unicode("")
    #: Tasks in flight.
    running = Int(0)

    def __init__(self, client: AsyncFlux2Client | Flux2Client | None = None, *, budget: float | None = None,
                 prompt: str = "", tier: str = "pro", mode: str = "text_to_image", aspect_ratio: str = "1:1",
                 resolution: str = "1k", n_images: int = 1, sources: Iterable[str] = (),
                 timeout: float | None = None, save_dir: str = "flux2_results",
                 tick_interval: float = 0.5, **kwargs: Any) -> None:
        from ..client._defaults import as_async_client

        self._client = as_async_client(client)
        self.simulated = bool(getattr(self._client, "simulated", False))
        self.timeout = timeout
        self.save_dir = save_dir
        # Results outlive the kernel and their week-long URLs only on disk: a client without a
        # store gets one here, passed per call, so the caller's client is left as it was.
        client_store = getattr(self._client, "store", None)
        self._own_store: ResultStore | None = None if client_store is not None else ResultStore(save_dir)
        self.store: ResultStore = client_store if client_store is not None else self._own_store
        self.generations: list[Generation] = []
        self._tasks: dict[asyncio.Task[None], TaskTile] = {}
        self._uploads: set[asyncio.Task[None]] = set()
        self._inflight: dict[TaskTile, float] = {}
        # Tasks we no longer wait for that may still be billed: tile -> (estimate, "stopped" | "lost").
        self._unsettled: dict[TaskTile, tuple[float, str]] = {}
        self._attempted = False
        self._closed = False
        try:
            self._home_loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            self._home_loop = None

        # -- header ----------------------------------------------------------------
        title = html_box("FLUX.2 Studio<small>Flux 2 · RunAPI</small>", "f2w-title")
        self.badge = html_box(self._badge_html(), "f2w-badge-box")
        self.session_label = html_box("", "f2w-session")
        header = widgets.HBox((title, self.badge, self.session_label))
        header.add_class("f2w-header")

        # -- controls ---------------------------------------------------------------
        self.prompt_input = widgets.Textarea(value=prompt, rows=5, continuous_update=True,
                                             placeholder="Describe the image: subject, style, light, lens…")
        self.prompt_input.add_class("f2w-prompt")
        self.prompt_input.add_class("f2w-wide")
        self.sources_input = widgets.Textarea(value="\n".join(sources), rows=3,
                                              placeholder="https://example.com/photo.jpg (one URL per line)")
        self.sources_input.add_class("f2w-wide")
        self.upload_input = widgets.FileUpload(accept="image/*", multiple=True, description="Upload",
                                               tooltip="upload local PNG, JPEG or WebP images as sources",
                                               layout=widgets.Layout(width="auto", align_self="flex-start",
                                                                     margin="6px 0 0 0"))
        self.upload_input.add_class("f2w-btn")
        self.mode_input = Segmented(MODES, mode)
        self.tier_input = Segmented([(tier_label(t), t) for t in TIERS], tier,
                                    tooltips={t: tier_tooltip(t) for t in TIERS})
        self.ratio_input = Segmented(REMIX_ASPECT_RATIOS, aspect_ratio)
        self.resolution_input = Segmented(RESOLUTIONS, resolution)
        self.count_input = widgets.IntSlider(value=n_images, min=1, max=MAX_BATCH, continuous_update=True,
                                             layout=widgets.Layout(width="260px"))
        self.budget_input = widgets.BoundedFloatText(value=budget or 0.0, min=0.0, max=1e6, step=0.5,
                                                     layout=widgets.Layout(width="120px"))
        self.fields: dict[str, Field] = {
            "prompt": Field("Prompt", self.prompt_input),
            "source_image_urls": Field("Source images", widgets.VBox((self.sources_input, self.upload_input)),
                                       hint=REMIX_HINT),
            "mode": Field("Mode", self.mode_input),
            "tier": Field("Tier", self.tier_input),
            "aspect_ratio": Field("Aspect ratio", self.ratio_input),
            "resolution": Field("Resolution", self.resolution_input, hint="1k ≈ 1 MP, 2k ≈ 4 MP"),
            "n_images": Field("Images", self.count_input, hint="one task per image"),
            "budget": Field("Budget cap (USD)", self.budget_input,
                            hint="0 = no cap; a batch that would pass it is refused"),
        }
        # -- action bar -------------------------------------------------------------------
        self.cost_line = html_box("", "f2w-cost")
        self.request_toggle = button("Request", "code", "show the request as JSON and curl before sending",
                                      kind=widgets.ToggleButton)
        self.clear_button = button("Clear", "trash", "remove finished tiles")
        self.stop_button = button("Stop", "stop", "stop waiting for unfinished tasks", disabled=True)
        self.generate_button = widgets.Button(description="Generate", icon="play", button_style="primary",
                                              layout=widgets.Layout(width="auto"))
        self.generate_button.add_class("f2w-generate")
        # Shown only when the run log holds tasks an earlier session (a dead kernel) never
        # collected: they may be finished and paid for.
        self.collect_button = button("Collect", "download",
                                      "finish the tasks an earlier session left unfinished")
        buttons = widgets.HBox((self.collect_button, self.request_toggle, self.clear_button,
                                self.stop_button, self.generate_button))
        buttons.add_class("f2w-buttons")
        actionbar = widgets.HBox((self.cost_line, buttons))
        actionbar.add_class("f2w-actionbar")

        # Generate sits right under the prompt: when the columns stack (a narrow
        # window, a projector) it stays next to what you type, not below the settings.
        left = widgets.VBox((self.fields["prompt"], self.fields["source_image_urls"], actionbar))
        right = widgets.VBox(tuple(self.fields[k] for k in
                                   ("mode", "tier", "aspect_ratio", "resolution", "n_images", "budget")))
        for col in (left, right):
            col.add_class("f2w-col")
        panel = widgets.HBox((left, right))
        panel.add_class("f2w-panel")

        self.message = html_box("", "f2w-message")
        self.message_text = ""
        self.request_inspector = RequestInspector()
        self.viewer = ImageViewer()
        self.empty_note = html_box("Results appear here, each the moment its task completes.", "f2w-empty")
        self.gallery = Gallery(tick_interval=tick_interval)

        super().__init__(children=(style_widget(), header, panel, self.message,
                                   self.request_inspector, self.viewer, self.empty_note, self.gallery),
                         **kwargs)
        self.add_class("f2w")
        self.add_class("f2w-studio")
        show(self.message, False)
        show(self.request_inspector, False)
        # The run log is read here and when Collect is clicked, not on every finished task
        # (file I/O on the notebook's loop): tasks of this session have tiles anyway.
        self._show_collect(len(self.unfinished()))

        # -- wiring ------------------------------------------------------------------------------
        self.generate_button.on_click(lambda _b: self.generate())
        self.stop_button.on_click(lambda _b: self.stop())
        self.collect_button.on_click(lambda _b: self.collect_unfinished())
        self.clear_button.on_click(lambda _b: self.gallery.clear())
        self.request_toggle.observe(lambda _c: self._refresh(), "value")
        self.upload_input.observe(self._on_upload, "value")
        for control in (self.mode_input, self.tier_input):
            control.observe(self._on_tier_or_mode, "value")
        for control in (self.prompt_input, self.sources_input, self.ratio_input, self.resolution_input,
                        self.count_input, self.budget_input):
            control.observe(lambda _c: self._refresh(), "value")
        self.gallery.observe(lambda _c: self._render_gallery_state(), "children")
        self._apply_constraints(switch=False)
        self._render_gallery_state()
        self._render_session()
        self._refresh()

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        # Readers without widgets get a static twin, refreshed when a batch ends (see _sharing).
        from ._static import studio_twin

        return studio_twin(self, super()._repr_mimebundle_(**kwargs))

    # -- values (the controls are the state) ------------------------------------------------
    @property
    def client(self) -> AsyncFlux2Client:
        return self._client

    @property
    def prompt(self) -> str:
        return self.prompt_input.value

    @prompt.setter
    def prompt(self, value: str) -> None:
        self.prompt_input.value = value

    @property
    def tier(self) -> str:
        return self.tier_input.value

    @tier.setter
    def tier(self, value: str) -> None:
        self.tier_input.value = value

    @property
    def mode(self) -> str:
        return self.mode_input.value

    @mode.setter
    def mode(self, value: str) -> None:
        self.mode_input.value = value

    @property
    def aspect_ratio(self) -> str:
        return self.ratio_input.value

    @aspect_ratio.setter
    def aspect_ratio(self, value: str) -> None:
        self.ratio_input.value = value

    @property
    def resolution(self) -> str:
        return self.resolution_input.value

    @resolution.setter
    def resolution(self, value: str) -> None:
        self.resolution_input.value = value

    @property
    def n_images(self) -> int:
        return self.count_input.value

    @n_images.setter
    def n_images(self, value: int) -> None:
        self.count_input.value = value

    @property
    def sources(self) -> tuple[str, ...]:
        return tuple(line.strip() for line in self.sources_input.value.splitlines() if line.strip())

    @sources.setter
    def sources(self, urls: Iterable[str]) -> None:
        self.sources_input.value = "\n".join(urls)

    @property
    def budget(self) -> float | None:
        return self.budget_input.value or None

    @budget.setter
    def budget(self, value: float | None) -> None:
        self.budget_input.value = value or 0.0

    @property
    def tiles(self) -> tuple[TaskTile, ...]:
        return self.gallery.tiles

    @property
    def tasks(self) -> tuple[asyncio.Task[None], ...]:
        """The asyncio tasks this Studio started that are still running."""
        return tuple(self._tasks)

    @property
    def uploads(self) -> tuple[asyncio.Task[None], ...]:
        """File uploads still in flight."""
        return tuple(self._uploads)

    def field_error(self, name: str) -> str:
        """The message shown next to a control ("" when none)."""
        return self.fields[name].error_text

    # -- building and checking the request --------------------------------------------------------------
    def build_request(self) -> ImageRequest:
        """The request the controls describe; raises ``ValidationError``."""
        remix = self.mode == "remix_image"
        return ImageRequest(self.prompt, tier=self.tier, resolution=self.resolution,
                            aspect_ratio=self.aspect_ratio,
                            source_image_urls=self.sources if remix else (), action=self.mode)

    def _committed(self) -> float:
        """Spent, plus what running tasks will cost, plus what tasks we stopped waiting for may
        still cost (they may finish and be billed): the budget counts all three."""
        return (self.session_total + sum(self._inflight.values())
                + sum(cost for cost, _ in self._unsettled.values()))

    def _check_budget(self, requests: list[ImageRequest]) -> None:
        check_budget(requests, self.budget, spent=round(self._committed(), 6))

    # -- actions ------------------------------------------------------------------------------------
    def generate(self) -> list[TaskTile]:
        """What the Generate button does. Returns the new tiles ([] when nothing was sent)."""
        if self._closed:
            return []
        self._attempted = True
        self._set_message("")
        try:
            request = self.build_request()
        except ValidationError as exc:
            self._show_validation(exc)
            return []
        self._show_validation(None)
        requests = [request] * self.n_images
        try:
            self._check_budget(requests)
        except BudgetExceededError as exc:
            self._set_message(str(exc))
            return []
        loop = self._loop()
        if loop is None:
            self._set_message("The Studio needs a running asyncio event loop (use it in Jupyter).")
            return []
        tiles = []
        for req in requests:
            tile = self._new_tile(req)
            tile.start()  # the tile shows "pending" before the first request leaves
            self.gallery.add(tile)
            self._launch(tile, loop)
            tiles.append(tile)
        self._refresh()  # the budget line counts the tasks just started
        return tiles

    def rows(self) -> list[dict[str, Any]]:
        """One row per finished generation of this session (tier, size, cost, latency,
        prompt, urls...), in completion order: the session as data."""
        return [gen.to_row() for gen in self.generations]

    def to_csv(self, path: str | Path) -> Path:
        """Write ``rows()`` to a CSV file (prompt explorations, classroom records)."""
        from .._export import write_csv

        return write_csv(path, self.rows())

    def to_pandas(self) -> Any:
        from .._export import require_pandas

        return require_pandas().DataFrame(self.rows())

    def unfinished(self) -> list[Task]:
        """Tasks this Studio's run log shows as submitted (to this endpoint) but never
        collected, e.g. by a kernel that died, and that no tile here is handling."""
        mine = {t.task_id for t in self.gallery.tiles if t.task_id}
        try:
            pending = self.store.pending(self._client.base_url)
        except OSError:
            return []
        return [t for t in pending if t.request is not None and t.id not in mine]

    def collect_unfinished(self) -> list[TaskTile]:
        """What the Collect button does: a tile per unfinished task, each waiting for its
        task (nothing new is sent or charged); results are saved as usual."""
        loop = self._loop()
        if self._closed or loop is None:
            return []
        tiles = []
        for task in self.unfinished():
            tile = self._new_tile(task.request)  # type: ignore[arg-type]
            tile.update(task)
            self.gallery.add(tile)
            self._launch(tile, loop, resume=True)
            tiles.append(tile)
        self._show_collect(0)  # every unfinished task now has a tile
        self._refresh()
        return tiles

    def _show_collect(self, count: int) -> None:
        self.collect_button.description = f"Collect {count}"
        show(self.collect_button, count > 0)

    def stop(self) -> None:
        """Stop waiting for unfinished tasks (their tiles say "stopped")."""
        for task, tile in list(self._tasks.items()):
            task.cancel()
            tile.mark_stopped()
        self._update_running()

    def close(self) -> None:
        """Cancel everything this Studio started and close its widgets."""
        if self._closed:
            return
        self._closed = True
        self.stop()
        for job in self._uploads:
            job.cancel()
        self.gallery.close()
        style = style_widget()
        for w in self._descendants():
            if w is not style and w is not self:
                w.close()
        super().close()

    def _new_tile(self, request: ImageRequest) -> TaskTile:
        tile = TaskTile(request, simulated=self.simulated, base_url=self._client.base_url,
                        store=self.store, save_dir=self.save_dir)
        tile.on_retry(self._retry, resumes=True)
        tile.on_remix(self._use_as_source)
        tile.on_open(self._open_image)
        return tile

    def _descendants(self) -> list[widgets.Widget]:
        found: list[widgets.Widget] = []
        stack: list[Any] = list(self.children)
        while stack:
            w = stack.pop()
            if isinstance(w, widgets.Widget) and w not in found:
                found.append(w)
                stack.extend(getattr(w, "children", ()) or ())
        return found

    def _loop(self) -> asyncio.AbstractEventLoop | None:
        try:
            return asyncio.get_running_loop()
        except RuntimeError:
            loop = self._home_loop
            return loop if loop is not None and not loop.is_closed() else None

    def _launch(self, tile: TaskTile, loop: asyncio.AbstractEventLoop, *, resume: bool = False) -> None:
        self._unsettled.pop(tile, None)  # resuming: counted as running again
        self._inflight[tile] = tile.request.estimated_cost or 0.0
        task = loop.create_task(self._run(tile, resume))
        self._tasks[task] = tile
        task.add_done_callback(self._task_done)
        self._update_running()

    async def _run(self, tile: TaskTile, resume: bool = False) -> None:
        try:
            result = await run_tile(self._client, tile, timeout=self.timeout, store=self._own_store,
                                    resume=resume)
        except asyncio.CancelledError:
            # Once running, the submit may have reached the service: the task can still
            # finish and be billed, so it keeps counting against the budget.
            self._unsettled[tile] = (self._inflight.get(tile, 0.0), "stopped")
            raise
        finally:
            self._inflight.pop(tile, None)
        if isinstance(result, Generation):
            self._record(result)
        elif tile.retry_mode == "resume":
            self._unsettled[tile] = (tile.request.estimated_cost or 0.0, "lost")

    def _task_done(self, task: asyncio.Task[None]) -> None:
        tile = self._tasks.pop(task, None)
        if tile is not None:
            # Cancelled before its first step, _run never ran (nothing was sent): uncount it.
            self._inflight.pop(tile, None)
        if not task.cancelled() and task.exception() is not None:
            self._set_message(f"Unexpected error: {task.exception()}")
        self._update_running()
        self._render_cost()  # what is committed moved; the controls did not

    def _update_running(self) -> None:
        self.running = len(self._tasks)
        self.stop_button.disabled = not self._tasks
        self._render_gallery_state()

    def _render_gallery_state(self) -> None:
        show(self.empty_note, not self.gallery.children)
        self.clear_button.disabled = not any(t.done for t in self.gallery.tiles)

    def _retry(self, tile: TaskTile) -> None:
        """Resume the same task when it may still finish (no second charge); send a new one only
        when the task failed or was never created."""
        if self._closed:
            return
        resume = tile.retry_mode == "resume"
        if not resume:  # resuming spends nothing new: the task is already counted
            try:
                self._check_budget([tile.request])
            except BudgetExceededError as exc:
                self._set_message(str(exc))
                return
        loop = self._loop()
        if loop is None:
            self._set_message("The Studio needs a running asyncio event loop (use it in Jupyter).")
            return
        self._set_message("")
        tile.start(resume=resume)
        self._launch(tile, loop, resume=resume)
        self._refresh()

    def _use_as_source(self, tile: TaskTile, url: str) -> None:
        urls = list(self.sources)
        if url not in urls:
            urls.append(url)
        self.sources = urls
        self.mode = "remix_image"
        self._set_message(f"Added the {tile.request.label} result ({tile.task_id}) as a remix source.",
                          info=True)

    def _on_upload(self, change: Any) -> None:
        files = tuple(change.new or ())
        if not files or self._closed:
            return
        # The bytes leave widget state at once: otherwise they would be saved with the notebook.
        self.upload_input.value = ()
        loop = self._loop()
        if loop is None:
            self.fields["source_image_urls"].set_note("Uploading needs a running asyncio event loop.")
            return
        names = [str(f.get("name") or f"file {i + 1}") for i, f in enumerate(files)]
        self._upload_progress(names, 0)
        job = loop.create_task(self._upload_files(files, names))
        self._uploads.add(job)
        job.add_done_callback(self._uploads.discard)

    def _upload_progress(self, names: list[str], finished: int) -> None:
        self.fields["source_image_urls"].set_note(
            f"Uploading {', '.join(names)}… {finished}/{len(names)} done")

    async def _upload_files(self, files: tuple[Mapping[str, Any], ...], names: list[str]) -> None:
        """Upload the chosen files together; add their URLs in the order chosen."""
        finished = 0

        async def one(f: Mapping[str, Any], name: str) -> str:
            nonlocal finished
            try:
                return await self._client.upload(f["content"], filename=name)
            finally:
                finished += 1
                if finished < len(files):
                    self._upload_progress(names, finished)

        results = await asyncio.gather(*(one(f, n) for f, n in zip(files, names, strict=True)),
                                       return_exceptions=True)
        urls = [r for r in results if isinstance(r, str)]
        if urls and not self._closed:
            self.sources = [*self.sources, *(u for u in urls if u not in self.sources)]
        store = "the simulator's file storage" if self.simulated else "RunAPI's file storage"
        notes = []
        if urls:
            many = "s" if len(urls) != 1 else ""
            notes.append(f"Uploaded {len(urls)} file{many} to {store} (temporary URL{many}, about 7 days)")
        notes += [f"⚠ {r}" if name in str(r) else f"⚠ {name}: {r}"
                  for name, r in zip(names, results, strict=True) if isinstance(r, BaseException)]
        self.fields["source_image_urls"].set_note(" · ".join(notes))

    def _open_image(self, tile: TaskTile, image: GeneratedImage) -> None:
        if self.viewer.shown is image:
            self.viewer.hide()
        else:
            self.viewer.show(image, f"{tile.request.label} · {tile.task_id}")

    def _record(self, gen: Generation) -> None:
        if any(g.id == gen.id for g in self.generations):
            return  # resumed after the image failed to show: already counted once
        self.generations.append(gen)
        if gen.simulated != self.simulated:
            # The server settled what the address only suggested (a tunnel to the real
            # service, or a simulator somewhere): the badge and the wording follow it.
            self.simulated = gen.simulated
            self.badge.value = self._badge_html()
        self.session_billed = sum_costs(g.cost for g in self.generations if g.cost_source == "billed")[0]
        self.session_estimated = sum_costs(g.cost for g in self.generations if g.cost_source != "billed")[0]
        self.session_total = round(self.session_billed + self.session_estimated, 6)
        self._render_session()
        self._render_cost()

    # -- rendering --------------------------------------------------------------------------------
    def _badge_html(self) -> str:
        if self.simulated:
            return (f'<span class="f2w-badge f2w-badge--sim" title="{esc(SIM_BADGE_TIP)}">'
                    f"{esc(SIM_BADGE)}</span>")
        host = urlsplit(self._client.base_url).netloc or self._client.base_url
        hint = getattr(self._client, "key_hint", "")
        return f'<span class="f2w-badge f2w-badge--live">{esc(f"LIVE · {host} · key {hint}")}</span>'

    def _render_session(self) -> None:
        n = len(self.generations)
        if self.simulated:
            text = f"Session: would have cost {format_usd(self.session_total)}"
            if self.session_estimated:
                text += " (partly estimated)"
        elif self.session_estimated and self.session_billed:
            text = (f"Session: {format_usd(self.session_billed)} billed + "
                    f"{format_usd(self.session_estimated, approx=True)} estimated")
        elif self.session_estimated:
            text = f"Session: {format_usd(self.session_estimated, approx=True)} (estimated)"
        else:
            text = f"Session: {format_usd(self.session_billed)}" + (" billed" if n else "")
        unknown = sum(g.cost is None for g in self.generations)
        if unknown:
            text += f" + {unknown} at an unknown price"
        self.session_text = text
        images = f"{n} image{'s' if n != 1 else ''}"
        self.session_label.value = f"{esc(text)} <small>· {images}</small>"

    def _on_tier_or_mode(self, _change: Any) -> None:
        self._apply_constraints(switch=True)
        self._refresh()

    def _apply_constraints(self, *, switch: bool) -> None:
        """Disable what cannot apply, with the reason; after a tier/mode change, move off
        options that just became unavailable and say so."""
        info = TIER_INFO[self.tier]
        remix = self.mode == "remix_image"
        ratio_reasons = {}
        if not remix:
            ratio_reasons["auto"] = "keeps the source's ratio, so remix only"
        elif not info.allows_auto_ratio:
            ratio_reasons["auto"] = f"{info.label} needs a concrete ratio"
        self.ratio_input.set_reasons(ratio_reasons)
        only = " / ".join(info.resolutions)
        self.resolution_input.set_reasons(
            {r: f"{info.label} is {only} only" for r in RESOLUTIONS if r not in info.resolutions})
        self.sources_input.disabled = self.upload_input.disabled = not remix
        sources_field = self.fields["source_image_urls"]
        # Out of remix the field only takes room (and pushes Generate down): hide it.
        show(sources_field, remix)
        if remix:
            many = f"up to {info.max_sources}" if info.max_sources > 1 else "exactly one"
            sources_field.set_hint(f"{info.label} takes {many}. {REMIX_HINT}")
        else:
            sources_field.set_hint("Sources apply to remix only: switch Mode to Remix to use them.")
        for name, seg in (("aspect_ratio", self.ratio_input), ("resolution", self.resolution_input)):
            note = ""
            if switch and seg.is_disabled(seg.value) and seg.allowed:
                old, seg.value = seg.value, seg.allowed[0]
                note = f"switched from {old} to {seg.value}"
            self.fields[name].set_note(note)

    def _refresh(self) -> None:
        if self._closed:
            return
        self.fields["prompt"].set_hint(f"{len(self.prompt.strip())} / {PROMPT_MAX} characters "
                                       f"(at least {PROMPT_MIN})")
        self._render_cost()
        request: ImageRequest | None = None
        try:
            request = self.build_request()
        except ValidationError as exc:
            if self._attempted:
                self._show_validation(exc)
        else:
            self._show_validation(None)
        if self.request_toggle.value:
            if request is not None:
                self.request_inspector.show(request, self._client.base_url)
            else:
                self.request_inspector.clear()
        show(self.request_inspector, bool(self.request_toggle.value) and request is not None)

    def _render_cost(self) -> None:
        if self._closed:
            return
        n, tier, res = self.n_images, self.tier, self.resolution
        estimate = estimate_cost(tier, res, n) if res in TIER_INFO[tier].resolutions else None
        text = f"{n} × {tier_label(tier)} {res} — {cost_text(estimate, 'estimate', self.simulated)}"
        over = False
        if self.budget is not None:
            committed = self._committed()
            left = max(0.0, self.budget - committed)
            if estimate is not None and committed + estimate > self.budget + 1e-9:
                over = True
                text += f" · over the {format_usd(self.budget)} budget ({format_usd(left)} left)"
            else:
                text += f" · {format_usd(left)} of the {format_usd(self.budget)} budget left"
        if self._unsettled:
            text += f" · {self._unsettled_text()}"
        self.cost_text = text
        self.cost_line.value = esc(text)
        if over:
            self.cost_line.add_class("f2w-cost--over")
        else:
            self.cost_line.remove_class("f2w-cost--over")

    def _unsettled_text(self) -> str:
        """"$0.10 may still be billed by 2 stopped tasks" (they count toward the budget)."""
        amount = sum(cost for cost, _ in self._unsettled.values())
        counts = {kind: sum(k == kind for _, k in self._unsettled.values()) for kind in ("stopped", "lost")}
        who = []
        if counts["stopped"]:
            who.append(f"{counts['stopped']} stopped task{'s' if counts['stopped'] != 1 else ''}")
        if counts["lost"]:
            n = counts["lost"]
            who.append(f"{n} unfinished task{'s' if n != 1 else ''} (Resume to collect)")
        return f"{format_usd(amount)} may still be billed by {' and '.join(who)}"

    def _show_validation(self, exc: ValidationError | None) -> None:
        target = _FIELD_FOR.get(exc.field or "") if exc is not None else None
        for name, field in self.fields.items():
            field.set_error(exc.message if exc is not None and name == target else None)
        if exc is not None and target is None:
            self._set_message(exc.message)

    def _set_message(self, text: str, *, info: bool = False) -> None:
        self.message_text = redact(text)
        self.message.value = esc(text)
        if info:
            self.message.add_class("f2w-message--info")
        else:
            self.message.remove_class("f2w-message--info")
        show(self.message, bool(text))
