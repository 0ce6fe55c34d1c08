"""The reusable widget parts, on their own (tiles drawing runs against the simulator)."""

from __future__ import annotations

import asyncio

import pytest
from conftest import until
from traitlets import TraitError

from flux2_widgets import AsyncFlux2Client, ImageRequest
from flux2_widgets.catalog import pixel_size
from flux2_widgets.errors import TaskFailedError
from flux2_widgets.money import cost_text
from flux2_widgets.runs import Run
from flux2_widgets.widgets._style import CSS, style_widget
from flux2_widgets.widgets.chips import CostLabel, StatusChip
from flux2_widgets.widgets.controls import Field, Segmented
from flux2_widgets.widgets.gallery import Gallery
from flux2_widgets.widgets.inspector import RequestInspector
from flux2_widgets.widgets.tile import TaskTile

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


def test_status_chip_renders_status_and_label():
    chip = StatusChip("submitting", "sending")
    assert "f2w-st-submitting" in chip.value and ">sending<" in chip.value
    chip.status, chip.label = "failed", ""
    assert "f2w-st-failed" in chip.value and ">failed<" in chip.value


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


def test_a_tile_draws_its_run_to_completion(make_sim):
    sim = make_sim(latency=0.2)

    async def main() -> None:
        async with AsyncFlux2Client(api_key=KEY, base_url=sim.url) as client:
            req = ImageRequest("a harbour at night", tier="flex", aspect_ratio="3:2")
            run = Run(req, client)
            tile = TaskTile(run)
            seen: list[str] = []
            run.observe(lambda c: seen.append(c.new), "status")
            assert tile.status == "queued" and "Flex · 1k · 3:2" in tile.title_label.value
            await run
            assert seen[0] == "submitting" and seen[-1] == "completed"
            gen = run.generation
            assert tile.task_id == gen.id and tile.generation is gen
            assert tile.thumb.value[:2] == b"\xff\xd8" and tile.thumb.value == run.preview
            w, h = pixel_size("3:2", "1k")
            assert f"{w}×{h}" in tile.meta.value
            assert tile.cost_label.text == run.cost_text == "would have cost $0.14"  # the server said so
            assert tile.elapsed_label.value == f"{gen.elapsed:.1f} s"
            assert not tile.buttons["open"].disabled and tile.buttons["retry"].layout.display == "none"
            assert tile.download.ready and tile.download.filename == "a-harbour-at-night_flex_1k.png"
            tile.buttons["open"].click()  # no handler: the tile's own viewer
            assert tile.viewer.layout.display != "none" and tile.viewer.image.value

    asyncio.run(main())


def test_a_failed_tile_says_not_charged_and_retry_sends_a_new_task(make_sim):
    sim = make_sim(latency=0.1)
    sim.inject("fail_task", message="nope")

    async def main() -> None:
        async with AsyncFlux2Client(api_key=KEY, base_url=sim.url) as client:
            run = Run(ImageRequest("a broken vase"), client)
            tile = TaskTile(run)
            await run
            assert isinstance(run.error, TaskFailedError)
            assert tile.status == "failed" and "nope" in tile.error and "nope" in tile.error_label.value
            assert run.money == "not charged" and tile.cost_label.text == "not charged"
            retry = tile.buttons["retry"]
            assert retry.layout.display != "none" and retry.description == "Retry"
            assert "new task" in retry.tooltip and tile.retry_mode == "new"
            key = run.idempotency_key
            retry.click()
            await until(lambda: run.status == "completed", what="the new task")
            assert tile.error == "" and run.idempotency_key != key and sim.stats.tasks_created == 2

    asyncio.run(main())


def test_retry_resumes_a_task_that_may_still_finish(make_sim, tmp_path):
    from flux2_widgets.store import ResultStore

    sim = make_sim(latency=0.2)

    async def main() -> None:
        # pinned live: the words a real key's user reads
        async with AsyncFlux2Client(api_key=KEY, base_url=sim.url, max_retries=1,
                                    retry_base_delay=0.01, simulated=False) as client:
            store = ResultStore(tmp_path)
            run = Run(ImageRequest("a lantern in fog"), client, store=store)
            tile = TaskTile(run)
            sim.inject("503", times=2, on="get")  # the first poll gives up: the task lives on
            await run
            assert tile.status == "failed" and not isinstance(run.error, TaskFailedError)
            first_id = tile.task_id
            assert first_id and tile.retry_mode == "resume"
            assert run.money == "may still be billed" and "may still be billed" in tile.cost_label.text
            retry = tile.buttons["retry"]
            assert retry.description == "Resume" and first_id in retry.tooltip
            retry.click()
            await until(lambda: run.status == "completed", what="the resumed task")
            assert tile.task_id == first_id == run.generation.id
            assert sim.count("POST") == 1 and sim.stats.tasks_created == 1
            assert [p.name for p in tmp_path.glob("*/*.png")] == [f"{first_id}-0.png"]

    asyncio.run(main())


