"""The budget cap: refuse a batch whose estimate would pass it, before sending.

One implementation for the client, the comparisons, the Studio and the CLI.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from .catalog import ImageRequest, format_usd, price, tier_label
from .errors import BudgetExceededError, ValidationError


def check_budget(requests: Iterable[ImageRequest], budget: float | None, spent: float = 0.0,
                 what: str = "this batch") -> float:
    """Return the batch's estimate in USD; raise ``BudgetExceededError`` (nothing sent)
    when ``spent`` plus the estimate would pass ``budget``, or when a price is
    unknown so the cap cannot be checked."""
    requests = list(requests)
    groups: Counter[tuple[str, str]] = Counter((r.tier, r.resolution) for r in requests)
    known = {k: price(*k) for k in groups}
    estimate = round(sum((p or 0.0) * groups[k] for k, p in known.items()), 6)
    if budget is None:
        return estimate
    if isinstance(budget, bool) or not isinstance(budget, (int, float)) or budget < 0:
        raise ValidationError(f"budget must be a number of US dollars >= 0 (or None), got {budget!r}",
                              field="budget", value=budget, allowed=">= 0")
    unknown = [k for k, p in known.items() if p is None]
    if unknown:
        names = ", ".join(f"{tier_label(t)} {r}" for t, r in unknown)
        raise BudgetExceededError(
            f"{what} cannot be checked against the budget of {format_usd(budget)}: the price of "
            f"{names} is not published (n/a). Nothing was sent. Drop that tier or pass budget=None.")
    if spent + estimate <= budget + 1e-9:
        return estimate
    breakdown = " + ".join(f"{n} x {tier_label(t)} {r} at {format_usd(known[(t, r)])}"
                           for (t, r), n in groups.items())
    left = max(0.0, budget - spent)
    cheapest = min(p for p in known.values() if p is not None)
    fits = int((left + 1e-9) // cheapest) if cheapest else 0
    hints = []
    if len(requests) > 1 and fits < len(requests):
        hints.append(f"at most {fits} image{'s' if fits != 1 else ''} at {format_usd(cheapest)} each")
    if any(r != "1k" for _, r in groups):
        hints.append("1k instead of 2k")
    if any(t != "pro" for t, _ in groups):
        hints.append("Pro instead of Flex")
    hints.append(f"a budget of at least {format_usd(spent + estimate)}")
    already = f" on top of {format_usd(spent)} already committed (spent or still running)" if spent else ""
    raise BudgetExceededError(
        f"{what} would cost about {format_usd(estimate)} ({breakdown}){already}, over the budget of "
        f"{format_usd(budget)}. Nothing was sent. Try {', or '.join(hints)}.")
