"""Views of an ``Arena``: the voting panel each voter uses, and the projector's leaderboard.

``ArenaVoteView``: two unlabelled images, the question, and Left / Tie / Right / Skip (keys ←,
→, t or ↓, s). With no voter given, the browser keeps an id of its own (``localStorage``), so a
reload is the same voter and a vote is never cast twice. ``LeaderboardView``: large type for a
projector, each variant's win rate with its 95% interval, votes and voters, the cost so far and
the verdict, re-read within a second of each vote.

Both are views: what they show comes from the arena (``compare.arena``), whose database work
runs on the workspace's own thread; their traits change on the loop they were built on.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anywidget
import traitlets

from .._loops import HomeLoop
from ..errors import DuplicateVoteError, Flux2Error

if TYPE_CHECKING:  # pragma: no cover
    from ..compare.arena import Arena, Shown

__all__ = ["ArenaVoteView", "LeaderboardView"]

log = logging.getLogger("flux2_widgets")
_STATIC = Path(__file__).parent / "static"


def _data_url(jpeg: bytes) -> str:
    return "data:image/jpeg;base64," + base64.b64encode(jpeg).decode() if jpeg else ""


class ArenaVoteView(anywidget.AnyWidget):
    """One voter's panel. ``ArenaVoteView(arena, voter=None, large=False)``."""

    _esm = _STATIC / "arena_vote.js"
    _css = _STATIC / "arena.css"

    title = traitlets.Unicode("").tag(sync=True)
    #: "waiting" (for the browser's voter id), "loading", "voting", "done", "empty"
    state = traitlets.Unicode("waiting").tag(sync=True)
    voter = traitlets.Unicode("").tag(sync=True)
    #: the browser decides the voter id (kept across reloads) unless one was given
    ask_voter = traitlets.Bool(True).tag(sync=True)
    question = traitlets.Unicode("").tag(sync=True)
    case = traitlets.Unicode("").tag(sync=True)
    left = traitlets.Unicode("").tag(sync=True)
    right = traitlets.Unicode("").tag(sync=True)
    progress = traitlets.Unicode("").tag(sync=True)
    message = traitlets.Unicode("").tag(sync=True)
    large = traitlets.Bool(False).tag(sync=True)

    def __init__(self, arena: Arena, *, voter: str | None = None, large: bool = False, **kwargs: Any) -> None:
        from ..compare.arena import VoterSession

        super().__init__(title=f"{arena.name}: {len(arena.variants)} variants, blind",
                         ask_voter=voter is None, large=large, **kwargs)
        self.arena = arena
        self.session: VoterSession | None = None
        self._home = HomeLoop()
        self._busy = False
        self.on_msg(self._on_front_end)
        if voter is not None:
            self._home.call(self._begin, voter)

    # -- from the page (on whatever thread the kernel delivers it: handed to the home loop) ---
    def _on_front_end(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if not isinstance(content, dict):
            return
        kind = content.get("type")
        if kind == "hello" and self.ask_voter and self.session is None:
            voter = content.get("voter")
            if isinstance(voter, str) and 0 < len(voter) <= 200:
                self._home.call(self._begin, voter)
        elif kind == "vote" and content.get("choice") in ("left", "right", "tie", "skip"):
            self._home.call(self._vote, str(content["choice"]))

    def _begin(self, voter: str) -> None:
        from ..compare.arena import VoterSession

        if self.session is not None:
            return
        self.session = VoterSession(self.arena, voter)
        self.voter = voter
        self._spawn(self._show_next())

    def _vote(self, choice: str) -> None:
        if self.session is None or self._busy or self.state != "voting":
            return
        self._busy = True
        self._spawn(self._answer(choice))

    def _spawn(self, coro: Any) -> None:
        asyncio.get_running_loop().create_task(coro)

    # -- model work, awaited on the home loop ----------------------------------------------
    async def _show_next(self) -> None:
        assert self.session is not None
        self.state = "loading"
        try:
            shown, left, right = await self.session.next()
        except Flux2Error as exc:
            self.message, self.state = f"Could not read the arena: {exc.message}", "empty"
            return
        finally:
            self._busy = False
        self._draw(shown, left, right)

    def _draw(self, shown: Shown | None, left: bytes, right: bytes) -> None:
        done, total = (shown.number - 1, shown.total) if shown is not None else (0, 0)
        with self.hold_trait_notifications():
            if shown is None:
                self.left = self.right = self.case = self.question = ""
                if self.arena.pairs:
                    self.state, self.progress = "done", "all done"
                    self.message = "Thank you: you have judged every pair. The results are on the projector."
                else:
                    self.state, self.message = "empty", "No pairs to judge yet: the images are being made."
                return
            self.left, self.right = _data_url(left), _data_url(right)
            self.question = shown.question
            self.case = shown.prompt if self.arena.record.config.get("show_case", True) else ""
            self.progress = f"{done + 1} of {total}"
            self.state = "voting"

    async def _answer(self, choice: str) -> None:
        assert self.session is not None
        try:
            await self.session.answer(choice)
            self.message = "skipped" if choice == "skip" else "vote recorded"
        except DuplicateVoteError:
            self.message = "You had already voted on this one (in another tab?): your first vote stands."
        except Exception as exc:  # the panel must never stay stuck: say so, and the voter may try again
            self._busy = False
            if not isinstance(exc, Flux2Error):
                log.warning("an arena vote could not be recorded", exc_info=True)
            why = exc.message if isinstance(exc, Flux2Error) else "the arena did not answer"
            self.message = f"Not recorded: {why}"
            return
        await self._show_next()


class LeaderboardView(anywidget.AnyWidget):
    """The projector's standings, live. ``LeaderboardView(arena, interval=0.5, large=True)``."""

    _esm = _STATIC / "leaderboard.js"
    _css = _STATIC / "arena.css"

    title = traitlets.Unicode("").tag(sync=True)
    #: per question: {"question", "rows": [...], "verdict", "votes", "voters"}
    boards = traitlets.List(traitlets.Dict()).tag(sync=True)
    summary = traitlets.Unicode("").tag(sync=True)
    large = traitlets.Bool(True).tag(sync=True)
    #: the id of the last vote counted (the page shows when it changed)
    last_vote = traitlets.Int(0).tag(sync=True)

    def __init__(self, arena: Arena, *, interval: float = 0.5, large: bool = True, **kwargs: Any) -> None:
        from .._checks import check_number

        check_number("interval", interval, minimum=0.05, strict=False)
        super().__init__(title=f"Arena {arena.name}: {' vs '.join(arena.variants)}", large=large, **kwargs)
        self.arena = arena
        self.interval = float(interval)
        self._home = HomeLoop()
        self._task: asyncio.Task[None] | None = None
        self._home.spawn(self._follow, done=None).add_done_callback(self._keep)

    def _keep(self, handed: Any) -> None:
        try:
            self._task = handed.result()
        except Exception:
            self._task = None

    async def _follow(self) -> None:
        """Poll the database for new votes (cheap: votes after the last id) and redraw when any."""
        from ..workspace import off_loop

        last = -1
        while True:
            try:
                newest = await off_loop(self._newest)
                if newest != last:
                    boards, summary = await off_loop(self._compute)
                    with self.hold_trait_notifications():
                        self.boards, self.summary, self.last_vote = boards, summary, max(newest, 0)
                    last = newest
            except asyncio.CancelledError:
                raise
            except Exception:  # a database hiccup: try again at the next tick
                log.debug("leaderboard refresh failed", exc_info=True)
            await asyncio.sleep(self.interval)

    def _newest(self) -> int:
        votes = self.arena.workspace.arenas.votes(self.arena.name, since=max(self.last_vote, 0))
        return votes[-1].id if votes else self.last_vote

    def _compute(self) -> tuple[list[dict[str, Any]], str]:
        boards = []
        for q in self.arena.questions:
            rows = self.arena.leaderboard(q)
            verdict = self.arena.verdict(q)
            boards.append({"question": q, "verdict": verdict.text, "decided": verdict.decided,
                           "winner": verdict.winner or "", "votes": verdict.votes,
                           "voters": self.arena.voters(q),
                           "rows": [{k: v for k, v in r.items()
                                     if isinstance(v, (str, int, float)) or v is None} for r in rows]})
        pairs, voters = len(self.arena.pairs), self.arena.voters()
        summary = (f"{pairs} pair{'s' * (pairs != 1)} · {voters} voter{'s' * (voters != 1)} · images "
                   f"{self.arena.cost_text()}")
        return boards, summary

    def close(self) -> None:
        task, self._task = self._task, None
        if task is not None and not task.done():
            self._home.call_if_alive(task.cancel)
        super().close()


def arena_page(name: str | None = None, *, page: str = "vote", folder: Any = None,
               database_url: str | None = None, large: bool = True) -> Any:
    """What an arena's app page shows (``notebooks/app/arena_*.ipynb``, served by ``make app
    APP=arena NAME=...``): the voting panel (``page="vote"``) or the projector's board
    (``"board"``) of the arena ``name`` (default ``$FLUX2_ARENA``), or, when there is none, a
    short note naming the arenas there are. Nothing of the server's internals is shown."""
    import html
    import os

    import ipywidgets as widgets

    from ..compare.arena import Arena
    from ..errors import ValidationError

    if page not in ("vote", "board"):
        raise ValidationError(f"page must be 'vote' or 'board', not {page!r}", field="page", value=page,
                              allowed=("vote", "board"))
    name = name or os.environ.get("FLUX2_ARENA") or ""
    try:
        if not name:
            known = Arena.names(folder=folder, database_url=database_url)
            raise ValidationError("no arena was named for this page" + (
                f"; there are: {', '.join(known)}" if known else ""), field="name", value="")
        arena = Arena.open(name, folder=folder, database_url=database_url)
    except Flux2Error as exc:
        # the message without where the workspace lives: a visitor has no use for the path
        reason = exc.message.split(" in sqlite")[0].split(" in postgresql")[0]
        return widgets.HTML(f'<div style="font:18px sans-serif;padding:16px">This arena is not open: '
                            f"{html.escape(reason)}</div>")
    return arena.vote_view(large=large) if page == "vote" else arena.leaderboard_view(large=large)
