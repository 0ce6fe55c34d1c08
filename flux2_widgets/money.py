"""Money, in one place: how costs are summed, how they are worded, and the budget check.

The client, the comparisons, the widgets and the CLI all word and check money through
these functions, so "billed", "about" (an estimate), "would have cost" (simulated) and
"n/a" (no published price) mean the same thing everywhere.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable

from ._checks import check_number
from .catalog import ImageRequest, count_label, price, request_label
from .errors import BudgetExceededError

__all__ = ["BILLED", "ESTIMATE", "IN_FLIGHT", "MAY_BE_BILLED", "MONEY_STATES", "NOT_CHARGED", "PriceLookup",
           "catalog_price", "check_budget", "cost_text", "estimate", "format_usd", "money_note", "money_text",
           "session_text", "sum_costs", "sum_text"]

# -- what a run's money is -------------------------------------------------------------------
#: Nothing sent yet: what it would cost.
ESTIMATE = "estimate"
#: The create is out (or its task runs): it will be billed if it completes.
IN_FLIGHT = "in flight"
#: Work stopped or cut off after its create may have reached the service, whose outcome the
#: service has not told: it may finish there and be billed. Never "not charged" until it says.
MAY_BE_BILLED = "may still be billed"
#: The task completed: the service bills it (``usage.cost`` when it reports one).
BILLED = "billed"
#: Only when the service said the task failed, or refused the create (or nothing was sent).
NOT_CHARGED = "not charged"
MONEY_STATES = (ESTIMATE, IN_FLIGHT, MAY_BE_BILLED, BILLED, NOT_CHARGED)

#: USD per image of one request, ``None`` when unknown. The catalog's by default; a live
#: price list (``await client.prices()``) is one too.
PriceLookup = Callable[[ImageRequest], "float | None"]


def catalog_price(request: ImageRequest) -> float | None:
    """The offline price lookup: the catalog's published figures."""
    return price(request.tier, request.resolution)


def estimate(requests: Iterable[ImageRequest], prices: PriceLookup | None = None) -> tuple[float, int]:
    """(USD of the requests with a known price, how many have none)."""
    lookup = prices or catalog_price
    return sum_costs(lookup(r) for r in requests)


def format_usd(amount: float | None, *, approx: bool = False) -> str:
    """``$0.56``; ``n/a`` for unknown; ``about $0.56`` with ``approx``."""
    if amount is None:
        return "n/a"
    amount = amount or 0.0  # -0.0 reads $0.00, not $-0.00
    if 0 < amount < 0.001:  # real money never reads as $0.00
        return f"{'about ' if approx else ''}< $0.001"
    text = f"${amount:,.2f}" if amount >= 0.1 or amount == 0 else f"${amount:,.3f}".rstrip("0")
    if text.endswith("."):
        text += "00"
    return f"about {text}" if approx else text


def cost_text(amount: float | None, source: str = "estimate", simulated: bool = False) -> str:
    """How one cost reads everywhere: ``$0.24`` (billed), ``about $0.24`` (estimate),
    ``would have cost ...`` (simulated), ``price n/a`` (unknown)."""
    if amount is None:
        return "price n/a"
    text = format_usd(amount, approx=source != "billed")
    return f"would have cost {text}" if simulated else text


def money_text(state: str, amount: float | None, *, simulated: bool = False, reported: bool = True) -> str:
    """How one run's money reads everywhere (tiles, cells, exports, the CLI):

    ``about $0.05`` (estimate, in flight), ``may still be billed (about $0.05)``, ``$0.05`` (billed;
    ``about $0.05`` when the service did not report the amount: ``reported=False``),
    ``not charged``; simulated: ``would have cost ...``. Real money never reads as free while
    the service may bill it: only ``NOT_CHARGED`` says nothing is owed."""
    if state == NOT_CHARGED:
        return NOT_CHARGED
    if state == BILLED:
        return cost_text(amount, "billed" if reported else "estimate", simulated)
    text = format_usd(amount, approx=True) if amount is not None else "price n/a"
    if state == MAY_BE_BILLED:
        return f"would have cost {text} if it finishes" if simulated else f"may still be billed ({text})"
    return f"would have cost {text}" if simulated else text


def money_note(state: str, simulated: bool = False) -> str:
    """A short word on a state, for tables and tooltips."""
    return {
        ESTIMATE: "not sent",
        IN_FLIGHT: "running: billed if it completes",
        MAY_BE_BILLED: ("stopped or cut off: its task may still finish and be billed; refresh to ask "
                        "the service"),
        BILLED: "would have been billed (simulated)" if simulated else "billed by the service",
        NOT_CHARGED: "not charged (the service said it failed, or refused it)",
    }.get(state, state)


