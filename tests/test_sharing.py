"""What a saved notebook shows where widgets do not run: the static twins of live views.

An IPython shell with a capturing display publisher stands in for the kernel: displaying a
view publishes its twin with a display id, and the twin is updated in place (never appended)
when the comparison settles, a vote changes the verdict, or a Studio batch ends.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import SECRET_KEY, until

from flux2_widgets import AsyncFlux2Client, compare_prompts
from flux2_widgets.widgets import Studio


@pytest.fixture
def shell() -> Iterator[Any]:
    from IPython.core.displaypub import CapturingDisplayPublisher
    from IPython.core.interactiveshell import InteractiveShell

    ip = InteractiveShell.instance()
    ip.display_pub = CapturingDisplayPublisher()
    try:
        yield ip
    finally:
        InteractiveShell.clear_instance()


def _twins(ip: Any) -> list[dict[str, Any]]:
    return [o for o in ip.display_pub.outputs if "f2w-static" in o["data"].get("text/html", "")]


def test_a_comparison_twin_is_updated_when_it_settles_and_on_votes(shell, make_sim):
    sim = make_sim(latency=0.2)

    async def main() -> None:
        client = AsyncFlux2Client(api_key=SECRET_KEY, base_url=sim.url)
        cmp = compare_prompts("a red fox in fresh snow", "a red fox at night", client=client)
        try:
            bundle, _ = shell.display_formatter.format(cmp)
            assert "application/vnd.jupyter.widget-view+json" in bundle
            assert bundle["text/html"] == ""  # no stale snapshot in the widget's own output
            (first,) = _twins(shell)
            assert not first["update"] and "0/2 done" in first["data"]["text/html"]
            display_id = first["transient"]["display_id"]
            await cmp
            await until(lambda: len(_twins(shell)) >= 2, what="the settled twin")
            settled = _twins(shell)[-1]
            assert settled["update"] and settled["transient"]["display_id"] == display_id
            html = settled["data"]["text/html"]
            assert "2/2 done" in html and html.count("data:image/jpeg;base64,") == 2
            assert html.count("would have cost $0.05") == 2
            cmp.vote("b", note="moodier")
            voted = _twins(shell)[-1]
            assert voted["update"] and "votes A: 0 · B: 1 · tie: 0 → B" in voted["data"]["text/html"]
            assert "moodier" in voted["data"]["text/html"]  # a note is there to be read
        finally:
            cmp.view().close()
            await client.aclose()

    asyncio.run(main())


def test_a_studio_twin_shows_the_batch_once_it_ends(shell, make_sim, tmp_path):
    sim = make_sim(latency=0.2)

    async def main() -> None:
        client = AsyncFlux2Client(api_key=SECRET_KEY, base_url=sim.url)
        studio = Studio(client, prompt="a paper boat on a puddle", n_images=2, save_dir=str(tmp_path))
        try:
            bundle, _ = shell.display_formatter.format(studio)
            assert bundle["text/html"] == "" and "no results yet" in _twins(shell)[0]["data"]["text/html"]
            studio.generate()
            await until(lambda: len(studio.tiles) == 2 and all(t.done for t in studio.tiles)
                        and studio.running == 0, timeout=6, what="the batch")
            await until(lambda: _twins(shell)[-1]["update"], what="the refreshed twin")
            html = _twins(shell)[-1]["data"]["text/html"]
            assert html.count("data:image/jpeg;base64,") == 2 and "would have cost $0.10" in html
        finally:
            studio.close()
            await client.aclose()

    asyncio.run(main())
