"""The reusable widget parts, on their own (tiles driven by session.run_in_view against the simulator)."""

from __future__ import annotations

import asyncio

import pytest
from conftest import until
from traitlets import TraitError

from flux2_widgets import AsyncFlux2Client, ImageRequest
from flux2_widgets.catalog import pixel_size
from flux2_widgets.errors import NetworkError, TaskFailedError
from flux2_widgets.money import cost_text
from flux2_widgets.runs import run_in_view as run_tile
from flux2_widgets.widgets._style import CSS, style_widget
from flux2_widgets.widgets.controls import Field, Segmented
from flux2_widgets.widgets.gallery import Gallery
from flux2_widgets.widgets.inspector import RequestInspector
from flux2_widgets.widgets.tile import CostLabel, StatusChip, TaskTile

KEY = "sk-secret-123456789"


def test_cost_text_says_what_a_cost_is():
    assert cost_text(0.24, "billed") == "$0.24"
    assert cost_text(0.24, "estimate") == "about $0.24"
    assert cost_text(0.24, "billed", simulated=True) == "would have cost $0.24"
    assert cost_text(None) == "price n/a"
    label = CostLabel(0.14, "estimate", simulated=True)
    assert label.text == "would have cost about $0.14" and "would have cost about $0.14" in label.value
    label.set(0.07, "billed", simulated=False)
    assert label.text == "$0.07"


def test_status_chip_renders_status_and_detail():
    chip = StatusChip("processing", "downloading")
    assert "f2w-st-processing" in chip.value and "processing · downloading" in chip.value
    chip.status, chip.detail = "failed", ""
    assert "f2w-st-failed" in chip.value and "downloading" not in chip.value


def test_segmented_selects_and_disables_with_reasons():
    seg = Segmented([("One", "1k"), ("Two", "2k")], "2k")
    assert seg.buttons["2k"].value and not seg.buttons["1k"].value
    seg.buttons["1k"].value = True  # click
    assert seg.value == "1k" and not seg.buttons["2k"].value
    seg.buttons["1k"].value = False  # clicking the selected option keeps it selected
    assert seg.value == "1k" and seg.buttons["1k"].value
    seg.disable("2k", "Max is 1k only")
    assert seg.buttons["2k"].disabled and "Max is 1k only" in seg.buttons["2k"].tooltip
    seg.select("2k")
    assert seg.value == "1k" and seg.allowed == ("1k",)
    field = Field("Resolution", seg, hint="1k ≈ 1 MP")
    assert field.note_text == "1k ≈ 1 MP · 2k: Max is 1k only"
    seg.enable("2k")
    assert not seg.buttons["2k"].disabled and field.note_text == "1k ≈ 1 MP"
    with pytest.raises(TraitError):
        seg.value = "4k"


def test_field_shows_and_clears_an_error():
    field = Field("Prompt", StatusChip())
    assert field.error.layout.display == "none"
    field.set_error("prompt must be 3-5000 characters")
    assert field.error_text.startswith("prompt must") and field.error.layout.display != "none"
    assert "f2w-field--invalid" in field._dom_classes
    field.set_error(None)
    assert field.error_text == "" and field.error.layout.display == "none"


def test_request_inspector_shows_json_and_redacted_curl():
    req = ImageRequest("a fox", tier="flex", resolution="2k")
    insp = RequestInspector(req, "https://runapi.ai")
    assert insp.titles == ("JSON", "curl")
    assert '"model": "flux-2-flex-text-to-image"' in insp.json_text
    assert "https://runapi.ai/api/v1/flux_2/text_to_image" in insp.curl_text
    assert "$RUNAPI_API_KEY" in insp.curl_text


def test_style_is_one_shared_block():
    assert style_widget() is style_widget()
    assert style_widget().value.startswith("<style>") and ".f2w-tile" in CSS


def test_run_tile_drives_a_tile_to_completion(make_sim):
    sim = make_sim(latency=0.2)

    async def main() -> None:
        async with AsyncFlux2Client(api_key=KEY, base_url=sim.url) as client:
            req = ImageRequest("a harbour at night", tier="flex", aspect_ratio="3:2")
            tile = TaskTile(req, simulated=True, base_url=client.base_url)
            seen: list[str] = []
            tile.observe(lambda c: seen.append(c.new), "status")
            assert tile.status == "idle" and "Flex 1k 3:2" in tile.title_label.value
            gen = await run_tile(client, tile)
            assert seen[0] == "pending" and seen[-1] == "completed"
            assert tile.task_id == gen.id and tile.generation is gen
            assert tile.thumb.value[:2] == b"\xff\xd8"
            w, h = pixel_size("3:2", "1k")
            assert f"{w}×{h}" in tile.meta.value
            assert tile.cost_label.text == gen.cost_text
            assert tile.elapsed == pytest.approx(gen.elapsed, abs=0.01)
            assert not tile.buttons["open"].disabled and tile.buttons["retry"].layout.display == "none"
            tile.buttons["open"].click()  # no handler: the tile's own viewer
            assert tile.viewer.layout.display != "none" and tile.viewer.image.value

    asyncio.run(main())


