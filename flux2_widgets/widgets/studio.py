"""``Studio``: prompt, tier, mode, ratio, resolution, sources and Generate, with a live gallery.

A view over ``session.StudioSession``, which holds the runs, the budget ledger, collect/resume,
uploads and export: the Studio reads its controls, asks the session, and draws what the session
says. Generate returns at once: every task gets a tile that ticks while the task runs and shows
its image the moment it completes, in whatever order tasks finish. No trait or widget state
holds the key.

Two arrangements: the default (controls, then results below them), and ``presenter=True``
for a projector or an app (results beside the controls, in view the moment they arrive;
``large_type=True`` makes it readable from the back of a room). ``for_visitors=True`` is the
Studio a class app shows each visitor: no account details, no per-session cap (the workspace
budget and the visitor's quota hold), nothing from earlier sessions, no Save or curl.

Longer than most modules, for one job: the Studio's form (its controls, their constraints and
errors beside each control) and how it draws the session; the logic lives in the session.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterable
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
    tier_label,
)
from ..errors import BudgetExceededError, ValidationError
from ..money import format_usd
from ..results import Task
from ..runs import Run
from ..session import MAX_BATCH, StudioSession, check_batch_size
from ..session_lines import batch_shortfall
from ..store import ResultStore
from ._dom import button, esc, html_box, show, tier_tooltip
from ._style import style_widget
from .controls import Field, Segmented
from .gallery import Gallery
from .inspector import ImageViewer, RequestInspector
from .tile import TaskTile

if TYPE_CHECKING:  # pragma: no cover
    from ..client._core import AsyncFlux2Client, Flux2Client
    from ..results import GeneratedImage

__all__ = ["Studio", "MAX_BATCH"]

MODES = (("Text to image", "text_to_image"), ("Remix", "remix_image"))
#: ValidationError.field -> the Studio field that shows the message.
_FIELD_FOR = {"prompt": "prompt", "tier": "tier", "resolution": "resolution", "aspect_ratio": "aspect_ratio",
              "source_image_urls": "source_image_urls", "action": "mode", "budget": "budget",
              "n_images": "n_images"}
#: The wire's field names -> the Studio field that shows the service's message about it.
_FIELD_FOR_WIRE = {**_FIELD_FOR, "output_resolution": "resolution", "model": "tier",
                   "source_image_urls": "source_image_urls"}
SIM_BADGE = "SIMULATED · nothing is charged"
SIM_BADGE_TIP = ('No API key is configured, so a local simulator answers: images are placeholders '
                 'and costs read "would have cost". Set RUNAPI_API_KEY to use RunAPI.')
#: What a visitor of a class app is told: no key advice, no server, no account.
VISITOR_SIM_TIP = 'A local simulator answers: images are placeholders and costs read "would have cost".'
VISITOR_LIVE_BADGE = "LIVE · RunAPI · real money"
VISITOR_LIVE_TIP = "Images are made by RunAPI and paid from this class's budget."
#: What a tile offers a visitor: results are saved by the app already, and the request's
#: curl names the server (Save and Request are for notebooks).
VISITOR_TILE_ACTIONS = ("open", "download", "remix")
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
    #: What a class app's visitor may still spend ("" when the client has no visitor quota).
    quota_text = Unicode("")
    #: Tasks in flight.
    running = Int(0)
    #: Until the constructor has checked its values there is nothing to close.
    _closed = True

    def __init__(self, client: AsyncFlux2Client | Flux2Client | None = None, *, budget: float | None = None,
                 prompt: str = "", tier: str = "pro", mode: str = "text_to_image", aspect_ratio: str = "1:1",
                 resolution: str = "1k", n_images: int = 1, sources: Iterable[str] = (),
                 timeout: float | None = None, save_dir: str = "flux2_results",
                 tick_interval: float = 0.5, presenter: bool = False, large_type: bool = False,
                 for_visitors: bool = False, **kwargs: Any) -> None:
        # Every value is checked before a widget exists: a bad one is an error that names it,
        # never a silent clamp by a slider or a bounded box.
        if not isinstance(prompt, str):
            raise ValidationError(f"prompt must be text, got {type(prompt).__name__}", field="prompt",
                                  value=prompt, allowed=f"{PROMPT_MIN}-{PROMPT_MAX} characters")
        check_batch_size(n_images)
        _check_choice("tier", tier, TIERS)
        _check_choice("mode", mode, tuple(v for _, v in MODES))
        _check_choice("aspect_ratio", aspect_ratio, REMIX_ASPECT_RATIOS)
        _check_choice("resolution", resolution, RESOLUTIONS)
        if isinstance(sources, str):
            sources = (sources,)
        sources = tuple(sources)
        if not all(isinstance(u, str) for u in sources):
            raise ValidationError("sources must be image URLs (strings)", field="source_image_urls",
                                  value=sources, allowed="http(s) URLs")
        for name, flag in (("presenter", presenter), ("large_type", large_type),
                           ("for_visitors", for_visitors)):
            if not isinstance(flag, bool):
                raise ValidationError(f"{name} must be True or False, not {flag!r}", field=name,
                                      value=flag, allowed=(True, False))
        self.presenter, self.large_type, self.for_visitors = presenter, large_type, for_visitors
        # The form's convention, here too: a budget of 0 means no cap (the field's hint says so).
        self.session = StudioSession(client, budget=None if budget == 0 else budget, timeout=timeout,
                                     save_dir=save_dir)
        self.save_dir = save_dir
        self._attempted = False
        self._closed = False
        self._budget_error: ValidationError | None = None
        self._over = False
        self._problem: ValidationError | None = None
        #: Why Generate is disabled ("" when it is not).
        self.generate_reason = ""

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
        # A plain FloatText: a bounded one would clamp -1 to 0 ("no cap") without a word.
        self.budget_input = widgets.FloatText(value=self.session.budget or 0.0, step=0.5,
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
        self.quota_line = html_box("", "f2w-quota")
        self.message = html_box("", "f2w-message")
        self.message_text = ""

        # Generate sits right under the prompt: when the columns stack (a narrow
        # window, a projector) it stays next to what you type, not below the settings.
        # In presenter the message (a refusal, say) goes there too, in view of the click.
        left = widgets.VBox((self.fields["prompt"], self.fields["source_image_urls"], actionbar,
                             self.quota_line, *((self.message,) if presenter else ())))
        right = widgets.VBox(tuple(self.fields[k] for k in
                                   ("mode", "tier", "aspect_ratio", "resolution", "n_images", "budget")))
        right.add_class("f2w-settings")
        self.fields["aspect_ratio"].add_class("f2w-field--wide")
        if presenter:  # everything on one projector screen: a shorter prompt box, a full-width slider
            self.prompt_input.rows = 3
            self.count_input.layout.width = "100%"
        for col in (left, right):
            col.add_class("f2w-col")
        panel = widgets.HBox((left, right))
        panel.add_class("f2w-panel")

        self.request_inspector = RequestInspector()
        self.viewer = ImageViewer()
        self.empty_note = html_box("Results appear here, each the moment its task completes.", "f2w-empty")
        #: What Collect would fetch, in words (shown only when the run log holds such work).
        self.earlier_note = html_box("", "f2w-message", "f2w-message--info")
        self.gallery = Gallery(tick_interval=tick_interval, loop=self.session.home.loop)

        notes = (*(() if presenter else (self.message,)), self.earlier_note, self.request_inspector)
        results = (self.viewer, self.empty_note, self.gallery)
        if presenter:
            # Results beside the controls (a wide screen), each the moment it arrives; the
            # messages stay under Generate, where the click was.
            controls_box = widgets.VBox((panel, *notes))
            controls_box.add_class("f2w-stage-controls")
            results_box = widgets.VBox(results)
            results_box.add_class("f2w-stage-results")
            stage = widgets.HBox((controls_box, results_box))
            stage.add_class("f2w-stage")
            body: tuple[widgets.Widget, ...] = (stage,)
        else:
            body = (panel, *notes, *results)
        super().__init__(children=(style_widget(), header, *body), **kwargs)
        self.add_class("f2w")
        self.add_class("f2w-studio")
        for flag, cls in ((presenter, "f2w-presenter"), (large_type, "f2w-large"),
                          (for_visitors, "f2w-for-visitors")):
            if flag:
                self.add_class(cls)
        show(self.message, False)
        show(self.request_inspector, False)
        show(self.quota_line, False)
        if for_visitors:
            # The workspace budget and the visitor's quota hold; a cap of their own is noise,
            # and the request's curl names the server.
            show(self.fields["budget"], False)
            show(self.request_toggle, False)
        # The run log is read here and when Collect is clicked, not on every finished task
        # (file I/O on the notebook's loop): tasks of this session have tiles anyway.
        self._show_collect()
        if not for_visitors:  # a visitor's folder is new: nothing of theirs is stale
            self._tell_stale_creates()
        self.session.on_change(self._on_session)

        # -- wiring ------------------------------------------------------------------------------
        # Clicks may arrive on a kernel subshell's thread: the work (and every widget change it
        # makes) happens on the session's home loop.
        home = self.session.home
        self.generate_button.on_click(lambda _b: home.call(self.generate))
        self.stop_button.on_click(lambda _b: home.call(self.stop))
        self.collect_button.on_click(lambda _b: home.call(self.collect_unfinished))
        self.clear_button.on_click(lambda _b: home.call(self.clear))
        self.request_toggle.observe(lambda _c: self._refresh(), "value")
        self.upload_input.observe(self._on_upload, "value")
        for control in (self.mode_input, self.tier_input):
            control.observe(self._on_tier_or_mode, "value")
        for control in (self.prompt_input, self.sources_input, self.ratio_input, self.resolution_input,
                        self.count_input):
            control.observe(lambda _c: self._refresh(), "value")
        self.budget_input.observe(self._on_budget, "value")
        self.gallery.observe(lambda _c: self._render_gallery_state(), "children")
        self._apply_constraints(switch=False)
        self._render_gallery_state()
        self._render_session()
        self._refresh()
        self.session.refresh_balance()
        self.session.read_workspace_budget()

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        # Readers without widgets get a static twin, refreshed when a batch ends (see _sharing).
        from ._static import studio_twin

        return studio_twin(self, super()._repr_mimebundle_(**kwargs))

    # -- values (the controls are the state) ------------------------------------------------
    @property
    def client(self) -> AsyncFlux2Client:
        return self.session.client

    @property
    def store(self) -> ResultStore:
        return self.session.store

    @property
    def simulated(self) -> bool:
        return self.session.simulated

    @property
    def generations(self) -> list[Any]:
        return self.session.generations

    @property
    def timeout(self) -> float | None:
        return self.session.timeout

    @property
    def prompt(self) -> str:
        return self.prompt_input.value

    @prompt.setter
    def prompt(self, value: str) -> None:
        if not isinstance(value, str):
            raise ValidationError(f"prompt must be text, got {type(value).__name__}", field="prompt",
                                  value=value, allowed=f"{PROMPT_MIN}-{PROMPT_MAX} characters")
        self.prompt_input.value = value

    @property
    def tier(self) -> str:
        return self.tier_input.value or ""

    @tier.setter
    def tier(self, value: str) -> None:
        self.tier_input.value = _check_choice("tier", value, TIERS)

    @property
    def mode(self) -> str:
        return self.mode_input.value or ""

    @mode.setter
    def mode(self, value: str) -> None:
        self.mode_input.value = _check_choice("mode", value, tuple(v for _, v in MODES))

    @property
    def aspect_ratio(self) -> str:
        return self.ratio_input.value or ""

    @aspect_ratio.setter
    def aspect_ratio(self, value: str) -> None:
        self.ratio_input.value = _check_choice("aspect_ratio", value, REMIX_ASPECT_RATIOS)

    @property
    def resolution(self) -> str:
        return self.resolution_input.value or ""

    @resolution.setter
    def resolution(self, value: str) -> None:
        self.resolution_input.value = _check_choice("resolution", value, RESOLUTIONS)

    @property
    def n_images(self) -> int:
        return self.count_input.value

    @n_images.setter
    def n_images(self, value: int) -> None:
        self.count_input.value = check_batch_size(value)

    @property
    def sources(self) -> tuple[str, ...]:
        return tuple(line.strip() for line in self.sources_input.value.splitlines() if line.strip())

    @sources.setter
    def sources(self, urls: Iterable[str]) -> None:
        self.sources_input.value = "\n".join(urls)

    @property
    def budget(self) -> float | None:
        return self.session.budget

    @budget.setter
    def budget(self, value: float | None) -> None:
        self.session.set_budget(None if value == 0 else value)  # a negative or NaN cap raises
        self.budget_input.value = value or 0.0

    @property
    def tiles(self) -> tuple[TaskTile, ...]:
        return self.gallery.tiles

    @property
    def tasks(self) -> list[Run]:
        """The runs this Studio started that are still going."""
        return self.session.active

    @property
    def runs(self) -> list[Run]:
        """Every run of this Studio's session (the model each tile draws)."""
        return self.session.runs

    @property
    def uploads(self) -> tuple[asyncio.Task[Any], ...]:
        """File uploads (and settle-checks) still in flight."""
        return self.session.jobs

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
        return self.session.committed()

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
        try:
            runs = self.session.generate(request, self.n_images)
        except BudgetExceededError as exc:
            self._set_message(str(exc))
            return []
        tiles = [self.gallery.add(self._new_tile(run)) for run in runs]
        self._refresh()  # the budget line counts the tasks just started
        return tiles

    def rows(self) -> list[dict[str, Any]]:
        """One row per finished generation of this session, in completion order."""
        return self.session.rows()

    def to_csv(self, path: str | Path) -> Path:
        """Write ``rows()`` to a CSV file (prompt explorations, classroom records)."""
        return self.session.to_csv(path)

    def to_pandas(self) -> Any:
        return self.session.to_pandas()

    def unfinished(self) -> list[Task]:
        """Tasks this Studio's run log shows as submitted (to this endpoint) but never
        collected, e.g. by a kernel that died, and that no run here is following."""
        return self.session.unfinished()

    def collect_unfinished(self) -> list[TaskTile]:
        """What the Collect button does: a tile per task an earlier session left unfinished,
        each waiting for its task (nothing new is sent or charged), and a tile per create whose
        answer never came, sent again with its Idempotency-Key (the service returns the task if
        it made it). Their cost counts apart from this session's budget."""
        if self._closed:
            return []
        tiles = [self.gallery.add(self._new_tile(run)) for run in self.session.collect_unfinished()]
        self._show_collect()  # every unfinished task now has a tile
        self._refresh()
        return tiles

    def _tell_stale_creates(self) -> None:
        stale = self.session.unanswered(stale=True)
        if not stale:
            return
        oldest = min(stale, key=lambda e: e.submitted_at)
        keys = ", ".join(e.idempotency_key for e in stale[:3]) + (", …" if len(stale) > 3 else "")
        many = len(stale) > 1
        self._set_message(
            f"{len(stale)} create request{'s' if many else ''} sent over an hour ago (the oldest "
            f"{oldest.age_text()} ago) never got {'their answers' if many else 'its answer'}: not sent "
            "again, since the service may have forgotten the Idempotency-Key and a resend could bill a "
            "second image. Check your RunAPI account; client.resume(resend_within=None) sends them "
            f"anyway, and ResultStore.dismiss(key) drops one (key{'s' if many else ''}: {keys}).",
            info=True)

    def _show_collect(self) -> None:
        if self.for_visitors:  # earlier sessions are not the visitor's
            show(self.collect_button, False)
            show(self.earlier_note, False)
            return
        text = self.session.earlier_text()
        count = len(self.session.unfinished()) + len(self.session.unanswered()) if text else 0
        self.collect_button.description = f"Collect {count} earlier"
        self.collect_button.tooltip = text
        show(self.collect_button, count > 0)
        self.earlier_note.value = esc(text)
        show(self.earlier_note, bool(text))

    def stop(self) -> None:
        """Stop waiting for unfinished tasks (their tiles say "stopped" and offer Resume)."""
        self.session.stop()

    def clear(self) -> None:
        """What Clear does: remove finished tiles. Money a stopped task may still cost stays
        counted until the service says how it ended (the session asks at once)."""
        gone = [t.run for t in self.gallery.tiles if t.done]
        self.gallery.clear()
        self.session.forget(gone)
        self._render_gallery_state()
        self._render_cost()

    def close(self) -> None:
        """Cancel everything this Studio started and close its widgets."""
        if self._closed:
            return
        self._closed = True
        self.session.close()
        self.gallery.close()
        style = style_widget()
        for w in self._descendants():
            if w is not style and w is not self:
                w.close()
        super().close()

    def _new_tile(self, run: Run) -> TaskTile:
        options: dict[str, Any] = {"actions": VISITOR_TILE_ACTIONS} if self.for_visitors else {}
        return TaskTile(run, on_retry=self._retry, on_remix=self._use_as_source, on_open=self._open_image,
                        **options)

    def _descendants(self) -> list[widgets.Widget]:
        found: list[widgets.Widget] = []
        stack: list[Any] = list(self.children)
        while stack:
            w = stack.pop()
            if isinstance(w, widgets.Widget) and w not in found:
                found.append(w)
                stack.extend(getattr(w, "children", ()) or ())
        return found

    def _on_session(self, what: str) -> None:
        if self._closed:
            return
        if what == "runs":
            self.running = self.session.running
            self.stop_button.disabled = not self.session.running
            self._render_gallery_state()
            self._render_cost()
        elif what == "money":
            self._render_session()
            self._render_cost()
            self._gate()
        elif what in ("simulated", "balance"):
            self.badge.value = self._badge_html()
            self._render_session()
            self._render_cost()
        elif what == "server_errors":
            self._show_server_errors(self.session.server_errors)
        elif what == "error":
            self._set_message("Unexpected error in a background job; see the kernel log.")

    def _render_gallery_state(self) -> None:
        show(self.empty_note, not self.gallery.children)
        self.clear_button.disabled = not any(t.done for t in self.gallery.tiles)

    def _retry(self, run: Run) -> None:
        """Resume the same task when it may still finish (no second charge); send it again
        only when it may not have reached the service or failed there."""
        if self._closed:
            return
        try:
            self.session.retry(run)
        except BudgetExceededError as exc:
            self._set_message(str(exc))
            return
        self._set_message("")
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
        note = self.fields["source_image_urls"].set_note

        def done(urls: list[str], text: str) -> None:
            if urls:
                self.sources = [*self.sources, *(u for u in urls if u not in self.sources)]
            note(text)

        self.session.upload(files, on_progress=note, on_done=done)

    def _open_image(self, tile: TaskTile, image: GeneratedImage) -> None:
        if self.viewer.shown is image:
            self.viewer.hide()
        else:
            self.viewer.show(image, f"{tile.request.label} · {tile.task_id}")

    def _on_budget(self, change: Any) -> None:
        value = change.new
        try:
            if value is None or (isinstance(value, float) and math.isnan(value)):
                raise ValidationError("budget must be a number of US dollars >= 0 (0 = no cap)",
                                      field="budget", value=value, allowed=">= 0")
            self.session.set_budget(value or None)
        except ValidationError as exc:
            self.fields["budget"].set_error(exc.message)
            self._budget_error = exc
        else:
            self.fields["budget"].set_error(None)
            self._budget_error = None
        self._refresh()

    # -- rendering --------------------------------------------------------------------------------
    def _badge_html(self) -> str:
        if self.for_visitors:
            if self.simulated:
                return (f'<span class="f2w-badge f2w-badge--sim" title="{esc(VISITOR_SIM_TIP)}">'
                        f"{esc(SIM_BADGE)}</span>")
            return (f'<span class="f2w-badge f2w-badge--live" title="{esc(VISITOR_LIVE_TIP)}">'
                    f"{esc(VISITOR_LIVE_BADGE)}</span>")
        if self.simulated:
            # "no API key" only when there is none: a key whose server named itself as the
            # simulator is still simulated, but not keyless.
            keyless = self.client.key_hint == "simulator"
            text = SIM_BADGE.replace("SIMULATED", "SIMULATED · no API key") if keyless else SIM_BADGE
            return (f'<span class="f2w-badge f2w-badge--sim" title="{esc(SIM_BADGE_TIP)}">'
                    f"{esc(text)}</span>")
        host = urlsplit(self.client.base_url).netloc or self.client.base_url
        hint = getattr(self.client, "key_hint", "")
        text = f"LIVE · {host} · key {hint}"
        if self.session.balance is not None:
            text += f" · balance {format_usd(self.session.balance)}"
        return f'<span class="f2w-badge f2w-badge--live">{esc(text)}</span>'

    def _render_session(self) -> None:
        n = len(self.generations)
        with self.hold_trait_notifications():
            self.session_billed = self.session.billed
            self.session_estimated = self.session.estimated
            self.session_total = self.session.total
            self.session_text = self.session.session_text()
        images = f"{n} image{'s' if n != 1 else ''}"
        self.session_label.value = f"{esc(self.session_text)} <small>· {images}</small>"

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
            if switch and seg.is_disabled(seg.value or "") and seg.allowed:
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
        problem: ValidationError | None = None
        try:
            request = self.build_request()
        except ValidationError as exc:
            problem = exc
        problem = problem or self._budget_error
        # An empty prompt on a fresh Studio is not an error yet, just a form to fill in;
        # anything else wrong is said beside its control at once.
        started = self._attempted or bool(self.prompt.strip())
        if problem is None:
            self._show_validation(None)
        elif started or problem.field != "prompt":
            self._show_validation(problem)
        self._problem = problem
        self._gate()
        if self.request_toggle.value:
            if request is not None:
                self.request_inspector.show(request, self.client.base_url)
            else:
                self.request_inspector.clear()
        show(self.request_inspector, bool(self.request_toggle.value) and request is not None)

    def _gate(self) -> None:
        """Generate is off while the form is invalid or the batch would pass the budget, and
        says why (the cost line beside it says what would fit)."""
        problem = self._problem
        short = batch_shortfall(self.session, self.n_images, self.tier, self.resolution) if self._over else ""
        reason = problem.message if problem is not None else (
            f"not enough left: {short}" if short else
            f"over the budget: {self.cost_text.split(' · ', 1)[-1]}" if self._over else "")
        self.generate_reason = reason
        self.generate_button.disabled = bool(reason)
        self.generate_button.tooltip = (f"fix first: {reason}" if reason
                                        else "send the request(s) described above")

    def _render_cost(self) -> None:
        if self._closed:
            return
        text, over = self.session.estimate_text(self.n_images, self.tier, self.resolution)
        self._over = over
        self.cost_text = text
        self.cost_line.value = esc(text)
        if over:
            self.cost_line.add_class("f2w-cost--over")
        else:
            self.cost_line.remove_class("f2w-cost--over")
        quota = self.session.visitor_text(self.n_images, self.tier, self.resolution)
        self.quota_text = quota
        self.quota_line.value = esc(quota)
        if over:  # amber, not green, when what is left does not cover the batch
            self.quota_line.add_class("f2w-quota--short")
        else:
            self.quota_line.remove_class("f2w-quota--short")
        show(self.quota_line, bool(quota))

    def _show_validation(self, exc: ValidationError | None) -> None:
        target = _FIELD_FOR.get(exc.field or "") if exc is not None else None
        for name, field in self.fields.items():
            field.set_error(exc.message if exc is not None and name == target else None)
        if exc is not None and target is None:
            self._set_message(exc.message)

    def _show_server_errors(self, errors: dict[str, list[str]]) -> None:
        """The service's per-field messages beside the controls they are about (the wire's
        field names, e.g. output_resolution, mapped to the form's); the rest in the message."""
        rest = []
        for wire_field, messages in errors.items():
            name = _FIELD_FOR_WIRE.get(wire_field, wire_field)
            text = f"The service says: {'; '.join(messages)}"
            if name in self.fields:
                self.fields[name].set_error(text)
            else:
                rest.append(f"{wire_field}: {'; '.join(messages)}")
        if rest:
            self._set_message("The service refused the request: " + " · ".join(rest))

    def _set_message(self, text: str, *, info: bool = False) -> None:
        self.message_text = redact(text)
        self.message.value = esc(text)
        if info:
            self.message.add_class("f2w-message--info")
        else:
            self.message.remove_class("f2w-message--info")
        show(self.message, bool(text))


def _check_choice(name: str, value: Any, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ValidationError(f"{name} {value!r} is not allowed; use one of: {', '.join(allowed)}",
                              field=name, value=value, allowed=allowed)
    return value
