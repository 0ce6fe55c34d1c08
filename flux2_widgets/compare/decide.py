"""``compare_until_decided``: pay for pairs only until the answer is known.

One person votes blind on pairs as they arrive (Pro vs Flex on the next prompt, say); after each
vote an anytime-valid test (``stats.sequential_test``: looking after every vote is allowed) says
whether one side is preferred. Rounds stop at a verdict, when the next pair would pass the
budget, or after ``max_rounds``. The ``Decision`` reports the verdict, the votes, what it cost,
and what a fixed-size test of the same power would have needed.

It runs on its home loop: in a notebook it returns at once and shows the current blind pair
(vote with the buttons or ← / → / t); ``judge=`` answers instead (a function of the blind
comparison returning "left", "right" or "tie"), for scripts and tests.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import inspect
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from .._checks import check_number
from .._loops import HomeLoop
from ..errors import TaskTimeoutError, ValidationError
from ..money import check_budget, cost_text, format_usd

if TYPE_CHECKING:  # pragma: no cover
    from .comparison import Comparison
    from .stats import SequentialResult

__all__ = ["Decision", "compare_until_decided"]


class Decision:
    """The rounds of :func:`compare_until_decided`, live. ``wait()`` / ``await`` for the end;
    ``verdict``, ``rounds`` (the comparisons), ``votes``, ``cost``, ``text``."""

    def __init__(self, plans: Sequence[Callable[[], Any]], sides: tuple[str, str], *, budget: float,
                 client: Any, alpha: float, judge: Callable[[Comparison], Any] | None, max_rounds: int,
                 timeout: float | None) -> None:
        #: per case, a function making that round's plan afresh (a plan's cells run once)
        self._plans = list(plans)
        self.sides = sides
        self.budget = budget
        self.client = client
        self.alpha = alpha
        self.judge = judge
        self.max_rounds = max_rounds
        self.timeout = timeout
        #: every round's blind comparison, in order
        self.rounds: list[Comparison] = []
        self.result: SequentialResult | None = None
        #: why it stopped: "decided", "budget", "rounds" ("" while going)
        self.stopped = ""
        self.error: BaseException | None = None
        self.home = HomeLoop()
        self._done: concurrent.futures.Future[Decision] = concurrent.futures.Future()
        self._listeners: list[Callable[[], Any]] = []
        self._view: Any = None

    # -- reading ------------------------------------------------------------------------------
    @property
    def votes(self) -> list[dict[str, Any]]:
        return [v for cmp in self.rounds for v in cmp.votes if v.get("blind")]

    @property
    def counts(self) -> tuple[int, int, int]:
        """(votes for the first side, for the second, ties)."""
        a, b = self.sides
        picks = [v["winner"] for v in self.votes]
        return picks.count(a), picks.count(b), picks.count("tie")

    @property
    def cost(self) -> float:
        """What the pairs cost (billed where reported, else estimated; what may still be billed too)."""
        return round(sum(cmp.total_cost or 0.0 for cmp in self.rounds), 6)

    @property
    def done(self) -> bool:
        return self._done.done()

    @property
    def verdict(self) -> str:
        """The preferred side's name, "undecided", or "" while going."""
        if self.result is None or not self.done:
            return ""
        return {"a": self.sides[0], "b": self.sides[1]}.get(self.result.verdict, "undecided")

    def fixed_size(self) -> tuple[int, float] | None:
        """(votes, USD) a fixed-size test of the same power (80%, same alpha) would have needed to
        detect the preference observed; ``None`` without a decisive preference."""
        from .stats import fixed_sample_size

        if self.result is None or not self.result.decided or self.result.estimate is None:
            return None
        # the preference observed (a unanimous start reads 100%: planned as 95%, the most any
        # fixed design would assume)
        p = min(0.95, max(self.result.estimate, 1 - self.result.estimate))
        if p <= 0.5:
            return None
        n = fixed_sample_size(p, alpha=self.alpha)
        per_pair = self.cost / max(1, len(self.rounds))
        return n, round(n * per_pair, 6)

    @property
    def text(self) -> str:
        a, b = self.sides
        wa, wb, ties = self.counts
        simulated = any(cmp.simulated for cmp in self.rounds)
        head = (f"{len(self.rounds)} pair{'s' if len(self.rounds) != 1 else ''} judged "
                f"({a} {wa} · {b} {wb} · tie {ties}), {cost_text(self.cost, 'billed', simulated)} of the "
                f"{format_usd(self.budget)} budget")
        if not self.done:
            return f"Round {len(self.rounds)}: {head}. Vote on the pair below."
        if self.error is not None:
            return f"Stopped by an error after {head}: {self.error}"
        verdict = self.result.text(a, b) if self.result is not None else "no votes"
        why = {"decided": "Decided", "budget": "Stopped: the next pair would pass the budget",
               "rounds": "Stopped: the most rounds asked for"}.get(self.stopped, "Stopped")
        fixed = self.fixed_size()
        extra = (f" A fixed-size test of the same power, for the preference seen, would have needed "
                 f"{fixed[0]} votes ({cost_text(fixed[1], 'estimate', simulated)})." if fixed else "")
        return f"{why}. {verdict}. {head}.{extra}"

    def __repr__(self) -> str:
        return f"<Decision {self.sides[0]} vs {self.sides[1]}: {self.text}>"

    def on_change(self, callback: Callable[[], Any]) -> None:
        self._listeners.append(callback)

    def _emit(self) -> None:
        for cb in list(self._listeners):
            try:
                cb()
            except Exception:  # a broken view must not stop the rounds
                pass

    # -- running ------------------------------------------------------------------------------
    def start(self) -> Decision:
        self.home.spawn(self._run)
        return self

    async def _run(self) -> None:
        from .stats import sequential_test

        try:
            spent = 0.0
            prices = await getattr(self.client, "aio", self.client).cap_prices()  # what it charges
            for round_no in range(self.max_rounds):
                plan = self._plans[round_no % len(self._plans)]()
                estimate = check_budget(plan.requests, None, prices=prices)
                if spent + estimate > self.budget + 1e-9:
                    self.stopped = "budget"
                    break
                cmp = plan.launch(client=self.client, budget=None, timeout=self.timeout, blind=True)
                self.rounds.append(cmp)
                self._emit()
                await cmp
                spent = self.cost
                await self._vote(cmp)
                wa, wb, ties = self.counts
                self.result = sequential_test(wa, wb, self.alpha, ties=ties)
                self._emit()
                if self.result.decided:
                    self.stopped = "decided"
                    break
            else:
                self.stopped = "rounds"
        except asyncio.CancelledError:
            self.stopped = self.stopped or "stopped"
            raise
        except Exception as exc:  # a round that cannot be judged (both sides failed...): say so
            self.error = exc
        finally:
            self._emit()
            if not self._done.done():
                self._done.set_result(self)

    async def _vote(self, cmp: Comparison) -> None:
        if any(not c.ok for c in cmp.cells):
            # an image failed: nothing to judge fairly; the round is not counted
            return
        if self.judge is not None:
            answer = self.judge(cmp)
            if inspect.isawaitable(answer):
                answer = await answer
            cmp.vote(str(answer))
            return
        voted = asyncio.get_running_loop().create_future()

        def on_change(_cell: Any) -> None:
            if cmp.votes and not voted.done():
                voted.set_result(None)

        cmp.on_change(on_change)
        try:
            await voted
        finally:
            cmp.on_change(on_change, remove=True)

    def stop(self) -> None:
        """Stop after this round (from any thread)."""
        self.max_rounds = 0

    def wait(self, timeout: float | None = None) -> Decision:
        """Block until the rounds end (in a notebook, vote in the view meanwhile)."""
        try:
            self.home.block_on(self._done, timeout)
        except concurrent.futures.TimeoutError:
            raise TaskTimeoutError(f"still deciding after {timeout:g}s: {self.text}",
                                   code="wait_timeout") from None
        return self

    def __await__(self) -> Any:
        return asyncio.wrap_future(self._done).__await__()

    # -- display --------------------------------------------------------------------------------
    def view(self) -> Any:
        if self._view is None:
            from ..widgets.decide_view import DecisionView

            self._view = DecisionView(self)
        return self._view

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> Any:
        try:
            bundle = self.view()._repr_mimebundle_(include=include, exclude=exclude)
        except Exception:
            return None
        if isinstance(bundle, tuple):
            bundle = bundle[0]
        return {**bundle, "text/plain": repr(self)} if bundle else None