def test_run_tile_shows_errors_and_retry_needs_a_handler(make_sim):
    sim = make_sim(latency=0.1)
    sim.inject("fail_task", message="nope")

    async def main() -> None:
        async with AsyncFlux2Client(api_key=KEY, base_url=sim.url) as client:
            tile = TaskTile(ImageRequest("a broken vase"))
            result = await run_tile(client, tile)
            assert isinstance(result, TaskFailedError)
            assert tile.status == "failed" and "nope" in tile.error
            retry = tile.buttons["retry"]
            assert retry.layout.display != "none" and retry.disabled
            retried: list[TaskTile] = []
            tile.on_retry(retried.append)
            assert not retry.disabled
            retry.click()
            assert retried == [tile]
            again = await run_tile(client, tile)
            assert tile.status == "completed" and tile.error == "" and tile.generation is again

    asyncio.run(main())


def test_retry_mode_resumes_a_task_that_may_still_finish(make_sim, tmp_path):
    from flux2_widgets.store import ResultStore

    sim = make_sim(latency=0.2)

    async def main() -> None:
        async with AsyncFlux2Client(api_key=KEY, base_url=sim.url, max_retries=1,
                                    retry_base_delay=0.01) as client:
            tile = TaskTile(ImageRequest("a lantern in fog"))
            tile.on_retry(lambda _t: None, resumes=True)
            sim.inject("503", times=2, on="get")  # the first poll gives up: the task lives on
            result = await run_tile(client, tile)
            assert tile.status == "failed" and not isinstance(result, TaskFailedError)
            first_id = tile.task_id
            assert first_id and tile.retry_mode == "resume"
            retry = tile.buttons["retry"]
            assert retry.description == "Resume" and first_id in retry.tooltip
            plain = TaskTile(tile.request)  # a handler that always resubmits: no promise made
            plain.on_retry(lambda _t: None)
            plain.show_error(result)
            assert plain.retry_mode == "resume" and plain.buttons["retry"].description == "Retry"
            store = ResultStore(tmp_path)
            gen = await run_tile(client, tile, resume=True, store=store)
            assert tile.status == "completed" and tile.task_id == first_id == gen.id
            assert sim.count("POST") == 1 and sim.stats.tasks_created == 1
            assert [p.name for p in tmp_path.glob("*/*.png")] == [f"{first_id}-0.png"]

            sim.inject("fail_task", message="nope")
            failed = TaskTile(ImageRequest("a lantern in rain"))
            failed.on_retry(lambda _t: None, resumes=True)
            await run_tile(client, failed)
            assert failed.retry_mode == "resubmit" and failed.buttons["retry"].description == "Retry"
            again = await run_tile(client, failed, resume=failed.retry_mode == "resume")
            assert failed.status == "completed" and again.id != tile.task_id
            assert sim.stats.tasks_created == 3

    asyncio.run(main())


def test_show_error_redacts_keys():
    tile = TaskTile(ImageRequest("a lock"))
    tile.show_error(NetworkError(f"connection reset, Authorization: Bearer {KEY}"))
    assert KEY not in tile.error and KEY not in tile.error_label.value
    assert tile.status == "failed"


def test_cancel_marks_the_tile_stopped(make_sim):
    sim = make_sim(latency=5.0)

    async def main() -> None:
        async with AsyncFlux2Client(api_key=KEY, base_url=sim.url) as client:
            tile = TaskTile(ImageRequest("a long exposure"))
            task = asyncio.ensure_future(run_tile(client, tile))
            await until(lambda: tile.task_id, what="submission")
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert tile.status == "stopped" and tile.task_id in tile.message.value
            assert "stopped" in tile.chip.value and not tile.active

    asyncio.run(main())


def test_gallery_orders_by_completion_and_ticks(make_sim):
    sim = make_sim(latency={("pro", "1k"): 0.1, ("max", "1k"): 0.45, ("flex", "1k"): 0.9})

    async def main() -> None:
        async with AsyncFlux2Client(api_key=KEY, base_url=sim.url) as client:
            reqs = [ImageRequest("slow", tier="flex"), ImageRequest("mid", tier="max"),
                    ImageRequest("fast")]
            tiles = [TaskTile(r) for r in reqs]
            gallery = Gallery(tiles, tick_interval=0.05)
            assert gallery.tiles == tuple(tiles)
            runs = [asyncio.ensure_future(run_tile(client, t)) for t in tiles]
            await until(lambda: tiles[0].elapsed >= 0.2, what="ticks")
            assert gallery.ticker.running
            await asyncio.gather(*runs)
            slow, mid, fast = tiles
            assert gallery.completed_order == [fast.task_id, mid.task_id, slow.task_id]
            assert gallery.tiles == (slow, mid, fast)  # newest first
            assert gallery.tile_for(mid.task_id) is mid
            await until(lambda: not gallery.ticker.running, what="ticker to end")
            gallery.clear()
            assert gallery.tiles == ()
            gallery.close()

    asyncio.run(main())


def test_tile_actions_can_be_limited():
    tile = TaskTile(ImageRequest("a bell"), actions=("inspect",))
    row = tile.children[6]
    assert [b.description for b in row.children] == ["Request", "Retry"]
    with pytest.raises(ValueError):
        TaskTile(ImageRequest("a bell"), actions=("print",))