def sum_costs(values: Iterable[float | None]) -> tuple[float, int]:
    """(sum of the known values, how many were unknown)."""
    total, unknown = 0.0, 0
    for v in values:
        if v is None:
            unknown += 1
        else:
            total += v
    return round(total, 6), unknown


def sum_text(known: float | None, unknown: int) -> str:
    """A total that admits what it does not know: ``$0.38``, ``$0.38 + n/a``, ``n/a``."""
    if known is None or (unknown and known == 0):
        return "n/a"
    return format_usd(known) + (" + n/a" if unknown else "")


def session_text(billed: float, estimated: float, unknown: int, count: int, *, simulated: bool,
                 may_be_billed: float = 0.0) -> str:
    """A running total of finished work: what was billed, what is only estimated, what has no
    price, and what stopped work may still be billed, worded so real money never reads as free."""
    tail = ""
    if may_be_billed:
        word = "would have cost" if simulated else "may still be billed"
        tail = (f" + {format_usd(may_be_billed, approx=True)} stopped ({word})" if simulated
                else f" + {format_usd(may_be_billed, approx=True)} {word}")
    if not count and not simulated:
        return ("nothing billed yet" if not tail else f"nothing billed yet{tail}")
    if simulated:
        text = f"would have cost {format_usd(round(billed + estimated, 6))}"
        if estimated:
            text += " (partly estimated)"
    elif estimated and billed:
        text = f"{format_usd(billed)} billed + {format_usd(estimated, approx=True)} estimated"
    elif estimated:
        text = f"{format_usd(estimated, approx=True)} (estimated)"
    elif unknown and not billed:
        return f"{unknown} image{'s' if unknown != 1 else ''} at an unknown price"
    else:
        text = format_usd(billed) + (" billed" if count else "")
    if unknown:
        text += f" + {unknown} at an unknown price"
    return text + tail


def check_budget(requests: Iterable[ImageRequest], budget: float | None, spent: float = 0.0,
                 what: str = "this batch", prices: PriceLookup | None = None) -> float:
    """Return the batch's estimate in USD; raise ``BudgetExceededError`` (nothing sent)
    when ``spent`` plus the estimate would pass ``budget``, or when a price is
    unknown so the cap cannot be checked. ``prices``: a lookup (live prices), else the
    catalog's."""
    check_number("budget", budget, strict=False, optional=True)  # US dollars
    requests = list(requests)
    lookup = prices or catalog_price
    groups: Counter[tuple[str, str, str]] = Counter(
        (r.tier, r.resolution, r.action or "text_to_image") for r in requests)
    first = {(r.tier, r.resolution, r.action or "text_to_image"): r for r in reversed(requests)}
    known = {k: lookup(first[k]) for k in groups}
    total = round(sum((p or 0.0) * groups[k] for k, p in known.items()), 6)
    if budget is None:
        return total
    both = len({a for _, _, a in groups}) > 1

    def name(key: tuple[str, str, str]) -> str:
        t, r, a = key
        return request_label(t, r) + (f" {a.split('_')[0]}" if both else "")

    unknown = list(dict.fromkeys(name(k) for k, p in known.items() if p is None))
    if unknown:
        raise BudgetExceededError(
            f"{what} cannot be checked against the budget of {format_usd(budget)}: the price of "
            f"{', '.join(unknown)} is not published (n/a). Nothing was sent. Drop that tier or "
            "pass budget=None.")
    if spent + total <= budget + 1e-9:
        return total
    breakdown = " + ".join(f"{count_label(n, name(k))} at {format_usd(known[k])}" for k, n in groups.items())
    left = max(0.0, budget - spent)
    cheapest = min(p for p in known.values() if p is not None)
    fits = int((left + 1e-9) // cheapest) if cheapest else 0
    hints = []
    if fits == 0:
        hints.append(f"nothing fits: {format_usd(left)} of the budget is left, less than one image "
                     f"({format_usd(cheapest)})")
    elif len(requests) > 1 and fits < len(requests):
        hints.append(f"at most {fits} image{'s' if fits != 1 else ''} at {format_usd(cheapest)} each")
    if any(r != "1k" for _, r, _ in groups):
        hints.append("1k instead of 2k")
    if any(t != "pro" for t, _, _ in groups):
        hints.append("Pro instead of Flex")
    hints.append(f"a budget of at least {format_usd(spent + total)}")
    already = f" on top of {format_usd(spent)} already committed (spent or still running)" if spent else ""
    if fits == 0:
        nothing, rest = hints[0], hints[1:]
        advice = f"{nothing[0].upper()}{nothing[1:]}." + (f" Try {', or '.join(rest)}." if rest else "")
    else:
        advice = f"Try {', or '.join(hints)}."
    raise BudgetExceededError(
        f"{what} would cost about {format_usd(total)} ({breakdown}){already}, over the budget of "
        f"{format_usd(budget)}. Nothing was sent. {advice}")
