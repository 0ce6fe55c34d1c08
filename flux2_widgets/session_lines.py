"""The Studio's lines, in words: the session total, the estimate beside Generate (with the
budgets left and what stopped work may still cost), what a class app's visitor may still
spend, why a batch was refused, and what Collect would fetch.

One job: wording a ``StudioSession``'s money for people, through ``money.py``'s words, so the
session itself keeps only state and verbs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .catalog import TIER_INFO, count_label, request_label
from .money import BILLED, cost_text, format_usd, session_text

if TYPE_CHECKING:  # pragma: no cover
    from .errors import BudgetExceededError
    from .session import StudioSession
    from .workspace import BudgetStatus

__all__ = ["PRICES_UNREAD", "batch_shortfall", "earlier_line", "estimate_line", "ledger_refusal_line",
           "refusal_line", "session_line", "shortfall_text", "visitor_line", "visitor_scope_of"]

#: Why a capped batch waits for the price list: a cap holds at what the service charges.
PRICES_UNREAD = ("the service's price list could not be read, so the budget cannot be checked at "
                 "what it charges. Nothing was sent: try again in a moment")
#: The workspace budget's scope for the folder as a whole (``workspace.WORKSPACE_SCOPE``).
_FOLDER = "workspace"
_VISITOR = "visitor:"


def session_line(session: StudioSession) -> str:
    """``Session: ...``: what this session's finished work cost, worded so real money never
    reads as free, and apart, what it collected from earlier sessions."""
    mine = [r for r in session._mine() if r.money == BILLED]
    unknown = sum(r.cost is None for r in mine)
    maybe = round(sum(r.cost or 0.0 for r in session.may_be_billed()), 6)
    text = session_text(session.billed, session.estimated, unknown, len(mine), simulated=session.simulated,
                        may_be_billed=maybe)
    earlier = [r for r in session.runs if r.origin == "earlier" and r.money == BILLED]
    if earlier:
        amount = round(sum(r.cost or 0.0 for r in earlier), 6)
        text += (f" · plus {len(earlier)} earlier result{'s' if len(earlier) != 1 else ''} collected "
                 f"({cost_text(amount, 'billed', session.simulated)}, spent before this session)")
    return f"Session: {text}"

def estimate_line(session: StudioSession, n: int, tier: str, resolution: str) -> tuple[str, bool]:
    """The line beside Generate: what ``n`` images would cost, the budget left, and what
    stopped tasks may still cost. Second item: whether the batch would pass the budget."""
    estimate = _batch_estimate(session, n, tier, resolution)
    money = cost_text(estimate, "estimate", session.simulated)
    text = f"{count_label(n, request_label(tier, resolution))} — {money}"
    over = False
    if session.budget is not None:
        committed = session.committed()
        left = max(0.0, session.budget - committed)
        unit = session._unit_price(tier, resolution)
        if estimate is None:  # a budget cannot cap what has no published price: Generate says so
            over = True
            text += f" · the price is not published, so the {format_usd(session.budget)} budget cannot cap it"
        elif committed + estimate > session.budget + 1e-9:
            over = True
            fits = int((left + 1e-9) // unit) if unit else 0
            if fits == 0:
                text += (f" · nothing fits: {format_usd(left)} of the {format_usd(session.budget)} budget "
                         f"left, less than one image ({format_usd(unit)})")
            else:
                text += (f" · over the {format_usd(session.budget)} budget ({format_usd(left)} left: "
                         f"{fits} image{'s' if fits != 1 else ''} fit{'s' if fits == 1 else ''})")
        else:
            text += f" · {format_usd(left)} of the {format_usd(session.budget)} budget left"
    text += _workspace_text(session, estimate)
    if estimate is not None and not over and session.workspace_shortfall(estimate) is not None:
        over = True  # a folder cap or a visitor's quota: the lines beside say which
    pending = session.may_be_billed()
    if pending:
        amount = round(sum(r.cost or 0.0 for r in pending), 6)
        stopped = sum(r.status == "stopped" for r in pending)
        cut = len(pending) - stopped
        who = []
        if stopped:
            who.append(f"{stopped} stopped task{'s' if stopped != 1 else ''}")
        if cut:
            who.append(f"{cut} task{'s' if cut != 1 else ''} cut off by an error")
        text += f" · {format_usd(amount)} may still be billed by {' and '.join(who)} (Resume to collect)"
    return text, over

def _batch_estimate(session: StudioSession, n: int, tier: str, resolution: str) -> float | None:
    if resolution not in TIER_INFO[tier].resolutions:
        return None
    unit = session._unit_price(tier, resolution)
    return None if unit is None else round(unit * n, 6)

def _workspace_text(session: StudioSession, estimate: float | None) -> str:
    """`` · folder budget: $1.20 of $5.00 left today`` for each capped scope (as last read).
    A visitor's quota and their class's budget are said by ``visitor_line`` instead."""
    parts = []
    visitor = visitor_scope_of(session)
    for scope, st in list(session.workspace_status.items()):
        if visitor is not None and scope in (visitor, _FOLDER):
            continue
        name = "folder" if scope == "workspace" else scope.replace("visitor:", "your ", 1) if \
            scope.startswith("visitor:") else scope
        for left, cap, when in ((st.left_today, st.per_day, " today"), (st.left, st.cap, "")):
            if cap is None or left is None:
                continue
            short = estimate is not None and estimate > left + 1e-9
            parts.append(f"{name} budget: {format_usd(left)} of {format_usd(cap)} left{when}"
                         + (" (not enough for this batch)" if short else ""))
            break
    return "".join(f" · {p}" for p in parts)

def earlier_line(session: StudioSession) -> str:
    """What Collect would do, in words ("" when the run log holds nothing to collect)."""
    tasks, creates = session.unfinished(), session.unanswered()
    if not tasks and not creates:
        return ""
    n = len(tasks) + len(creates)
    amount = round(sum(session._price_of(t.request) or 0.0 for t in tasks if t.request is not None)
                   + sum(session._price_of(e.request) or 0.0 for e in creates), 6)
    parts = []
    if tasks:
        parts.append(f"{len(tasks)} task{'s' if len(tasks) != 1 else ''} an earlier session started "
                     "and never collected")
    if creates:
        parts.append(f"{len(creates)} request{'s' if len(creates) != 1 else ''} whose answer never came")
    money = cost_text(amount, "estimate", session.simulated)
    return (f"{' and '.join(parts)}: {'they' if n > 1 else 'it'} may be finished and billed already "
            f"({money}). Collect fetches {'them' if n > 1 else 'it'} without sending anything new; "
            "the cost counts apart from this session's budget.")


# -- a class app's visitor ---------------------------------------------------------------
def visitor_scope_of(session: StudioSession) -> str | None:
    """The visitor's quota scope (``visitor:<id>``) the session's client reserves against, if any."""
    scopes = getattr(session.client, "budget_scopes", ()) or ()
    return next((s for s in scopes if isinstance(s, str) and s.startswith(_VISITOR)), None)


def _standing(st: BudgetStatus, since: float = 0.0) -> tuple[float, float, str] | None:
    """(left, cap, " today" or "") of the cap that binds first, less ``since`` (what runs
    started after the reading commit), or ``None`` without a cap."""
    caps = [(st.left, st.cap, ""), (st.left_today, st.per_day, " today")]
    found = [(max(0.0, round(left - since, 6)), cap, when) for left, cap, when in caps
             if left is not None and cap is not None]
    return min(found, key=lambda f: f[0]) if found else None


def visitor_line(session: StudioSession, n: int = 1, tier: str = "pro", resolution: str = "1k") -> str:
    """``You can still spend $0.35 of your $0.50; the class has $8.20 left.``: what a visitor
    of a class app may still spend (their quota, ``visitor:<id>``) and what the class (the
    folder's budget) has left, as last read less what this session started since, and
    whether ``n`` images fit. "" for a client with no visitor scope, or before the budget
    was read."""
    mine = visitor_scope_of(session)
    if mine is None:
        return ""
    own, whole = session.workspace_status.get(mine), session.workspace_status.get(_FOLDER)
    since = session.started_since_budget_read()
    parts, lefts = [], []
    if own is not None and (found := _standing(own, since)) is not None:
        left, cap, when = found
        lefts.append(left)
        parts.append(f"you can still spend {format_usd(left)} of your {format_usd(cap)}{when}" if left > 0
                     else f"you have used all of your {format_usd(cap)}{when}")
    if whole is not None and (found := _standing(whole, since)) is not None:
        left, _cap, when = found
        lefts.append(left)
        parts.append(f"the class has {format_usd(left)} left{when}")
    if not parts:
        return ""
    text = "; ".join(parts)
    text = f"{text[0].upper()}{text[1:]}."
    estimate = _batch_estimate(session, n, tier, resolution)
    if estimate is not None and any(estimate > left + 1e-9 for left in lefts):
        text += f" Not enough for this batch (about {format_usd(estimate)})."
    if session.simulated:
        text += " Simulated: nothing is charged."
    return text


def refusal_line(session: StudioSession, scope: str, estimate: float, left: float) -> str:
    """Why a batch was refused before anything was sent: it would cost ``estimate`` and
    ``scope`` has ``left``. Worded for the visitor when the client has a visitor scope."""
    why = shortfall_text(session, scope, estimate, left)
    if visitor_scope_of(session) is None:
        return f"{why}. Nothing was sent."
    return f"Nothing was sent: {why}."


def batch_shortfall(session: StudioSession, n: int, tier: str, resolution: str) -> str:
    """Why ``n`` such images would be refused by a workspace cap as last read ("this batch
    would cost about $0.10 and you have $0.02 left of your $0.50"), or "" when they fit."""
    estimate = _batch_estimate(session, n, tier, resolution)
    found = session.workspace_shortfall(estimate) if estimate is not None else None
    return shortfall_text(session, found[1], estimate or 0.0, found[0]) if found else ""


def shortfall_text(session: StudioSession, scope: str, estimate: float, left: float) -> str:
    """``this batch would cost about $0.05 and you have $0.02 left of your $0.50``: what a
    batch costing ``estimate`` lacks on ``scope`` (its ``left``), in the visitor's words when
    the client has a visitor scope."""
    mine = visitor_scope_of(session)
    if mine is None:
        name = "folder" if scope == _FOLDER else scope
        return (f"this batch would cost about {format_usd(estimate)}, more than the {name} budget "
                f"has left ({format_usd(left)})")
    if scope == mine:
        st = session.workspace_status.get(scope)
        found = _standing(st) if st is not None else None
        who = f"you have {format_usd(left)} left" + (
            f" of your {format_usd(found[1])}{found[2]}" if found is not None else "")
    elif scope == _FOLDER:
        who = f"the class has {format_usd(left)} left"
    else:
        who = f"the {scope} budget has {format_usd(left)} left"
    return f"this batch would cost about {format_usd(estimate)} and {who}"


def ledger_refusal_line(session: StudioSession, exc: BudgetExceededError, price: float | None) -> str:
    """Why a run the workspace's ledger refused at its send was not sent: since the budget was
    last read another kernel (a classmate, a colleague) spent what was left, or a cap was
    lowered. Worded like ``refusal_line``; ``exc`` names the scope, what is left, the period."""
    mine = visitor_scope_of(session)
    left = format_usd(exc.left or 0.0)
    when = " today" if exc.period == "day" else ""
    if mine is not None and exc.scope == mine:
        of = f" of your {format_usd(exc.cap)}" if exc.cap is not None else ""
        who = f"you have {left} left{of}{when}"
    elif exc.scope == _FOLDER:
        of = f" of {format_usd(exc.cap)}" if exc.cap is not None else ""
        who = (f"the class has {left} left{when}" if mine is not None
               else f"the folder budget has {left}{of} left{when}")
    else:
        who = f"the {exc.scope} budget has {left} left{when}"
    needs = f" (this image needs about {format_usd(price)})" if price is not None else ""
    return f"Not sent: {who}{needs}; that changed since this page last looked. Nothing was charged."
