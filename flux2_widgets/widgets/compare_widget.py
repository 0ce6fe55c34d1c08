"""``CompareWidget``: the comparison helpers behind controls, for people who prefer clicking.

Type one prompt per line, pick tiers and resolutions, press Run. The widget picks the
helper that fits (see :func:`flux2_widgets.compare.plan_for`) and calls it exactly as
code would, so a click and ``compare_tiers(...)`` give the same comparison:

- one prompt, several tiers            -> ``compare_tiers``
- one prompt, one tier, several sizes  -> ``compare_resolutions``
- two prompts, one tier and resolution -> ``compare_prompts`` (A/B, with vote buttons)
- anything else, or more than one take -> ``compare_grid`` (``takes=``)

The estimate beside Run (images, cost, time) updates as you type; invalid input and
plans over the budget are explained there and never sent. Past 48 images a run needs
a budget (the estimate first, as in code). The widget holds a client object but no key.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets
from traitlets import TraitError, Tuple, observe, validate

from .. import compare as _compare
from .._loops import HomeLoop, running_loop
from ..catalog import ASPECT_RATIOS, RESOLUTIONS, TIERS, tier_label
from ..errors import Flux2Error
from ._dom import close_tree, esc, html_box, show, tier_tooltip
from ._static import compare_widget_html, with_twin
from ._style import style_widget
from .controls import Field, Segmented, toggle_buttons

if TYPE_CHECKING:  # pragma: no cover
    from ..client._core import AsyncFlux2Client, Flux2Client
    from ..compare import Comparison

__all__ = ["CompareWidget", "MultiToggle"]

#: Runs whose views stay on screen (newest first).
_KEEP_VIEWS = 4
#: Most takes (images per place) the control offers.
MAX_TAKES = 8


class MultiToggle(widgets.HBox):
    """A row of on/off buttons; ``value`` is the tuple of the selected options, in order."""

    value = Tuple()

    def __init__(self, options: Iterable[tuple[str, str]], value: Iterable[str] = (),
                 tooltips: dict[str, str] | None = None, **kwargs: Any) -> None:
        self._syncing = False
        self.buttons = toggle_buttons(options, tooltips or {}, self._on_button)
        super().__init__(children=tuple(self.buttons.values()), **kwargs)
        self.add_class("f2w-seg")
        self.value = tuple(v for v in self.buttons if v in set(value))

    def _on_button(self, _change: Any) -> None:
        if not self._syncing:
            self.value = tuple(v for v, b in self.buttons.items() if b.value)

    @validate("value")
    def _check(self, proposal: Any) -> tuple[str, ...]:
        unknown = set(proposal.value) - set(self.buttons)
        if unknown:
            raise TraitError(f"unknown option(s) {sorted(unknown)}; use some of {list(self.buttons)}")
        return tuple(v for v in self.buttons if v in set(proposal.value))

    @observe("value")
    def _on_value(self, change: Any) -> None:
        self._syncing = True
        try:
            for v, b in self.buttons.items():
                b.value = v in change.new
        finally:
            self._syncing = False


class CompareWidget(widgets.VBox):
    """Controls (prompts, tiers, resolutions, aspect ratio, takes, budget) and a Run button;
    each run's live comparison appears below. ``comparison`` is the latest run,
    ``comparisons`` all of them (newest last)."""

    def __init__(self, prompts: Iterable[str] | str = (), *, tiers: Iterable[str] = ("pro", "flex"),
                 resolutions: Iterable[str] = ("1k",), aspect_ratio: str = "1:1",
                 budget: float | None = None, client: AsyncFlux2Client | Flux2Client | None = None,
                 timeout: float | None = None, takes: int = 1, **kwargs: Any) -> None:
        if isinstance(takes, bool) or takes not in range(1, MAX_TAKES + 1):
            from ..errors import ValidationError

            raise ValidationError(f"takes is the number of images per place, 1-{MAX_TAKES}, not {takes!r}",
                                  field="takes", value=takes, allowed=f"1-{MAX_TAKES}")
        self.client = client
        self.timeout = timeout
        self.comparison: Comparison | None = None
        # The loop of the cell that built the widget: comparisons started by a click run
        # there, beside the client's other work, whatever thread delivers the click.
        loop = running_loop()
        self._home: HomeLoop | None = HomeLoop(loop) if loop is not None else None
        self.comparisons: list[Comparison] = []
        self.plan: _compare.Plan | None = None
        if isinstance(prompts, str):
            prompts = [prompts]

        self.prompts = widgets.Textarea(value="\n".join(prompts), rows=3,
                                        placeholder="one prompt per line (two prompts = A/B test)",
                                        layout=widgets.Layout(width="100%"))
        self.prompts.add_class("f2w-prompt")
        self.tiers = MultiToggle([(tier_label(t), t) for t in TIERS], tiers,
                                 tooltips={t: tier_tooltip(t) for t in TIERS})
        self.resolutions = MultiToggle([(r, r) for r in RESOLUTIONS], resolutions,
                                       tooltips={"1k": "about 1 megapixel", "2k": "about 4 megapixels"})
        self.aspect_ratio = Segmented(ASPECT_RATIOS, aspect_ratio)
        self.budget = widgets.Text(value="" if budget is None else f"{budget:g}", placeholder="no cap",
                                   layout=widgets.Layout(width="110px"))
        self.takes = widgets.Dropdown(options=list(range(1, MAX_TAKES + 1)), value=takes,
                                      layout=widgets.Layout(width="80px"))
        self.prompt_field = Field("Prompts", self.prompts, hint="one per line")
        self.tier_field = Field("Tiers", self.tiers)
        self.resolution_field = Field("Resolutions", self.resolutions)
        self.ratio_field = Field("Aspect ratio", self.aspect_ratio)
        self.budget_field = Field("Budget (USD)", self.budget,
                                  hint="refuse runs estimated above this; needed past 48 images")
        self.takes_field = Field("Takes", self.takes, hint="images per place (more than 1 makes a grid)")

        self.run_button = widgets.Button(description="Run", icon="play", button_style="primary",
                                         tooltip="start every cell at once")
        self.run_button.add_class("f2w-generate")
        self.run_button.on_click(lambda _b: self._run_clicked())
        self.estimate = html_box("", "f2w-cost")
        self.message = html_box("", "f2w-message")
        show(self.message, False)
        self.output = widgets.VBox()

        left = widgets.VBox((self.prompt_field, self.ratio_field, self.takes_field))
        left.add_class("f2w-col")
        right = widgets.VBox((self.tier_field, self.resolution_field, self.budget_field))
        right.add_class("f2w-col")
        panel = widgets.HBox((left, right))
        panel.add_class("f2w-panel")
        bar = widgets.HBox((self.run_button, self.estimate))
        bar.add_class("f2w-actionbar")
        super().__init__(children=(style_widget(), panel, bar, self.message, self.output), **kwargs)
        self.add_class("f2w")
        self.add_class("f2w-studio")
        for control in (self.prompts, self.tiers, self.resolutions, self.aspect_ratio, self.budget,
                        self.takes):
            control.observe(lambda _c: self._replan(), "value")
        self._replan()

    # -- reading the controls ---------------------------------------------------------
    @property
    def prompt_list(self) -> list[str]:
        return [line.strip() for line in self.prompts.value.splitlines() if line.strip()]

    @property
    def budget_value(self) -> float | None:
        """The budget box as dollars; ``None`` when empty. Raises ``ValueError`` on junk."""
        text = self.budget.value.strip().lstrip("$").strip()
        if not text:
            return None
        try:
            value = float(text)
        except ValueError:
            raise ValueError(f"budget {self.budget.value!r} is not a number of dollars, e.g. 0.50") from None
        if value < 0:
            raise ValueError("budget must be 0 or more dollars")
        return value

    def _replan(self) -> None:
        """Validate the controls and show which helper will run and what it costs."""
        self.plan = None
        for f in (self.prompt_field, self.tier_field, self.resolution_field, self.budget_field,
                  self.takes_field):
            f.set_error(None)
        try:
            budget = self.budget_value
        except ValueError as exc:
            self.budget_field.set_error(str(exc))
            return self._estimate_line("fix the budget", blocked=True)
        try:
            plan = _compare.plan_for(self.prompt_list, self.tiers.value, self.resolutions.value,
                                     self.aspect_ratio.value or "", self.takes.value)
        except Flux2Error as exc:
            field = getattr(exc, "field", "") or ""
            fields = {"tiers": self.tier_field, "tier": self.tier_field, "resolutions": self.resolution_field,
                      "resolution": self.resolution_field, "takes": self.takes_field}
            target = fields.get(field, self.prompt_field)
            target.set_error(exc.message)
            return self._estimate_line("fix the highlighted field", blocked=True)
        self.plan = plan
        try:
            plan.check(budget)
        except Flux2Error as exc:
            self.budget_field.set_error(exc.message)
            over = True
        else:
            over = False
        return self._estimate_line(f"{plan.helper}: {plan.estimate_text}", blocked=over)

    def _estimate_line(self, text: str, *, blocked: bool) -> None:
        """The line beside Run; ``blocked``: shown in red, and Run is disabled."""
        self.estimate.value = esc(text)
        if blocked:
            self.estimate.add_class("f2w-cost--over")
        else:
            self.estimate.remove_class("f2w-cost--over")
        self.run_button.disabled = blocked

    # -- running ------------------------------------------------------------------
    def run(self) -> Comparison | None:
        """What Run does: call the matching helper, show its live view on top.
        Returns the comparison, or ``None`` when the inputs were refused (see ``message``)."""
        self._replan()
        self._say("")
        if self.plan is None or self.run_button.disabled:
            self._refused(self._first_error())
            return None
        prompts, tiers, resolutions = self.prompt_list, self.tiers.value, self.resolutions.value
        ratio, budget = self.aspect_ratio.value, self.budget_value
        common: dict[str, Any] = {"aspect_ratio": ratio, "client": self.client, "budget": budget,
                                  "timeout": self.timeout}
        try:
            helper = self.plan.helper
            if helper == "compare_tiers":
                cmp = _compare.compare_tiers(prompts[0], tiers, resolutions[0], **common)
            elif helper == "compare_resolutions":
                cmp = _compare.compare_resolutions(prompts[0], tiers[0], resolutions, **common)
            elif helper == "compare_prompts":
                cmp = _compare.compare_prompts(prompts[0], prompts[1], tiers[0], resolutions[0], **common)
            else:
                cmp = _compare.compare_grid(prompts, tiers, resolutions, takes=self.takes.value, **common)
        except Flux2Error as exc:
            self._refused(exc.message)
            return None
        self.comparison = cmp
        self.comparisons.append(cmp)
        cmp.on_change(self._on_run_change)
        kept = self.output.children[: _KEEP_VIEWS - 1]
        for old in self.output.children[_KEEP_VIEWS - 1:]:
            old.close()  # older runs stay in .comparisons; their tiles need not stay on screen
        self.output.children = (cmp.view(), *kept)
        return cmp

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        # Readers without widgets see the latest runs' results, refreshed as each one settles.
        return with_twin(self, super()._repr_mimebundle_(**kwargs), lambda: compare_widget_html(self))

    def _on_run_change(self, cell: Any) -> None:
        twin = getattr(self, "_static_twin", None)
        if cell is None and twin is not None:
            twin.refresh()

    def _run_clicked(self) -> None:
        if self._home is None:
            self.run()
        else:  # a click may arrive on a kernel subshell's thread, with a loop of its own
            self._home.call(self.run)

    def close(self) -> None:
        """Close the controls and the runs' views (the comparisons themselves stay usable)."""
        for view in self.output.children:
            view.close()  # a ComparisonView also stops following its comparison
        self.output.children = ()
        close_tree(self, keep=style_widget())
        super().close()

    def _first_error(self) -> str:
        for f in (self.prompt_field, self.tier_field, self.resolution_field, self.budget_field,
                  self.takes_field):
            if f.error_text:
                return f.error_text
        return "check the inputs"

    def _refused(self, why: str) -> None:
        self._say(why if "Nothing was sent" in why else f"Nothing was sent: {why}")

    def _say(self, text: str) -> None:
        self.message.value = esc(text)
        show(self.message, bool(text))
