"""A room votes in one arena from their own browsers (Voila pages, a kernel each), with a
projector page following the standings live.

Three visitors (three browser contexts: three localStorage, three voter ids) vote by keyboard;
one reloads mid-way and is still the same voter (nothing asked twice, nothing recorded twice);
the projector's board shows each vote within about a second.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from ._jupyter import KERNEL_TIMEOUT, screenshot, write_notebook

pytestmark = pytest.mark.browser

PROMPTS = ["a red fox in fresh snow", "a teapot, watercolor"]
KEYS = ["ArrowLeft", "ArrowRight", "t"]


def _context(browser: Any, width: int = 1366, height: int = 900) -> Any:
    context = browser.new_context(viewport={"width": width, "height": height}, device_scale_factor=1)
    context.set_default_timeout(30_000)
    context.route("**/*", lambda route: route.continue_()
                  if route.request.url.startswith(("http://127.0.0.1", "blob:", "data:"))
                  else route.abort())
    return context


def _progress(page: Any) -> str:
    return page.locator(".f2w-arena-progress").inner_text()


def _wait_voting(page: Any) -> None:
    page.locator(".f2w-arena[data-state='voting']").wait_for(timeout=KERNEL_TIMEOUT * 1000)
    page.wait_for_function(
        "() => [...document.querySelectorAll('.f2w-arena-img')].every(i => i.complete && i.naturalWidth > 0)")


def _vote_by_key(page: Any, key: str) -> None:
    before = _progress(page)
    page.locator(".f2w-arena").focus()
    page.keyboard.press(key)
    page.wait_for_function(
        "b => { const r = document.querySelector('.f2w-arena'); "
        "return r.dataset.state === 'done' || (r.dataset.state === 'voting' && "
        "document.querySelector('.f2w-arena-progress').innerText !== b); }", arg=before)


def test_a_room_votes_by_keyboard_and_the_projector_follows(browser: Any, voila_server: Any, fresh_sim: Any,
                                                            output_dir: Path) -> None:
    from flux2_widgets import Arena, Flux2Client, PollPolicy, ResultStore

    fresh_sim.latency = 0.1
    folder = voila_server.root_dir / "results-arena"
    with Flux2Client(api_key="browser-test-key", base_url=fresh_sim.url, store=ResultStore(folder),
                     poll=PollPolicy(first=0.05, min_interval=0.02)) as client:
        arena = Arena.create("class-arena", PROMPTS, tier=["pro", "flex"], client=client,
                             questions=["Which follows the prompt better?", "Which looks better?"]).wait(60)
    total = len(arena.pairs) * 2
    cell = ("from flux2_widgets.widgets.arena_view import arena_page\n"
            f"arena_page('class-arena', page='{{page}}', folder={str(folder)!r})")
    vote_nb = write_notebook(voila_server.root_dir, "vote.ipynb", [cell.format(page="vote")])
    board_nb = write_notebook(voila_server.root_dir, "board.ipynb", [cell.format(page="board")])

    contexts = [_context(browser, 1366, 900) for _ in range(4)]
    try:
        board = contexts[0].new_page()
        board.goto(voila_server.render_url(board_nb), wait_until="domcontentloaded")
        board.locator(".f2w-board-row").first.wait_for(timeout=KERNEL_TIMEOUT * 1000)
        voters = [ctx.new_page() for ctx in contexts[1:]]
        for page in voters:
            page.goto(voila_server.render_url(vote_nb), wait_until="domcontentloaded")
        for page in voters:
            _wait_voting(page)
            assert _progress(page) == f"1 of {total}"
            # blind: no variant name reaches the voter's page
            text = page.locator(".f2w-arena").inner_text()
            assert "Pro" not in text and "Flex" not in text
        screenshot(voters[0], output_dir, "arena-vote", voters[0].locator(".f2w-arena"))

        lags = []
        for i, page in enumerate(voters):
            _vote_by_key(page, KEYS[i])
            start = time.monotonic()
            board.wait_for_function(
                "n => { const c = [...document.querySelectorAll('.f2w-board-counts')];"
                " return c.length && c.reduce((s, e) => s + parseInt(e.innerText), 0) >= n; }",
                arg=i + 1, timeout=10_000)
            lags.append(time.monotonic() - start)
        # a reload keeps the voter: it resumes at the second item, and its first vote stands
        voters[0].reload(wait_until="domcontentloaded")
        _wait_voting(voters[0])
        assert _progress(voters[0]) == f"2 of {total}"
        for page in voters:
            while page.locator(".f2w-arena").get_attribute("data-state") == "voting":
                _vote_by_key(page, "ArrowLeft")
            assert "judged every pair" in page.locator(".f2w-arena-message").inner_text()
        board.wait_for_function(
            "n => [...document.querySelectorAll('.f2w-board-counts')]"
            ".reduce((s, e) => s + parseInt(e.innerText), 0) === n", arg=3 * total, timeout=10_000)
        screenshot(board, output_dir, "arena-board", board.locator(".f2w-board"))
        assert "3 voters" in board.locator(".f2w-board-counts").first.inner_text()
    finally:
        for ctx in contexts:
            ctx.close()
    votes = Arena.open("class-arena", folder=folder).votes
    assert len(votes) == 3 * total
    assert len({(v.voter, v.pair_id, v.question) for v in votes}) == 3 * total  # once each
    assert len({v.voter for v in votes}) == 3
    print(f"projector lag after a vote: {', '.join(f'{lag:.2f}' for lag in lags)} s")
    assert max(lags) < 3.0  # within about a second (0.5 s polling), with room for a busy CI machine
