"""Side-by-side comparisons: Pro vs Flex, 1k vs 2k, prompt A/B, and exploration grids.

Every helper validates its whole plan (tiers, resolutions, prompts, budget)
before a single request is sent, then starts the cells (as many at once as the
client runs, the rest as those end) and returns a :class:`Comparison` straight
away. :func:`grid` plans a grid on any axis (prompt lists, ``{slot}`` templates,
search-and-replace, tier, resolution, aspect ratio, remix sources), several takes
per place, and sends nothing until ``plan.run(...)``; past 48 images a run needs
``budget=`` (the estimate first). The comparison keeps its data (requests,
results, errors, votes, costs), exports it as rows / pandas / CSV, and shows
itself as a live widget grid in Jupyter (static HTML elsewhere).

How it runs, and how to wait for it:

- In a notebook cell (the kernel's loop is running) the cells run as tasks on
  that loop: the helper returns at once and the view fills in as each task
  completes, without blocking the kernel.
- In async code the comparison is awaitable: ``cmp = await compare_tiers(...)``
  (or ``await cmp`` later) returns the comparison once every cell is done.
- In a plain script (no loop) the helper submits every task before returning,
  on the same per-thread private loop the sync client uses, so the service is
  already working; ``cmp.wait()`` then polls and downloads.
- ``cmp.wait(timeout=None)`` works everywhere; in a notebook cell it nests
  on the kernel's loop (nest_asyncio2, applied only then).

This module imports no ipywidgets: the widget view loads on first display.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from .axes import MAX_GRID_IMAGES, Axis, GridPlan, expand_grid, grid
from .cell import Cell, Position
from .comparison import Comparison
from .costs import CostTable, cost_table
from .plans import MAX_CELLS, Plan, plan_for, plan_grid, plan_prompts, plan_resolutions, plan_tiers
from .stats import VoteTally, tally_votes, wilson_interval

if TYPE_CHECKING:  # pragma: no cover
    from ..client._core import AsyncFlux2Client, Flux2Client

__all__ = [
    "Axis",
    "Cell",
    "Comparison",
    "GridPlan",
    "MAX_GRID_IMAGES",
    "Position",
    "expand_grid",
    "grid",
    "CostTable",
    "compare_tiers",
    "compare_resolutions",
    "compare_prompts",
    "compare_grid",
    "cost_table",
    "tally_votes",
    "VoteTally",
    "wilson_interval",
    "MAX_CELLS",
    "Plan",
    "plan_for",
]


def compare_tiers(prompt: str, tiers: Sequence[str] | str = ("pro", "flex"), resolution: str = "1k",
                  aspect_ratio: str = "1:1", client: AsyncFlux2Client | Flux2Client | None = None,
                  budget: float | None = None, *, timeout: float | None = None, blind: bool = False,
                  seed: int | None = None) -> Comparison:
    """One prompt in several tiers, side by side (Pro vs Flex by default).

    Returns a running :class:`Comparison` at once; ``await`` it or call
    ``.wait()`` for the finished one. ``budget`` (USD) refuses the plan before
    anything is sent if its estimate is higher. ``timeout`` caps each task's wait.
    ``blind=True`` (two tiers) shows the sides in a shuffled order (from ``seed``,
    random when omitted, kept as ``cmp.seed``) with tier, cost and latency hidden
    until a vote is cast; see :func:`tally_votes` for the statistics.
    """
    plan = plan_tiers(prompt, tiers, resolution, aspect_ratio)
    return plan.launch(client=client, budget=budget, timeout=timeout, blind=blind, seed=seed)


def compare_resolutions(prompt: str, tier: str = "pro", resolutions: Sequence[str] | str = ("1k", "2k"),
                        aspect_ratio: str = "1:1", client: AsyncFlux2Client | Flux2Client | None = None,
                        budget: float | None = None, *, timeout: float | None = None, blind: bool = False,
                        seed: int | None = None) -> Comparison:
    """One prompt at several output resolutions in one tier (1k vs 2k by default);
    ``blind`` as in :func:`compare_tiers`."""
    plan = plan_resolutions(prompt, tier, resolutions, aspect_ratio)
    return plan.launch(client=client, budget=budget, timeout=timeout, blind=blind, seed=seed)


def compare_prompts(prompt_a: str, prompt_b: str, tier: str = "pro", resolution: str = "1k",
                    aspect_ratio: str = "1:1", client: AsyncFlux2Client | Flux2Client | None = None,
                    budget: float | None = None, *, timeout: float | None = None, blind: bool = False,
                    seed: int | None = None) -> Comparison:
    """Prompt A/B in the same tier and resolution. Record the winner with
    ``cmp.vote("a" | "b" | "tie", note=...)`` (or the buttons under the view);
    votes are kept on the object and exported by ``rows()`` / ``to_csv()``.
    ``blind=True`` shuffles the sides and hides the prompts, cost and latency until a
    vote (``cmp.vote("left" | "right" | "tie")``, or the arrow keys in the view)."""
    plan = plan_prompts(prompt_a, prompt_b, tier, resolution, aspect_ratio)
    return plan.launch(client=client, budget=budget, timeout=timeout, blind=blind, seed=seed)


def compare_grid(prompts: Sequence[str] | str, tiers: Sequence[str] | str = ("pro", "flex"),
                 resolutions: Sequence[str] | str = ("1k",), aspect_ratio: str = "1:1",
                 client: AsyncFlux2Client | Flux2Client | None = None, budget: float | None = None,
                 *, timeout: float | None = None, takes: int = 1, skip_unoffered: bool = False) -> Comparison:
    """Every prompt x tier x resolution, ``takes`` images each: rows are prompts, columns
    ``Pro · 1k`` etc. (for any other axis, see :func:`grid`).

    Combinations a tier does not offer (Max at 2k) are refused with the reason before
    anything is sent, or with ``skip_unoffered=True`` left empty with it. More than 48
    images run only with ``budget=``: the refusal shows the estimate (images, cost, time).
    """
    plan = plan_grid(prompts, tiers, resolutions, aspect_ratio, takes, skip_unoffered=skip_unoffered)
    return plan.launch(client=client, budget=budget, timeout=timeout)
