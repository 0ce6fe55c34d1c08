"""``Arena``: a blind preference test over variants, for one person or a whole room.

The organiser creates an arena by name: its variants (tiers, resolutions, prompts, prompt
templates: any axis of ``compare.axes.grid``) crossed with the cases it is judged on (the other
axes: prompts, subjects...). Its images are generated once, with the money shown before and a
budget checked; every pair of variants of a case becomes a *pair* in the workspace database with
a small preview of each side, so voters anywhere the database reaches see them without the
results folder. Any kernel or process opens it by name (``Arena.open("pro-vs-flex")``).

Voters each see the pairs in an order of their own, sides randomized and balanced (half of a
voter's pairs show the first variant on the left), and vote left, right or tie, or skip, at most
once per pair and question (a second vote is refused: the first stands). ``leaderboard()``
ranks the variants (Wilson intervals for two, Bradley-Terry with bootstrap intervals for more);
``verdict()`` says in plain words whether the answer is known, by a test valid however often it
is looked at (``compare.stats.sequential_test``).

Database work runs on the workspace's own thread when called from a loop (the views do that);
called from plain code it blocks briefly.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .._checks import check_number, check_text
from ..errors import ValidationError, WorkspaceError
from .arena_standings import ArenaVerdict
from .plans import cap_prices_of

if TYPE_CHECKING:  # pragma: no cover
    from ..workspace import Workspace
    from ..workspace._records import ArenaPair, ArenaRecord, ArenaVote
    from .comparison import Comparison

__all__ = ["Arena", "ArenaVerdict", "CHOICES", "Shown", "VoterSession"]

log = logging.getLogger("flux2_widgets")

#: What a voter may answer about a pair (``skip`` records nothing).
CHOICES = ("left", "right", "tie", "skip")
#: The preview each side of a pair carries in the database: large enough to judge.
PAIR_PREVIEW_SIDE = 512
DEFAULT_QUESTIONS = ("Which image is better?",)


def _h(*parts: str) -> int:
    return int.from_bytes(hashlib.sha256("\x1f".join(parts).encode()).digest()[:8], "big")


@dataclass(frozen=True)
class Shown:
    """A pair as one voter sees it: which variant is on which side (randomized per voter and
    balanced over their pairs), the question asked, and where it stands in their queue."""

    pair: ArenaPair
    question: str
    #: the stored right variant is shown on the left
    flipped: bool
    #: 1-based place in this voter's queue, and its length (pairs x questions)
    number: int
    total: int

    @property
    def pair_id(self) -> str:
        return self.pair.pair_id

    @property
    def prompt(self) -> str:
        return self.pair.prompt

    def side(self, shown: str) -> str:
        """The stored side ("left"/"right") of what this voter saw on ``shown``."""
        if shown not in ("left", "right"):
            return shown
        return {"left": "right", "right": "left"}[shown] if self.flipped else shown

    @property
    def left_variant(self) -> str:
        return self.pair.right_variant if self.flipped else self.pair.left_variant

    @property
    def right_variant(self) -> str:
        return self.pair.left_variant if self.flipped else self.pair.right_variant


class Arena:
    """An arena in the workspace database. Make one with :meth:`create`, open one with
    :meth:`open`; see the module docstring."""

    def __init__(self, record: ArenaRecord, workspace: Workspace, *,
                 generation: Comparison | None = None) -> None:
        self.record = record
        self.workspace = workspace
        #: The organiser's comparison that makes the images (``None`` when opened by name).
        self.generation = generation
        self._costs: dict[str, float | None] = {}

    # -- making and opening ------------------------------------------------------------------
    @classmethod
    def plan(cls, prompt: str | Sequence[str], *, vary: str | None = None, takes: int = 1,
             **axes: Any) -> Any:
        """What :meth:`create` would make, nothing sent: the grid of variants (columns, ``vary``)
        by cases (rows), its images and its cost estimate (``plan.estimate_text``)."""
        from .axes import grid

        listed = [name for name, value in axes.items() if isinstance(value, (list, tuple)) and len(value) > 1]
        if vary is not None and not isinstance(vary, str):
            raise ValidationError(f"vary names the one axis the arena compares ('tier', 'resolution', "
                                  f"'prompt', a slot name...), not {vary!r}"[:300], field="vary",
                                  value=repr(vary)[:80], allowed=listed or ("tier", "resolution", "prompt"))
        if vary is None:
            others = [n for n in listed if n not in ("sources",)]
            if len(others) == 1:
                vary = others[0]
            elif isinstance(prompt, (list, tuple)) and len(prompt) > 1 and not others:
                vary = "prompt"
            else:
                raise ValidationError(
                    "say which axis the arena compares: vary='tier' (or 'resolution', 'prompt', a slot "
                    f"name...); several vary here: {', '.join(others) or 'none'}", field="vary", value=vary,
                    allowed=others or ("tier", "resolution", "prompt"))
        plan = grid(prompt, cols=vary, takes=takes, **axes)
        if plan.shape[2] < 2:
            raise ValidationError(f"an arena compares at least two variants; {vary!r} has "
                                  f"{plan.shape[2]}", field="vary", value=vary, allowed=">= 2 values")
        if plan.shape[0] > 1:
            raise ValidationError("an arena's cases are its rows: put every other axis there, not on pages",
                                  field="pages", value=plan.shape[0], allowed="1 page")
        return plan

    @classmethod
    def create(cls, name: str, prompt: str | Sequence[str], *, vary: str | None = None,
               questions: Sequence[str] = DEFAULT_QUESTIONS, client: Any = None, budget: float | None = None,
               takes: int = 1, timeout: float | None = None, **axes: Any) -> Arena:
        """A new arena named ``name``: ``prompt`` (a list, or a template with ``{slots}``) and
        the axes (``tier=["pro", "flex"]``, ``resolution=...``, slot lists...) as in
        ``compare.axes.grid``; ``vary`` names the axis compared (inferred when only one other
        axis has several values). The images are generated once with ``client`` (default:
        the configured key, else the simulator) into its results folder, whose workspace holds
        the arena; the plan is refused whole before anything is sent when its estimate passes
        ``budget``, when the name is taken, or when an argument is wrong. Returns at once while
        the images are made (``arena.wait()`` blocks for them; ``arena.generation`` is the live
        comparison); each pair is open for votes as soon as both its sides are in."""
        from ..money import check_budget
        from ..runs import Run
        from .cell import Cell
        from .comparison import Comparison, _client_source

        if not isinstance(name, str) or not name.strip() or len(name) > 200:
            raise ValidationError(f"an arena's name is 1-200 characters, not {name!r}"[:200], field="name",
                                  value=name, allowed="1-200 characters")
        asked = [questions] if isinstance(questions, str) else (
            list(questions) if isinstance(questions, (list, tuple)) else [])
        if not asked or any(not isinstance(q, str) or not q.strip() for q in asked):
            raise ValidationError("questions must be one or more non-empty texts", field="questions",
                                  value=questions, allowed="texts")
        check_number("timeout", timeout, optional=True)
        plan = cls.plan(prompt, vary=vary, takes=takes, **axes)
        check_budget(plan.requests, budget, what=f"arena {name!r} ({plan.image_count} images)")
        source = _client_source(client)
        if budget is not None:  # at what the service charges, too
            check_budget(plan.requests, budget, what=f"arena {name!r}", prices=cap_prices_of(source))
        store = getattr(source, "store", None)
        if store is None:
            raise ValidationError("an arena lives in a results folder's workspace: give the client a store "
                                  "(Flux2Client(store=ResultStore('flux2_results')))", field="client",
                                  value=type(source).__name__, allowed="a client with a store")
        workspace = store.workspace
        variants = list(plan.col_labels)
        cases = list(plan.row_labels)
        cells: list[Cell] = []
        for image in plan.images:
            c = image.cell
            cells.append(Cell(len(cells), c.row, c.col, c.row_label, c.col_label, image.request,
                              values=dict(c.values), take=image.take,
                              run=Run(image.request, source, timeout=timeout,
                                      preview_side=PAIR_PREVIEW_SIDE)))
        cmp = Comparison(cells, kind="arena", title=f"Arena {name}: {' vs '.join(variants)}",
                         row_labels=cases or [""], col_labels=variants, client=source, budget=budget,
                         timeout=timeout)
        record = workspace.arenas.create(name, variants=variants, questions=asked, config={
            "vary": plan.col_axes[0].name if plan.col_axes else vary, "cases": cases, "takes": takes,
            "estimate": plan.estimate()[0], "images": plan.image_count, "created": time.time(),
            "show_case": bool(plan.row_axes), "comparison": cmp.id,
            "simulated": bool(getattr(source, "simulated", False))})
        arena = cls(record, workspace, generation=cmp)
        cmp.on_change(arena._on_cell)
        cmp.start()
        return arena

    @classmethod
    def open(cls, name: str, *, folder: Any = None, database_url: str | None = None) -> Arena:
        """An arena by name, from any kernel or process the workspace database reaches
        (``folder``: the results folder, default ``$FLUX2_RESULTS_DIR`` or ``./flux2_results``;
        ``database_url``: default ``$FLUX2_DATABASE_URL``, else the folder's SQLite file)."""
        from ..workspace import Workspace

        check_text("name", name, limit=200)
        ws = Workspace.shared(folder, database_url=database_url)
        try:
            record = ws.arenas.get(name)
        except WorkspaceError:
            known = [a.name for a in ws.arenas.all()]
            raise ValidationError(f"no arena named {name!r} in {ws.database}; arenas there: "
                                  f"{', '.join(known) or 'none yet'}", field="name", value=name,
                                  allowed=tuple(known)) from None
        return cls(record, ws)

    @staticmethod
    def names(*, folder: Any = None, database_url: str | None = None) -> list[str]:
        """The arenas of a workspace, newest first."""
        from ..workspace import Workspace

        return [a.name for a in Workspace.shared(folder, database_url=database_url).arenas.all()]

    def _on_cell(self, cell: Any) -> None:
        """A cell changed: once every variant of its case (and take) is in, open its pairs."""
        cmp = self.generation
        if cell is None or cmp is None or cell.status != "completed":
            return
        group = [c for c in cmp.cells if c.row == cell.row and c.take == cell.take]
        if not all(c.ok and c.run is not None and c.run.preview for c in group):
            return
        sides = sorted(group, key=lambda c: c.col)
        found = [(*_side(a), *_side(b)) for a, b in itertools.combinations(sides, 2)]
        # what the pair is judged on: the case (its prompt, its subject...); a prompt A/B has
        # no shared case, and showing either prompt would give the sides away
        prompt = group[0].row_label or "two images: judge them as they are"
        base = f"{cell.row}-{cell.take}"
        takes = 1 + max(c.take for c in cmp.cells)
        first = (cell.row * takes + cell.take) * len(found)  # plan order, not arrival order
        from ..workspace._thread import _workspace_executor

        def add() -> None:
            for i, (la, ta, pa, lb, tb, pb) in enumerate(found):
                try:
                    self.workspace.arenas.add_pair(
                        self.name, prompt=prompt, left_variant=la, right_variant=lb, left_task_id=ta,
                        right_task_id=tb, left_preview=pa, right_preview=pb, pair_id=f"{base}-{i}",
                        position=first + i)
                except Exception:
                    log.warning("could not add a pair to arena %s", self.name, exc_info=True)

        _workspace_executor().submit(add)

    def finish(self, client: Any = None, *, timeout: float | None = None) -> Arena:
        """Make what an interrupted making left unmade (its kernel died, an image failed or
        was stopped), under the creates' own Idempotency-Keys: nothing is billed twice (see
        ``arena_finish``). Returns at once; ``wait()`` blocks until its pairs are open."""
        if self.generation is not None and not self.generation.done:
            return self  # being made in this kernel
        check_number("timeout", timeout, optional=True)
        from .arena_finish import finish_plan
        from .comparison import _client_source

        cmp = finish_plan(self, _client_source(client), timeout)
        self.generation = cmp
        cmp.on_change(self._on_cell)
        cmp.start()
        return self

    def wait(self, timeout: float | None = None) -> Arena:
        """Block until every image of a new arena is made and its pairs are open for votes."""
        if self.generation is not None:
            self.generation.wait(timeout)
            from ..workspace._thread import _workspace_executor

            _workspace_executor().submit(lambda: None).result(timeout=30)  # the pairs written
        return self

    # -- reading ------------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.record.name

    @property
    def variants(self) -> tuple[str, ...]:
        return self.record.variants

    @property
    def questions(self) -> tuple[str, ...]:
        return self.record.questions

    @property
    def simulated(self) -> bool:
        """Whether its images came from the simulator (as their results say; a key with no
        answer yet counts as real money)."""
        if self.record.config.get("simulated"):
            return True
        pairs = self.pairs
        found = self.workspace.results.get(pairs[0].left_task_id) if pairs else None
        return bool(found is not None and found.simulated)

    @property
    def pairs(self) -> list[ArenaPair]:
        return self.workspace.arenas.pairs(self.name)

    @property
    def votes(self) -> list[ArenaVote]:
        """Every vote, oldest first."""
        return self.workspace.arenas.votes(self.name)

    def voters(self, question: str | None = None) -> int:
        return self.workspace.arenas.voters(self.name, question=question)

    def preview(self, pair: ArenaPair | Shown | str, side: str) -> bytes:
        """The JPEG of one side of a pair: as stored for a pair or its id, as shown for a ``Shown``."""
        stored = pair.side(side) if isinstance(pair, Shown) else side
        return self.workspace.arenas.preview(self.name, _pair_id(pair), stored)

    def cost(self) -> float | None:
        """What the images made for the arena cost (see ``arena_standings.arena_cost``)."""
        from .arena_standings import arena_cost

        return arena_cost(self)

    def cost_text(self) -> str:
        """The arena's money in words: estimates while this kernel makes its images, then billed."""
        from .arena_standings import arena_cost_text

        return arena_cost_text(self)

    # -- voting -------------------------------------------------------------------------------
    def _order(self, voter: str, pairs: list[ArenaPair]) -> list[tuple[ArenaPair, bool]]:
        """This voter's queue: pairs in an order of their own, every other one flipped, so a
        voter sees each variant on the left about half the time and voters differ."""
        ranked = sorted(pairs, key=lambda p: _h(self.name, voter, p.pair_id))
        start = _h(self.name, voter) & 1
        return [(p, bool((i + start) % 2)) for i, p in enumerate(ranked)]

    def _question(self, question: str | None) -> str:
        if question is None:
            return self.questions[0]
        if question not in self.questions:
            raise ValidationError(f"{question!r} is not a question of arena {self.name!r}; its questions: "
                                  f"{', '.join(self.questions)}", field="question", value=question,
                                  allowed=self.questions)
        return question

    def next_pair(self, voter: str, *, skipped: Iterable[tuple[str, str]] = ()) -> Shown | None:
        """What ``voter`` is shown next: the first pair and question (in their own order,
        every question of a pair in turn) they have not voted on or skipped; ``None`` when
        they are through."""
        _voter(voter)
        listed = list(skipped) if isinstance(skipped, Iterable) and not isinstance(skipped, str) else None
        if listed is None or not all(isinstance(s, tuple) and len(s) == 2 for s in listed):
            raise ValidationError("skipped must be (pair id, question) pairs", field="skipped",
                                  value=repr(skipped)[:80], allowed="[(pair_id, question), ...]")
        pairs = self.pairs
        open_ = {q: {p.pair_id for p in self.workspace.arenas.unvoted(self.name, voter=voter, question=q)}
                 for q in self.questions}
        skip = set(listed)
        total = len(pairs) * len(self.questions)
        done = total - sum(len(v) for v in open_.values())
        for pair, flipped in self._order(voter, pairs):
            for q in self.questions:
                if pair.pair_id in open_[q] and (pair.pair_id, q) not in skip:
                    return Shown(pair, q, flipped, done + 1, total)
        return None

    def progress(self, voter: str) -> tuple[int, int]:
        """(votes ``voter`` has cast, pairs x questions)."""
        _voter(voter)
        total = len(self.pairs) * len(self.questions)
        arenas = self.workspace.arenas
        left = sum(len(arenas.unvoted(self.name, voter=voter, question=q)) for q in self.questions)
        return total - left, total

    def vote(self, pair: ArenaPair | Shown | str, choice: str, *, voter: str, question: str | None = None,
             note: str | None = None) -> ArenaVote | None:
        """Record ``voter``'s answer about ``pair`` for ``question`` (default the first):
        "left", "right" or "tie" (as this voter saw it for a ``Shown``; as stored for a pair or
        its id), a variant's name, or "skip" (nothing recorded; returns ``None``). A second vote
        on the same pair and question raises ``DuplicateVoteError``: the first stands."""
        _voter(voter)
        asked = pair.question if isinstance(pair, Shown) and question is None else self._question(question)
        if not isinstance(choice, str):
            raise ValidationError(f"choice must be one of {', '.join(CHOICES)} or a variant, not {choice!r}",
                                  field="choice", value=choice, allowed=(*CHOICES, *self.variants))
        answer = choice.strip().lower()
        if answer == "skip":
            return None
        pair_id = _pair_id(pair)
        stored = next((p for p in self.pairs if p.pair_id == pair_id), None)
        if stored is None:
            raise ValidationError(f"arena {self.name!r} has no pair {pair_id!r}", field="pair", value=pair_id,
                                  allowed="a pair of this arena (arena.pairs)")
        by_name = {stored.left_variant.lower(): "left", stored.right_variant.lower(): "right"}
        if answer in by_name:
            side = by_name[answer]
        elif answer in ("left", "right", "tie"):
            side = pair.side(answer) if isinstance(pair, Shown) else answer
        else:
            raise ValidationError(f"choice {choice!r} is not an answer: use left, right, tie or skip (or "
                                  f"{stored.left_variant!r} / {stored.right_variant!r})", field="choice",
                                  value=choice, allowed=(*CHOICES, stored.left_variant, stored.right_variant))
        return self.workspace.arenas.vote(self.name, pair_id, voter=voter, question=asked, choice=side,
                                          note=note)

    # -- standings (``arena_standings``) ----------------------------------------------------
    def leaderboard(self, question: str | None = None) -> list[dict[str, Any]]:
        """One row per variant, best first: wins, losses, ties, votes, win rate (ties half) with
        its 95% interval (Wilson; with more than two variants a Bradley-Terry strength with a
        bootstrap interval too)."""
        from .arena_standings import leaderboard

        return leaderboard(self, self._question(question))

    def verdict(self, question: str | None = None, alpha: float = 0.05) -> ArenaVerdict:
        """Whether the answer is known, in plain words (see ``arena_standings.verdict``)."""
        from .arena_standings import verdict

        check_number("alpha", alpha, maximum=0.5)
        return verdict(self, self._question(question), alpha)

    # -- views ----------------------------------------------------------------------------------
    def vote_view(self, voter: str | None = None, **options: Any) -> Any:
        """The voting panel for one voter (keys: ← left, → right, t / ↓ tie, s skip). Without
        ``voter`` the browser keeps an id of its own across reloads."""
        from ..widgets.arena_view import ArenaVoteView

        return ArenaVoteView(self, voter=voter, **options)

    def leaderboard_view(self, **options: Any) -> Any:
        """The projector's view: standings with intervals, votes and voters, the cost so far
        and the verdict, updated within a second of each vote."""
        from ..widgets.arena_view import LeaderboardView

        return LeaderboardView(self, **options)

    def __repr__(self) -> str:
        return f"<Arena {self.name!r}: {' vs '.join(self.variants)}, {len(self.questions)} question(s)>"


class VoterSession:
    """One voter's way through an arena, for a view: what to show next (with both previews as
    shown), their vote, a skip. The database work runs on the workspace's own thread; the
    methods are awaited on the view's loop, so nothing here blocks it."""

    def __init__(self, arena: Arena, voter: str) -> None:
        self.arena = arena
        self.voter = _voter(voter)
        self.skipped: set[tuple[str, str]] = set()
        #: the pair on screen (``None`` before the first, and once through)
        self.current: Shown | None = None

    async def next(self) -> tuple[Shown | None, bytes, bytes]:
        """The next pair and its two previews (left, right as this voter sees them)."""
        from ..workspace import off_loop

        shown = await off_loop(lambda: self.arena.next_pair(self.voter, skipped=self.skipped))
        self.current = shown
        if shown is None:
            return None, b"", b""
        left = await off_loop(self.arena.preview, shown, "left")
        right = await off_loop(self.arena.preview, shown, "right")
        return shown, left, right

    async def answer(self, choice: str) -> ArenaVote | None:
        """Vote on (or skip) the pair on screen."""
        from ..workspace import off_loop

        shown = self.current
        if shown is None:
            raise ValidationError("there is no pair on screen to vote on", field="choice", value=choice,
                                  allowed="a pair first")
        if choice == "skip":
            self.skipped.add((shown.pair_id, shown.question))
            return None
        return await off_loop(lambda: self.arena.vote(shown, choice, voter=self.voter))


def _side(cell: Any) -> tuple[str, str, bytes]:
    """(variant, task id, preview) of a finished cell."""
    assert cell.result is not None and cell.run is not None
    return cell.col_label, cell.result.id, cell.run.preview


def _pair_id(pair: ArenaPair | Shown | str) -> str:
    if isinstance(pair, str):
        return pair
    found = getattr(pair, "pair_id", None)
    if not isinstance(found, str):
        raise ValidationError(f"pair must be a pair, a shown pair (arena.next_pair) or a pair id, not "
                              f"{type(pair).__name__}", field="pair", value=repr(pair)[:80],
                              allowed="ArenaPair, Shown or pair id")
    return found


def _voter(voter: Any) -> str:
    if not isinstance(voter, str) or not voter.strip() or len(voter) > 200:
        raise ValidationError(f"voter must be a non-empty id of at most 200 characters, not {voter!r}"[:200],
                              field="voter", value=voter, allowed="1-200 characters")
    return voter
