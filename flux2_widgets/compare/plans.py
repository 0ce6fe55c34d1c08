"""Plans: a comparison's cells built and checked (size, budget) before anything is sent."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..catalog import ImageRequest, tier_label
from ..errors import ValidationError
from ..money import check_budget, sum_costs, sum_text
from ._args import check_prompts, check_resolutions, check_tiers
from .cell import Cell
from .comparison import Comparison

__all__ = ["MAX_CELLS", "Plan", "plan_for", "plan_grid", "plan_prompts", "plan_resolutions", "plan_tiers"]

#: Largest comparison one call may start; bigger plans are almost always a mistake
#: (and a projector cannot show them anyway).
MAX_CELLS = 48


def _col_label(tier: str, resolution: str) -> str:
    return f"{tier_label(tier)} · {resolution}"


def _check_size(n: int, what: str) -> None:
    if n > MAX_CELLS:
        raise ValidationError(
            f"{what} has {n} cells; one comparison runs at most {MAX_CELLS}. "
            "Split the prompts into smaller grids or drop a tier/resolution.",
            field="cells", value=n, allowed=f"<= {MAX_CELLS}")


@dataclass
class Plan:
    """A validated comparison that has not been sent: its cells and their estimate.
    ``plan_for`` builds one for the CompareWidget's live estimate."""

    helper: str
    cells: list[Cell]
    kind: str
    title: str
    row_labels: list[str]
    col_labels: list[str]
    what: str
    sides: list[tuple[str, str]] = field(default_factory=list)

    @property
    def estimate(self) -> tuple[float, int]:
        """(estimated USD of the priced cells, how many cells have no published price)."""
        return sum_costs(c.estimated_cost for c in self.cells)

    @property
    def estimate_text(self) -> str:
        total, unknown = self.estimate
        n = len(self.cells)
        return f"{n} image{'s' if n != 1 else ''}, about {sum_text(total, unknown)}"

    def check(self, budget: float | None) -> None:
        """Refuse a plan that is too big, or whose estimate passes ``budget``, before anything is sent."""
        _check_size(len(self.cells), self.what)
        check_budget([c.request for c in self.cells], budget, what=self.what)

    def launch(self, *, client: Any, budget: float | None, timeout: float | None, blind: bool = False,
               seed: int | None = None) -> Comparison:
        self.check(budget)
        _check_launch(client, timeout)
        if not isinstance(blind, bool):
            raise ValidationError(f"blind must be True or False, not {blind!r}", field="blind",
                                  value=blind, allowed=(True, False))
        if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
            raise ValidationError(f"seed must be an integer, not {seed!r}", field="seed", value=seed,
                                  allowed="int")
        return Comparison(self.cells, kind=self.kind, title=self.title, row_labels=self.row_labels,
                          col_labels=self.col_labels, sides=self.sides, client=client, budget=budget,
                          timeout=timeout, blind=blind, seed=seed).start()


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


def plan_grid(prompts: Any, tiers: Any, resolutions: Any, aspect_ratio: str) -> Plan:
    prompts_ = check_prompts(prompts)
    tiers_ = check_tiers(tiers)
    resolutions_ = check_resolutions(resolutions)
    what = (f"this grid ({len(prompts_)} prompt{'s' if len(prompts_) != 1 else ''} x "
            f"{len(tiers_)} tier{'s' if len(tiers_) != 1 else ''} x "
            f"{len(resolutions_)} resolution{'s' if len(resolutions_) != 1 else ''})")
    _check_size(len(prompts_) * len(tiers_) * len(resolutions_), what)
    combos = [(t, r) for t in tiers_ for r in resolutions_]
    cells: list[Cell] = []
    rows: list[str] = []
    for ri, p in enumerate(prompts_):
        for ci, (t, r) in enumerate(combos):
            req = ImageRequest(p, tier=t, resolution=r, aspect_ratio=aspect_ratio)
            if ci == 0:
                rows.append(req.prompt)
            cells.append(Cell(len(cells), ri, ci, req.prompt, _col_label(t, r), req))
    cols = [_col_label(t, r) for t, r in combos]
    title = f"Grid: {len(prompts_)} prompt{'s' if len(prompts_) != 1 else ''} x {', '.join(cols)}"
    return Plan("compare_grid", cells, "grid", title, rows, cols, what)


def plan_for(prompts: Sequence[str] | str, tiers: Sequence[str] | str, resolutions: Sequence[str] | str,
             aspect_ratio: str = "1:1") -> Plan:
    """Pick the helper that fits the inputs and validate its plan, sending nothing.

    One prompt with several tiers -> ``compare_tiers``; one prompt and tier with
    several resolutions -> ``compare_resolutions``; two prompts in one tier and
    resolution -> ``compare_prompts`` (A/B, with votes); anything else -> ``compare_grid``.
    """
    prompts_ = check_prompts(prompts)
    tiers_ = check_tiers(tiers)
    resolutions_ = check_resolutions(resolutions)
    if len(prompts_) == 1 and len(tiers_) > 1 and len(resolutions_) == 1:
        return plan_tiers(prompts_[0], tiers_, resolutions_[0], aspect_ratio)
    if len(prompts_) == 1 and len(tiers_) == 1 and len(resolutions_) > 1:
        return plan_resolutions(prompts_[0], tiers_[0], resolutions_, aspect_ratio)
    if len(prompts_) == 2 and len(tiers_) == 1 and len(resolutions_) == 1:
        return plan_prompts(prompts_[0], prompts_[1], tiers_[0], resolutions_[0], aspect_ratio)
    return plan_grid(prompts_, tiers_, resolutions_, aspect_ratio)