def compare_until_decided(prompt: str | Sequence[str] | None = None, *, tiers: Sequence[str] | None = None,
                          prompts: Sequence[str] | None = None, tier: str = "pro", resolution: str = "1k",
                          aspect_ratio: str = "1:1", budget: float, client: Any = None, alpha: float = 0.05,
                          judge: Callable[[Comparison], Any] | None = None, max_rounds: int = 200,
                          timeout: float | None = None) -> Decision:
    """Blind pairs, one round at a time, only until the answer is known (or the budget ends).

    Two tiers on the same prompt(s): ``compare_until_decided("a red fox in snow", tiers=("pro",
    "flex"), budget=2)`` (several prompts take turns); or two prompts in one tier:
    ``compare_until_decided(prompts=("a fox", "a fox, oil painting"), budget=1)``. Every
    argument and the first pair's cost are checked before anything is sent. Returns a running
    :class:`Decision`; ``.wait()`` for the end."""
    from .plans import plan_prompts, plan_tiers

    check_number("budget", budget, strict=False)
    check_number("alpha", alpha, maximum=0.5)
    check_number("max_rounds", max_rounds, minimum=1, strict=False, integer=True)
    check_number("timeout", timeout, optional=True)
    if judge is not None and not callable(judge):
        raise ValidationError("judge must be a function of the blind comparison, returning 'left', 'right' "
                              "or 'tie'", field="judge", value=type(judge).__name__, allowed="callable")
    if (tiers is None) == (prompts is None):
        raise ValidationError("compare either tiers=(two tiers) on a prompt, or prompts=(two prompts)",
                              field="tiers", value=tiers, allowed="tiers=... or prompts=...")
    if tiers is not None:
        if prompt is None:
            raise ValidationError("tiers are compared on a prompt: pass it first", field="prompt", value=None,
                                  allowed="a prompt or a list of prompts")
        cases = [prompt] if isinstance(prompt, str) else list(prompt) if isinstance(prompt, (list, tuple)) \
            else []
        if not cases:
            raise ValidationError(f"tiers are compared on a prompt or a list of them, not {prompt!r}"[:200],
                                  field="prompt", value=repr(prompt)[:80],
                                  allowed="a prompt or a list of prompts")
        if not isinstance(tiers, (list, tuple)) or len(tiers) != 2:
            raise ValidationError(f"a decision is between two tiers, not {tiers!r}"[:200], field="tiers",
                                  value=tiers, allowed="two tiers")
        first = plan_tiers(cases[0], tiers, resolution, aspect_ratio)
        makers = [functools.partial(plan_tiers, p, tiers, resolution, aspect_ratio) for p in cases]
        for make in makers[1:]:
            make()  # every prompt checked before anything is sent
        sides = (first.sides[0][1], first.sides[1][1])
    else:
        assert prompts is not None
        pair = list(prompts) if isinstance(prompts, (list, tuple)) else []
        if len(pair) != 2 or prompt is not None:
            raise ValidationError("prompts=(prompt A, prompt B): exactly two, and no first prompt",
                                  field="prompts", value=prompts, allowed="two prompts")
        first = plan_prompts(pair[0], pair[1], tier, resolution, aspect_ratio)
        makers = [functools.partial(plan_prompts, pair[0], pair[1], tier, resolution, aspect_ratio)]
        sides = ("A", "B")
    check_budget([c.request for c in first.cells], budget, what="the first pair")
    from .comparison import _client_source

    return Decision(makers, sides, budget=float(budget), client=_client_source(client), alpha=float(alpha),
                    judge=judge, max_rounds=int(max_rounds), timeout=timeout).start()
