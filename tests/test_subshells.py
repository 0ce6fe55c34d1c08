"""Every button works when the kernel delivers its click on a subshell thread with its own loop.

ipykernel 7 under JupyterLab's default settings handles widget messages on a subshell
(see ``subshell.py``); the notebook's loop keeps running in the main thread. Each test
builds its model in a running loop (as a notebook cell does), clicks through the
harness, and checks the outcome on the simulator (tasks, charges, bytes) and that no
work ran on the subshell's loop and nothing was logged as an error.
"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import pytest
from conftest import SECRET_KEY, until
from subshell import subshell

from flux2_widgets import AsyncFlux2Client, compare_prompts, compare_tiers
from flux2_widgets.widgets import CompareWidget, Studio

KEY = SECRET_KEY


def _client(sim) -> AsyncFlux2Client:
    return AsyncFlux2Client(api_key=KEY, base_url=sim.url, retry_base_delay=0.01)


def test_comparison_retry_after_a_failure_from_a_subshell(make_sim):
    sim = make_sim(latency=0.2)

    async def main() -> None:
        client = _client(sim)
        sim.inject("fail_task", message="the image did not pass the safety checker (simulated)")
        cmp = compare_tiers("a red fox in fresh snow", client=client)
        view = cmp.view()
        try:
            await cmp
            failed = [c for c in cmp.cells if c.status == "failed"]
            assert len(failed) == 1 and "safety checker" in failed[0].error_text
            tile = view.tiles[failed[0].index]
            retry = tile.buttons["retry"]
            assert retry.layout.display != "none" and retry.description == "Retry"
            with subshell() as shell:
                await shell.click(retry)
                await until(lambda: all(c.ok for c in cmp.cells), timeout=10, what="the retried cell")
                await cmp
                await until(lambda: tile.status == "completed", what="the retried tile drawn")
                shell.assert_clean()
            # the failed task was not charged; the retry is a new task, charged once
            assert sim.stats.tasks_created == 3 and len(sim.stats.charges) == 2
            assert cmp.billed_cost == pytest.approx(sim.stats.total_charged)
            assert tile.thumb.value[:2] == b"\xff\xd8"
        finally:
            view.close()
            await client.aclose()

    asyncio.run(main())


def test_comparison_votes_and_controls_from_a_subshell(make_sim):
    sim = make_sim(latency=0.1)

    async def main() -> None:
        client = _client(sim)
        cmp = compare_prompts("a red fox in fresh snow", "a red fox in fresh snow, watercolor", client=client)
        view = cmp.view()
        try:
            await cmp
            with subshell() as shell:
                await shell.set_state(view.vote_note, value="sharper fur")
                await shell.click(view.vote_buttons["a"])
                await shell.click(view.vote_buttons["tie"])
                await until(lambda: len(cmp.votes) == 2, what="two votes")
                await shell.set_state(view.table_button, value=True)
                await until(lambda: "billed" in view.table.value, what="the cost table")
                shell.assert_clean()
            assert [v["choice"] for v in cmp.votes] == ["a", "tie"]
            assert cmp.votes[0]["note"] == "sharper fur" and cmp.votes[1]["note"] == ""
            assert re.search(r"A: 1 · B: 0 · tie: 1", view.tally.value), view.tally.value
            assert view.table.layout.display != "none"
            assert [r["votes_won"] for r in cmp.rows()] == [1, 0]
        finally:
            view.close()
            await client.aclose()

    asyncio.run(main())


def test_compare_widget_run_from_a_subshell(make_sim):
    sim = make_sim(latency=0.1)

    async def main() -> None:
        client = _client(sim)
        home = asyncio.get_running_loop()
        w = CompareWidget("a lighthouse at dawn", tiers=("pro", "flex"), client=client)
        try:
            with subshell() as shell:
                await shell.click(w.run_button)
                await until(lambda: w.comparison is not None, what="the run")
                cmp = w.comparison
                assert cmp is not None and cmp.home.alive is home  # runs beside the client's work
                await cmp
                shell.assert_clean()
            assert all(c.ok for c in cmp.cells) and sim.stats.tasks_created == 2
            assert w.output.children[0] is cmp.view()
        finally:
            w.close()
            await client.aclose()

    asyncio.run(main())


def test_tile_save_open_and_download_from_a_subshell(make_sim, tmp_path: Path, monkeypatch):
    sim = make_sim(latency=0.1)
    monkeypatch.chdir(tmp_path)

    async def main() -> None:
        client = _client(sim)
        cmp = compare_tiers("a paper boat on a puddle", tiers=("pro",), client=client)
        view = cmp.view()
        try:
            await cmp
            (tile,) = view.tiles
            await until(lambda: tile.status == "completed", what="the tile drawn")
            image = cmp.cells[0].result.images[0]
            sent: list[tuple[Any, list[bytes]]] = []
            tile.download.send = lambda content, buffers=None: sent.append((content, buffers))
            with subshell() as shell:
                await shell.click(tile.buttons["save"])
                await until(lambda: "Saved" in tile.message.value, what="the saved file")
                await shell.click(tile.buttons["open"])
                await until(lambda: tile.viewer.shown is image, what="the full-size viewer")
                # what the Download button's front end sends on one click
                await shell.send(tile.download, {"method": "custom", "content": {"type": "download"}})
                await until(lambda: bool(sent), what="the file handed to the browser")
                shell.assert_clean()
            (path,) = tile.saved_paths()
            assert path.read_bytes() == image.data
            assert tile.viewer.image.value == image.data
            ((content, buffers),) = sent
            assert bytes(buffers[0]) == image.data and content["mime"] == "image/png"
            assert content["filename"] == "a-paper-boat-on-a-puddle_pro_1k.png"
        finally:
            view.close()
            await client.aclose()

    asyncio.run(main())


def test_download_sends_the_image_only_on_click(make_sim):
    """A saved notebook carries no full-size images nobody asked for."""
    sim = make_sim(latency=0.05)

    async def main() -> None:
        client = _client(sim)
        cmp = compare_tiers("a paper boat on a puddle", tiers=("pro",), client=client)
        view = cmp.view()
        try:
            await cmp
            (tile,) = view.tiles
            await until(lambda: tile.status == "completed", what="the tile drawn")
            state = {k: v for k, v in tile.download.get_state().items() if k not in ("_esm", "_css")}
            assert tile.download.ready and len(json.dumps(state, default=str)) < 1_000  # no image bytes
        finally:
            view.close()
            await client.aclose()

    asyncio.run(main())


# -- the Studio (its loop handling lives in session.py) ---------------------------------------


def test_studio_generate_stop_and_resume_from_a_subshell(make_sim, tmp_path):
    sim = make_sim(latency=0.8)

    async def main() -> None:
        client = _client(sim)
        studio = Studio(client, prompt="a red fox in fresh snow", n_images=2, save_dir=str(tmp_path))
        try:
            with subshell() as shell:
                await shell.click(studio.generate_button)
                await until(lambda: len(studio.tiles) == 2 and all(t.task_id for t in studio.tiles),
                            what="two submitted tasks")
                await shell.click(studio.stop_button)
                await until(lambda: all(t.status == "stopped" for t in studio.tiles), what="stopped tiles")
                for tile in studio.tiles:
                    assert tile.buttons["retry"].description == "Resume"
                    await shell.click(tile.buttons["retry"])
                await until(lambda: all(t.status == "completed" for t in studio.tiles), timeout=10,
                            what="resumed tiles")
                shell.assert_clean()
            assert sim.stats.tasks_created == 2 and len(sim.stats.charges) == 2
            assert studio.session_total == pytest.approx(sim.stats.total_charged)
        finally:
            studio.close()
            await client.aclose()

    asyncio.run(main())


def test_studio_retry_after_a_failure_from_a_subshell(make_sim, tmp_path):
    sim = make_sim(latency=0.2)

    async def main() -> None:
        client = _client(sim)
        studio = Studio(client, prompt="a red fox in fresh snow", save_dir=str(tmp_path))
        try:
            sim.inject("fail_task", message="simulated failure")
            with subshell() as shell:
                await shell.click(studio.generate_button)
                await until(lambda: len(studio.tiles) == 1 and studio.tiles[0].status == "failed",
                            what="the failed tile")
                (tile,) = studio.tiles
                assert tile.buttons["retry"].description == "Retry"
                await shell.click(tile.buttons["retry"])
                await until(lambda: tile.status == "completed", timeout=10, what="the retried tile")
                shell.assert_clean()
            assert sim.stats.tasks_created == 2 and len(sim.stats.charges) == 1
        finally:
            studio.close()
            await client.aclose()

    asyncio.run(main())


def test_studio_collect_from_a_subshell(make_sim, tmp_path):
    from flux2_widgets import ResultStore

    sim = make_sim(latency=0.3)
    store = ResultStore(tmp_path / "results")

    async def before_the_restart() -> list[str]:
        async with AsyncFlux2Client(api_key=KEY, base_url=sim.url, store=store) as client:
            return [(await client.submit(f"left behind {i}")).id for i in range(2)]

    submitted = asyncio.run(before_the_restart())

    async def after_the_restart() -> None:
        async with AsyncFlux2Client(api_key=KEY, base_url=sim.url, store=store) as client:
            studio = Studio(client)
            try:
                with subshell() as shell:
                    await shell.click(studio.collect_button)
                    await until(lambda: len(studio.tiles) == 2
                                and all(t.status == "completed" for t in studio.tiles),
                                timeout=10, what="collected tiles")
                    shell.assert_clean()
                assert sorted(t.task_id for t in studio.tiles) == sorted(submitted)
            finally:
                studio.close()

    asyncio.run(after_the_restart())
    assert sim.stats.tasks_created == 2 and len(sim.stats.charges) == 2