def test_errors_on_a_tile_are_redacted(make_sim):
    sim = make_sim(latency=0.1)

    async def main() -> None:
        async with AsyncFlux2Client(api_key=KEY, base_url=sim.url, max_retries=0) as client:
            run = Run(ImageRequest("a lock"), client)
            tile = TaskTile(run)
            sim.inject("500", times=1, on="post", message=f"boom, Authorization: Bearer {KEY}")
            await run
            assert tile.status == "failed"
            assert KEY not in tile.error and KEY not in tile.error_label.value

    asyncio.run(main())


def test_stop_marks_the_tile_stopped_once(make_sim):
    sim = make_sim(latency=5.0)

    async def main() -> None:
        async with AsyncFlux2Client(api_key=KEY, base_url=sim.url) as client:
            run = Run(ImageRequest("a long exposure"), client).start()
            tile = TaskTile(run)
            await until(lambda: tile.task_id, what="submission")
            run.stop()
            await run
            assert tile.status == "stopped" and tile.task_id in tile.placeholder.value
            assert "stopped" in tile.chip.value and not tile.active
            # said once: the chip says "stopped", the card says what that means
            assert "stopped" not in tile.placeholder.value.lower().replace("stopped waiting", "")
            assert tile.message.layout.display == "none"
            assert run.money == "may still be billed" and tile.buttons["retry"].description == "Resume"

    asyncio.run(main())


def test_gallery_orders_by_completion_and_ticks(make_sim):
    sim = make_sim(latency={("pro", "1k"): 0.1, ("max", "1k"): 0.45, ("flex", "1k"): 0.9})

    async def main() -> None:
        async with AsyncFlux2Client(api_key=KEY, base_url=sim.url) as client:
            reqs = [ImageRequest("slow", tier="flex"), ImageRequest("mid", tier="max"),
                    ImageRequest("fast")]
            runs = [Run(r, client) for r in reqs]
            tiles = [TaskTile(r) for r in runs]
            gallery = Gallery(tiles, tick_interval=0.05)
            assert gallery.tiles == tuple(tiles)
            for run in runs:
                run.start()
            for tile in tiles:
                gallery.ticker.watch(tile)
            await until(lambda: tiles[0].elapsed_label.value not in ("", "0.0 s"), what="ticks")
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


def test_the_ticker_lets_go_of_a_closed_tile_whose_run_goes_on(make_sim):
    sim = make_sim(latency={("pro", "1k"): 30.0})

    async def main() -> None:
        async with AsyncFlux2Client(api_key=KEY, base_url=sim.url) as client:
            run = Run(ImageRequest("a slow lighthouse"), client)
            tile = TaskTile(run)
            gallery = Gallery([tile], tick_interval=0.02)
            run.start()
            gallery.ticker.watch(tile)
            await until(lambda: gallery.ticker.running and tile.elapsed_label.value != "", what="ticks")
            tile.close()
            await until(lambda: not gallery.ticker.running, what="the ticker to let go")
            assert run.active, "the run itself goes on"
            run.stop()
            await run
            gallery.close()

    asyncio.run(main())


def test_tile_actions_can_be_limited(sim):
    client = AsyncFlux2Client(api_key=KEY, base_url=sim.url)
    tile = TaskTile(Run(ImageRequest("a bell"), client), actions=("inspect",))
    row = tile.children[6]
    assert [b.description for b in row.children] == ["Request", "Retry"]
    with pytest.raises(ValueError):
        TaskTile(Run(ImageRequest("a bell"), client), actions=("print",))


def test_a_run_stopped_the_moment_it_starts_ends_stopped_and_sends_nothing(sim):
    """From plain code (the run's loop on its own thread): stop() right after start() lands
    before the run's first step; it still ends, stopped, and wait() returns."""
    from flux2_widgets import Flux2Client
    from flux2_widgets.runs import NOT_CHARGED

    with Flux2Client(api_key="sk-test-stop", base_url=sim.url) as client:
        for _ in range(20):  # the race is the point: stop as early as a user's code can
            run = Run(ImageRequest("a lighthouse at dawn"), client)
            run.start()
            run.stop()
            assert run.wait(timeout=10) is run and run.status == "stopped"
            # stopped before the create left: not charged, a new send; after: it may have landed
            expected = ("may still be billed", "resend") if run.sent else (NOT_CHARGED, "new")
            assert (run.money, run.next_step) == expected
