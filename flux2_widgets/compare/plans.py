"""Plans: a comparison's cells built and checked (size, budget) before anything is sent.

The estimate-first rule for big grids: a plan of more than :data:`MAX_CELLS` images runs
only with a ``budget=``. Without one it is refused with its estimate (images, cost, time),
so nobody starts a few hundred paid images without having read what they cost; the budget
is then checked (``money.check_budget``) over every image. ``axes.MAX_GRID_IMAGES`` stays
the hard limit.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..catalog import TYPICAL_LATENCY, ImageRequest, tier_label
from ..errors import ValidationError
from ..money import check_budget, sum_costs, sum_text
from ._args import check_prompts, check_resolutions, check_tiers
from .axes import Axis, expand_grid
from .cell import Cell
from .comparison import DEFAULT_WINDOW, Comparison, _window_of

if TYPE_CHECKING:  # pragma: no cover
    from .axes import GridPlan, SkippedCell

__all__ = ["MAX_CELLS", "Plan", "duration_text", "estimated_seconds", "launch_grid", "plan_for",
           "plan_from_grid", "plan_grid", "plan_prompts", "plan_resolutions", "plan_tiers"]

#: Most images a comparison runs without a budget: past it, the estimate must have been
#: read and a budget given (see the module docstring).
MAX_CELLS = 48


def _col_label(tier: str, resolution: str) -> str:
    return f"{tier_label(tier)} · {resolution}"


def estimated_seconds(requests: Sequence[ImageRequest], window: int = DEFAULT_WINDOW) -> float | None:
    """Rough wall time of ``requests`` run ``window`` at once (a comparison's pace), from the
    catalog's typical live latencies, in plan order into the first free place; ``None`` when
    a latency is unknown. An order of magnitude: the service's queue is not known."""
    latencies = [TYPICAL_LATENCY.get((r.tier, r.resolution)) for r in requests]
    if any(t is None for t in latencies):
        return None
    places = [0.0] * max(1, min(window, len(latencies)))
    for t in latencies:
        i = places.index(min(places))
        places[i] += t or 0.0
    return max(places)


def duration_text(seconds: float | None) -> str:
    """``about 40 s``, ``about 6 min``, ``about 1 h 20 min``; ``time n/a`` when unknown."""
    if seconds is None:
        return "time n/a"
    if seconds < 90:
        return f"about {max(1, round(seconds))} s"
    minutes = round(seconds / 60)
    if minutes < 90:
        return f"about {minutes} min"
    return f"about {minutes // 60} h {minutes % 60:02d} min"


@dataclass
class Plan:
    """A validated comparison that has not been sent: its cells (one per image) and their
    estimate. ``plan_for`` builds one for the CompareWidget's live estimate; a grid's plan
    also keeps its :class:`~flux2_widgets.compare.axes.GridPlan` (``grid``)."""

    helper: str
    cells: list[Cell]
    kind: str
    title: str
    row_labels: list[str]
    col_labels: list[str]
    what: str
    sides: list[tuple[str, str]] = field(default_factory=list)
    page_labels: list[str] = field(default_factory=lambda: [""])
    skipped: Sequence[SkippedCell] = ()
    axes: list[str] = field(default_factory=list)
    grid: GridPlan | None = None

    @property
    def requests(self) -> list[ImageRequest]:
        return [c.request for c in self.cells]

    @property
    def estimate(self) -> tuple[float, int]:
        """(estimated USD of the priced cells, how many cells have no published price)."""
        return sum_costs(c.estimated_cost for c in self.cells)

    def seconds(self, window: int = DEFAULT_WINDOW) -> float | None:
        """Rough wall time, ``window`` at once (see :func:`estimated_seconds`)."""
        return estimated_seconds(self.requests, window)

    @property
    def estimate_text(self) -> str:
        """``24 images, about $1.20, about 40 s`` (time at typical live latencies, 8 at once)."""
        total, unknown = self.estimate
        n = len(self.cells)
        text = (f"{n} image{'s' if n != 1 else ''}, about {sum_text(total, unknown)}, "
                f"{duration_text(self.seconds())}")
        if self.skipped:
            text += f" ({len(self.skipped)} not offered, skipped)"
        return text

    def check(self, budget: float | None, window: int = DEFAULT_WINDOW) -> None:
        """Refuse, before anything is sent, a big plan with no budget (the estimate-first
        rule) and a plan whose estimate passes ``budget``."""
        n = len(self.cells)
        if n > MAX_CELLS and budget is None:
            total, unknown = self.estimate
            if unknown:
                fix = ("some prices are not published, so no budget can cap it: drop that tier, or split "
                       f"it into grids of at most {MAX_CELLS} images")
            else:
                fix = (f"read the estimate, then pass budget= in US dollars to run it (for example "
                       f"budget={math.ceil(total * 100 - 1e-6) / 100:.2f})")
            raise ValidationError(
                f"{self.what} makes {n} images, about {sum_text(total, unknown)}, "
                f"{duration_text(self.seconds(window))} at typical live latencies ({window} at once). "
                f"Past {MAX_CELLS} images a comparison runs only with a budget: {fix}. Nothing was sent.",
                field="budget", value=None, allowed=f"a budget in USD for more than {MAX_CELLS} images")
        check_budget(self.requests, budget, what=self.what)

    def launch(self, *, client: Any, budget: float | None, timeout: float | None, blind: bool = False,
               seed: int | None = None) -> Comparison:
        self.check(budget, _window_of(client))
        _check_launch(client, timeout)
        if budget is not None:  # and again at what the service charges, which the cap is about
            from .comparison import _client_source

            client = _client_source(client)
            check_budget(self.requests, budget, what=self.what, prices=cap_prices_of(client))
        if not isinstance(blind, bool):
            raise ValidationError(f"blind must be True or False, not {blind!r}", field="blind",
                                  value=blind, allowed=(True, False))
        if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
            raise ValidationError(f"seed must be an integer, not {seed!r}", field="seed", value=seed,
                                  allowed="int")
        return Comparison(self.cells, kind=self.kind, title=self.title, row_labels=self.row_labels,
                          col_labels=self.col_labels, sides=self.sides, client=client, budget=budget,
                          timeout=timeout, blind=blind, seed=seed, page_labels=self.page_labels,
                          skipped=self.skipped, axes=self.axes).start()




def cap_prices_of(client: Any) -> Any:
    """The service's live prices, to check a cap against, from a sync or async client and
    from plain code or a running loop (``AsyncFlux2Client.cap_prices``: refused, nothing
    sent, while the price list cannot be read)."""
    from .._sync import run_sync

    return run_sync(getattr(client, "aio", client).cap_prices())


def _check_launch(client: Any, timeout: Any) -> None:
    from .._checks import check_number
    from ..client._core import AsyncFlux2Client, Flux2Client

    if client is not None and not isinstance(client, (AsyncFlux2Client, Flux2Client)):
        raise ValidationError(f"client must be a Flux2Client or AsyncFlux2Client (or None for the "
                              f"default), got {type(client).__name__}", field="client", value=client,
                              allowed="Flux2Client, AsyncFlux2Client or None")
    check_number("timeout", timeout, optional=True)


def _one_row(helper: str, kind: str, title: str, what: str, requests: list[ImageRequest],
             sides: list[tuple[str, str]]) -> Plan:
    """One prompt side by side; cell ``i`` is the side ``sides[i]`` a vote can pick."""
    prompt = requests[0].prompt
    cols = [_col_label(req.tier, req.resolution) for req in requests]
    cells = [Cell(i, 0, i, prompt, cols[i], req, side=key)
             for i, (req, (key, _)) in enumerate(zip(requests, sides, strict=True))]
    return Plan(helper, cells, kind, title, [prompt], cols, what, sides)


# The aspect ratio (like the prompt) is checked by ImageRequest, with the allowed choices.
def plan_tiers(prompt: str, tiers: Any, resolution: str, aspect_ratio: str) -> Plan:
    tiers_ = check_tiers(tiers)
    requests = [ImageRequest(prompt, tier=t, resolution=resolution, aspect_ratio=aspect_ratio)
                for t in tiers_]
    return _one_row("compare_tiers", "tiers",
                    f"{' vs '.join(tier_label(t) for t in tiers_)} at {requests[0].resolution}",
                    "this tier comparison", requests, [(t, tier_label(t)) for t in tiers_])


def plan_resolutions(prompt: str, tier: str, resolutions: Any, aspect_ratio: str) -> Plan:
    resolutions_ = check_resolutions(resolutions)
    requests = [ImageRequest(prompt, tier=tier, resolution=r, aspect_ratio=aspect_ratio)
                for r in resolutions_]
    return _one_row("compare_resolutions", "resolutions",
                    f"{tier_label(requests[0].tier)}: {' vs '.join(resolutions_)}",
                    "this resolution comparison", requests, [(r, r) for r in resolutions_])


def plan_prompts(prompt_a: str, prompt_b: str, tier: str, resolution: str, aspect_ratio: str) -> Plan:
    req_a = ImageRequest(prompt_a, tier=tier, resolution=resolution, aspect_ratio=aspect_ratio)
    req_b = ImageRequest(prompt_b, tier=tier, resolution=resolution, aspect_ratio=aspect_ratio)
    if req_a.prompt.strip() == req_b.prompt.strip():  # spaces alone change nothing worth comparing
        raise ValidationError("prompt_a and prompt_b are the same; change one of them to compare",
                              field="prompt_b", value=prompt_b, allowed="a different prompt")
    row = _col_label(req_a.tier, req_a.resolution)
    cells = [Cell(0, 0, 0, row, "A", req_a, side="a"), Cell(1, 0, 1, row, "B", req_b, side="b")]
    return Plan("compare_prompts", cells, "prompts",
                f"Prompt A/B ({tier_label(req_a.tier)} · {req_a.resolution})", [row], ["A", "B"],
                "this A/B comparison", [("a", "A"), ("b", "B")])


def plan_grid(prompts: Any, tiers: Any, resolutions: Any, aspect_ratio: str, takes: int = 1, *,
              skip_unoffered: bool = False) -> Plan:
    """``compare_grid``'s plan: prompts down the side, tier x resolution across, ``takes``
    images each (the prompt, tier and resolution axes of :func:`~.axes.expand_grid`)."""
    prompts_ = check_prompts(prompts)
    tiers_ = check_tiers(tiers)
    resolutions_ = check_resolutions(resolutions)
    plan = expand_grid({"aspect_ratio": aspect_ratio}, rows=Axis.prompt(prompts_),
                       cols=[Axis.tier(tiers_), Axis.resolution(resolutions_)], takes=takes,
                       skip_unoffered=skip_unoffered)
    title = f"Grid: {len(prompts_)} prompt{'s' if len(prompts_) != 1 else ''} x {', '.join(plan.col_labels)}"
    if plan.takes > 1:
        title += f", {plan.takes} takes"
    return plan_from_grid(plan, helper="compare_grid", title=title)


def _grid_what(plan: GridPlan) -> str:
    """``this grid (animal: 25, tier: 2, 2 takes)``: how many values each axis has."""
    parts = [f"{a.name.replace('_', ' ')}: {len(a)}" for a in plan.axes]
    if plan.takes > 1:
        parts.append(f"{plan.takes} takes")
    return f"this grid ({', '.join(parts)})" if parts else "this grid"


def plan_from_grid(plan: GridPlan, *, helper: str = "grid", title: str | None = None) -> Plan:
    """A comparison's plan over a checked grid: one cell per image (a position x take), in
    the grid's order; the grid's skipped places come along with their reasons."""
    cells = [Cell(image.index, gc.row, gc.col, gc.row_label, gc.col_label, gc.request,
                  values=dict(gc.values), take=image.take, page=gc.page, takes=gc.takes,
                  page_label=gc.page_label)
             for image in plan.images for gc in (image.cell,)]
    return Plan(helper, cells, "grid", title or plan.title, list(plan.row_labels), list(plan.col_labels),
                _grid_what(plan), page_labels=list(plan.page_labels), skipped=plan.skipped,
                axes=[a.name for a in plan.axes], grid=plan)


def launch_grid(plan: GridPlan, *, client: Any = None, budget: float | None = None,
                timeout: float | None = None) -> Comparison:
    """Run a checked grid (``plan.run(...)``): the estimate-first rule and the budget over
    every image are checked before anything is sent."""
    from .axes import GridPlan

    if not isinstance(plan, GridPlan):
        raise ValidationError(f"launch_grid runs a GridPlan (from grid(...)), not {type(plan).__name__}",
                              field="plan", value=type(plan).__name__, allowed="GridPlan")
    return plan_from_grid(plan).launch(client=client, budget=budget, timeout=timeout)


def plan_for(prompts: Sequence[str] | str, tiers: Sequence[str] | str, resolutions: Sequence[str] | str,
             aspect_ratio: str = "1:1", takes: int = 1) -> Plan:
    """Pick the helper that fits the inputs and validate its plan, sending nothing.

    One prompt with several tiers -> ``compare_tiers``; one prompt and tier with
    several resolutions -> ``compare_resolutions``; two prompts in one tier and
    resolution -> ``compare_prompts`` (A/B, with votes); anything else, and anything
    with ``takes`` > 1 (several images per place), -> ``compare_grid``.
    """
    prompts_ = check_prompts(prompts)
    tiers_ = check_tiers(tiers)
    resolutions_ = check_resolutions(resolutions)
    if takes != 1:
        return plan_grid(prompts_, tiers_, resolutions_, aspect_ratio, takes)
    if len(prompts_) == 1 and len(tiers_) > 1 and len(resolutions_) == 1:
        return plan_tiers(prompts_[0], tiers_, resolutions_[0], aspect_ratio)
    if len(prompts_) == 1 and len(tiers_) == 1 and len(resolutions_) > 1:
        return plan_resolutions(prompts_[0], tiers_[0], resolutions_, aspect_ratio)
    if len(prompts_) == 2 and len(tiers_) == 1 and len(resolutions_) == 1:
        return plan_prompts(prompts_[0], prompts_[1], tiers_[0], resolutions_[0], aspect_ratio)
    return plan_grid(prompts_, tiers_, resolutions_, aspect_ratio, takes)
